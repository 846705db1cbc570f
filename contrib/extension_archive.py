"""Build the LNbits extension's release archive and the manifest that names it.

The archive holds one top folder (``lnopt-<version>/``) with the extension's files, as GitHub's
release zips do: LNbits' installer (``InstallableExtension.extract_archive``) unpacks it and
copies that folder to ``<extensions path>/extensions/lnopt``. The manifest lists the archive as
an explicit release (id, name, version, archive address, sha256 hash, min_lnbits_version), the
form LNbits reads from a URL in ``LNBITS_EXTENSIONS_MANIFESTS``; LNbits refuses an archive whose
hash differs.

    python contrib/extension_archive.py --out dist --archive-url https://example/lnopt.zip
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

EXTENSION = Path(__file__).resolve().parents[1] / "lnbits_extension" / "lnopt"
SKIPPED = {"__pycache__"}
FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # the same files give the same archive, byte for byte


def extension_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not SKIPPED & set(path.relative_to(folder).parts)
    )


def build(out: Path, archive_url: str, folder: Path = EXTENSION) -> tuple[Path, Path]:
    config = json.loads((folder / "config.json").read_text())
    version = config["version"]
    out.mkdir(parents=True, exist_ok=True)
    archive = out / "lnopt.zip"
    top = f"lnopt-{version}"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in extension_files(folder):
            info = zipfile.ZipInfo(f"{top}/{path.relative_to(folder).as_posix()}", FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zipped.writestr(info, path.read_bytes())
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    manifest = out / "manifest.json"
    release = {
        "id": "lnopt",
        "name": config["name"],
        "version": version,
        "archive": archive_url,
        "hash": digest,
        "short_description": config["short_description"],
        "min_lnbits_version": config["min_lnbits_version"],
    }
    manifest.write_text(json.dumps({"extensions": [release]}, indent=2) + "\n")
    return archive, manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("dist"))
    parser.add_argument("--archive-url", required=True, help="where the archive will be served")
    args = parser.parse_args(argv)
    archive, manifest = build(args.out, args.archive_url)
    sys.stdout.write(f"{archive}\n{manifest}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
