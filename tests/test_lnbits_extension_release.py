"""lnopt's release archive installed by LNbits' own installer, as an operator installs it from a
manifest: ``contrib/extension_archive.py`` (what ``make extension-archive`` runs) builds the
archive and its manifest, a thread serves both over HTTP on 127.0.0.1, the manifest's address
becomes one of LNbits' extension sources (``lnbits_extensions_manifests``, the Admin UI's
setting) and the super user installs the release through ``POST /api/v1/extension``: LNbits
fetches the manifest, downloads the archive, checks its sha256 against the manifest, unpacks it
into its extensions path, migrates, and restarts the extension on the new files.

The session's LNbits server is reused: LNbits 1.6.2 installs over an installed extension of the
same id in place (it stops the old module's work, drops it from ``sys.modules``, imports the
unpacked files and starts them), and the archive holds the same files as the folder the session
installed, so the server the other tests use runs the same extension afterwards. The extension
sources are set back when the test ends.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.lnbits_fixture import EXTENSION_ID, REPO, LnbitsEnv

BUILDER = REPO / "contrib" / "extension_archive.py"
READY_TIMEOUT_S = 60.0


class ReleaseHost:
    """A folder served over HTTP on 127.0.0.1 by a thread; it remembers the paths asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.requested: list[str] = []
        host = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                host.requested.append(self.path)

        self._server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(Handler, directory=str(folder))
        )
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def release_host(tmp_path: Path) -> Iterator[ReleaseHost]:
    folder = tmp_path / "site"
    folder.mkdir()
    host = ReleaseHost(folder)
    try:
        yield host
    finally:
        host.close()


def build_release(host: ReleaseHost) -> tuple[Path, dict[str, Any]]:
    """The archive and manifest as ``make extension-archive`` writes them, into the host's
    folder, the archive's address being where the host serves it."""
    done = subprocess.run(
        [
            sys.executable,
            str(BUILDER),
            "--out",
            str(host.folder),
            "--archive-url",
            f"{host.base_url}/lnopt.zip",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    archive = host.folder / "lnopt.zip"
    manifest = json.loads((host.folder / "manifest.json").read_text())
    return archive, manifest


class Admin:
    """LNbits' own routes as the super user calls them."""

    def __init__(self, env: LnbitsEnv) -> None:
        self.client = httpx.Client(
            base_url=env.server.base_url,
            headers={"Authorization": f"Bearer {env.accounts.login_token}"},
            timeout=120.0,
        )

    def extension_sources(self) -> list[str]:
        response = self.client.get("/admin/api/v1/settings")
        assert response.status_code == 200, response.text
        return list(response.json()["lnbits_extensions_manifests"])

    def set_extension_sources(self, urls: list[str]) -> None:
        response = self.client.patch(
            "/admin/api/v1/settings", json={"lnbits_extensions_manifests": urls}
        )
        assert response.status_code == 200, response.text

    def install(self, manifest_url: str, release: dict[str, Any]) -> httpx.Response:
        """What LNbits' Extensions page sends to install the release ``release`` it read
        from the manifest at ``manifest_url``."""
        return self.client.post(
            "/api/v1/extension",
            json={
                "ext_id": release["id"],
                "archive": release["archive"],
                "source_repo": manifest_url,
                "version": release["version"],
            },
        )

    def listing(self) -> dict[str, Any]:
        response = self.client.get("/api/v1/extension/all")
        assert response.status_code == 200, response.text
        return next(item for item in response.json() if item["id"] == EXTENSION_ID)

    def enabled_for_me(self) -> list[str]:
        response = self.client.get("/api/v1/extension")
        assert response.status_code == 200, response.text
        return [item["code"] for item in response.json()]

    def wait_answering(self, route: str) -> httpx.Response:
        """The extension's route once the new engine is open (it answers 503 while it opens)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            response = self.client.get(route)
            if response.status_code != 503 or time.monotonic() > deadline:
                return response
            time.sleep(0.2)


def unpacked_files(archive: Path) -> dict[str, bytes]:
    """The archive's files by their path under its one top folder."""
    with zipfile.ZipFile(archive) as zipped:
        return {
            name.split("/", 1)[1]: zipped.read(name)
            for name in zipped.namelist()
            if not name.endswith("/")
        }


def installed_files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_lnbits_installs_the_release_archive_from_its_manifest(
    lnbits: LnbitsEnv, release_host: ReleaseHost
) -> None:
    lnbits.server.ensure_running()
    archive, manifest = build_release(release_host)
    [release] = manifest["extensions"]
    manifest_url = f"{release_host.base_url}/manifest.json"
    good_archive = archive.read_bytes()
    assert release["hash"] == hashlib.sha256(good_archive).hexdigest()
    admin = Admin(lnbits)
    sources = admin.extension_sources()
    log_start = lnbits.server.log_path.stat().st_size
    admin.set_extension_sources([*sources, manifest_url])
    try:
        # an archive that is not the one the manifest names is refused, by its hash
        archive.write_bytes(good_archive + b"\0")
        refused = admin.install(manifest_url, release)
        assert refused.status_code == 400, refused.text
        assert refused.json()["detail"] == "File hash missmatch. Will not install."

        archive.write_bytes(good_archive)
        installed = admin.install(manifest_url, release)
        assert installed.status_code == 200, installed.text
        assert installed.json()["code"] == EXTENSION_ID
    finally:
        admin.set_extension_sources(sources)
        if not lnbits.server.extension_dir.is_dir():  # LNbits removes it on a failed install
            lnbits.server.install_extension()

    # LNbits read the manifest and downloaded the archive from the host, and unpacked that
    assert "/manifest.json" in release_host.requested
    assert release_host.requested.count("/lnopt.zip") == 2
    assert (lnbits.folder / "zips" / "lnopt.zip").read_bytes() == good_archive
    assert installed_files(lnbits.server.extension_dir) == unpacked_files(archive)

    listed = admin.listing()
    assert listed["isInstalled"] and listed["isActive"], listed
    assert listed["installedRelease"]["version"] == release["version"]
    assert listed["installedRelease"]["hash"] == release["hash"]
    assert listed["installedRelease"]["source_repo"] == manifest_url
    assert EXTENSION_ID in admin.enabled_for_me()
    log = lnbits.server.log_path.read_bytes()[log_start:].decode(errors="replace")
    module = f"lnbits.extensions.{EXTENSION_ID}"
    assert f"Stopped background work for extension '{module}'" in log
    assert f"Started background work for extension '{module}'" in log

    # the extension from the archive answers: its engine, its page
    status = admin.wait_answering("/lnopt/api/v1/status")
    assert status.status_code == 200, status.text
    assert status.json()["store"]["path"] == str(lnbits.folder / "lnopt.sqlite3")
    scored = admin.client.get("/lnopt/api/v1/score")
    assert scored.status_code == 200, scored.text
    assert scored.json()["channels"]
    page = admin.client.get(f"/{EXTENSION_ID}/")
    assert page.status_code == 200, page.text
