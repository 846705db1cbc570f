"""``lnopt credentials bake-lnd | rotate | revoke`` in a real subprocess against the stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lnopt.backends.lnd_shapes import REQUIRED_PERMISSIONS
from lnopt.security.macaroons import read_macaroon
from lnopt.security.vault import Vault
from tests.secret_scan import assert_no_secret
from tests.standin_lnd.fixtures import LndSetup

PASSPHRASE = "lnd vault words"


@dataclass
class Cli:
    setup: LndSetup
    directory: Path
    outputs: list[tuple[str, str]]

    @property
    def vault(self) -> Path:
        return self.directory / "credentials.vault"

    def files(self) -> tuple[Path, Path, Path]:
        admin = self.directory / "admin.macaroon"
        admin.write_bytes(self.setup.standin.admin_macaroon())
        passphrase = self.directory / "passphrase"
        passphrase.write_text(PASSPHRASE + "\n")
        passphrase.chmod(0o600)
        return admin, self.setup.cert_file, passphrase

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"CREDENTIALS_DIRECTORY", "LNOPT_PASSPHRASE_FILE", "STATE_DIRECTORY"}
        }
        env["HOME"] = str(self.directory)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "lnopt",
                "credentials",
                *args,
                "--vault",
                str(self.vault),
                "--passphrase-file",
                str(self.directory / "passphrase"),
            ],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=120,
        )
        self.outputs += [
            (f"stdout of {args[0]}", done.stdout),
            (f"stderr of {args[0]}", done.stderr),
        ]
        assert "Traceback" not in done.stderr
        return done

    def open(self) -> Vault:
        return Vault.open(self.vault, PASSPHRASE, create=False)


@pytest.mark.timeout(300)
def test_bake_rotate_revoke_from_the_command_line(lnd: LndSetup, tmp_path: Path) -> None:
    cli = Cli(lnd, tmp_path, [])
    admin_file, cert_file, _ = cli.files()
    macaroons = lnd.standin.macaroons

    baked = cli.run(
        "bake-lnd",
        "--admin-macaroon",
        str(admin_file),
        "--url",
        lnd.standin.url,
        "--tls-cert",
        str(cert_file),
        "--name",
        "node",
    )
    assert baked.returncode == 0, baked.stderr
    first = cli.open().get("node")
    first_id = read_macaroon(first).root_key_id
    assert read_macaroon(first).permissions == REQUIRED_PERMISSIONS
    assert f"root key id {first_id}" in baked.stdout
    assert set(macaroons.root_key_ids()) == {0, 1, first_id}

    listed = cli.run("list", "--json")
    records = {r["name"]: r for r in json.loads(listed.stdout)["credentials"]}
    assert records["node"]["kind"] == "lnd-macaroon"
    assert records["node"]["details"] == {
        "root_key_id": str(first_id),
        "url": lnd.standin.url,
        "tls_cert": "node-tls",
    }
    assert records["node-tls"]["kind"] == "lnd-tls-cert"

    refused = cli.run("rotate", "node")
    assert refused.returncode == 2
    assert "pass --admin-macaroon FILE" in refused.stderr
    assert cli.open().get("node") == first

    rotated = cli.run("rotate", "node", "--admin-macaroon", str(admin_file))
    assert rotated.returncode == 0, rotated.stderr
    second = cli.open().get("node")
    second_id = read_macaroon(second).root_key_id
    assert second_id != first_id
    assert set(macaroons.root_key_ids()) == {0, 1, second_id}

    revoked = cli.run("revoke", "node", "--admin-macaroon", str(admin_file))
    assert revoked.returncode == 0, revoked.stderr
    assert f"root key id {second_id} revoked" in revoked.stdout
    assert set(macaroons.root_key_ids()) == {0, 1}
    assert [i.name for i in cli.open().list()] == ["node-tls"]

    lnopt_file = tmp_path / "lnopt.macaroon"
    lnopt_file.write_bytes(lnd.macaroon)
    weak = cli.run(
        "bake-lnd",
        "--admin-macaroon",
        str(lnopt_file),
        "--url",
        lnd.standin.url,
        "--tls-cert",
        str(cert_file),
    )
    assert weak.returncode == 2
    assert "lacks macaroon:generate, macaroon:read, macaroon:write" in weak.stderr

    sent = {bytes.fromhex(r.macaroon_hex) for r in lnd.standin.requests if r.macaroon_hex}
    root_keys = [macaroons.root_key(0), macaroons.root_key(1)]
    assert_no_secret(
        cli.outputs, [admin_file.read_bytes(), lnd.macaroon, first, second, *root_keys, *sent]
    )
