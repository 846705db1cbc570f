"""The standalone runner's one-shot commands for LND and LNbits nodes, as real subprocesses:
credentials read from an encrypted vault, fees changed and rolled back through the real LNbits
server and the LND stand-in, and none of the secrets in anything the commands wrote."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from lnopt.security import CredentialKind, KdfParams, Vault
from tests.lnbits_fixture import LnbitsEnv, node_fees, seed_node, write_graph_file
from tests.runner_harness import lnopt
from tests.secret_scan import assert_no_secret
from tests.standin_lnd.fixtures import start_standin
from tests.standin_lnd.node import scid_of

PASSPHRASE = "runner test passphrase"
TINY_KDF = KdfParams(memory_kib=8, iterations=1, lanes=1)


def vault_args(
    tmp_path: Path, records: dict[str, tuple[bytes, CredentialKind]], *, age_days: int = 0
) -> list[str]:
    """A vault holding ``records`` (stored ``age_days`` ago) and a passphrase file: the
    settings that point at them."""
    vault_path, passphrase_file = tmp_path / "credentials.vault", tmp_path / "passphrase"
    stored_s = time.time() - age_days * 86_400
    vault = Vault.open(vault_path, PASSPHRASE, kdf=TINY_KDF, clock=lambda: stored_s)
    for name, (secret, kind) in records.items():
        vault.put(name, secret, kind=kind)
    passphrase_file.write_text(PASSPHRASE)
    passphrase_file.chmod(0o600)
    return ["--vault", str(vault_path), "--passphrase-file", str(passphrase_file)]


def answer(tmp_path: Path, outputs: list[tuple[str, str]], *args: str) -> Any:
    done = lnopt(tmp_path, *args)
    outputs += [(f"stdout of {args[0]}", done.stdout), (f"stderr of {args[0]}", done.stderr)]
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def apply_and_roll_back(
    tmp_path: Path, settings: list[str], fees: Any, outputs: list[tuple[str, str]]
) -> None:
    """``apply --no-dry-run`` changes the node as the journal says; ``rollback last`` undoes it."""
    before = fees()
    applied = answer(tmp_path, outputs, "apply", "--no-dry-run", "--mode", "auto", *settings)
    done = [c for c in applied["changes"] if c["status"] == "done"]
    assert done, applied
    after = fees()
    for change in done:
        scid = change["short_channel_id"]
        assert after[scid][1] == change["new"]["fee_ppm"] != before[scid][1]
    rolled = answer(
        tmp_path, outputs, "rollback", "last", "--no-dry-run", "--mode", "auto", *settings
    )
    assert {c["status"] for c in rolled["changes"]} == {"done"}
    assert fees() == before


def test_lnd_one_shots_read_the_vault_change_fees_and_roll_back(tmp_path: Path) -> None:
    setup = start_standin(tmp_path / "lnd", channels=8, forwards=40)
    try:
        settings = [
            "--backend", "lnd", "--lnd-url", setup.standin.url,
            "--lnd-macaroon-credential", "lnopt-lnd", "--lnd-tls-cert-credential", "lnd-cert",
            *vault_args(
                tmp_path,
                {
                    "lnopt-lnd": (setup.macaroon, CredentialKind.LND_MACAROON),
                    "lnd-cert": (setup.tls.cert_pem, CredentialKind.LND_TLS_CERT),
                },
            ),
        ]  # fmt: skip
        outputs: list[tuple[str, str]] = []

        def fees() -> dict[str, tuple[int, int]]:
            with setup.standin.node.lock:
                return {
                    scid_of(chan_id): (policy.fee_base_msat, policy.fee_rate_ppm)
                    for chan_id in setup.standin.node.channels
                    for policy in [setup.standin.node.our_policy(chan_id)]
                }

        status = answer(tmp_path, outputs, "status", *settings)
        assert status["backend"]["name"] == "lnd"
        assert status["backend"]["breaker"]["state"] == "closed"
        apply_and_roll_back(tmp_path, settings, fees, outputs)
        assert_no_secret(outputs, [setup.macaroon, setup.tls.key_pem, PASSPHRASE])
    finally:
        setup.standin.stop()


def test_lnbits_one_shots_read_the_vault_change_fees_and_roll_back(
    lnbits: LnbitsEnv, tmp_path: Path
) -> None:
    lnbits.server.ensure_running()
    seed_node(lnbits.folder, channels=6)
    settings = [
        "--backend", "lnbits", "--lnbits-url", lnbits.server.base_url,
        "--lnbits-token-credential", "lnbits-node",
        "--lnbits-graph", str(write_graph_file(tmp_path / "graph.json", lnbits.folder)),
        *vault_args(
            tmp_path,
            {"lnbits-node": (lnbits.accounts.node_token.encode(), CredentialKind.LNBITS_TOKEN)},
        ),
    ]  # fmt: skip
    outputs: list[tuple[str, str]] = []

    status = answer(tmp_path, outputs, "status", *settings)
    assert status["backend"]["name"] == "lnbits"
    assert any("forward" in item["what"] for item in status["backend"]["limitations"])
    apply_and_roll_back(tmp_path, settings, lambda: node_fees(lnbits.folder), outputs)
    assert_no_secret(outputs, [*lnbits.accounts.secrets(), PASSPHRASE])


@pytest.mark.parametrize("backend", ["lnd", "lnbits"])
def test_a_missing_credential_names_the_record_and_the_vault(tmp_path: Path, backend: str) -> None:
    settings = vault_args(tmp_path, {})
    node = (
        ["--lnd-url", "https://127.0.0.1:1", "--lnd-macaroon-credential", "absent",
         "--lnd-tls-cert-credential", "absent"]
        if backend == "lnd"
        else ["--lnbits-url", "http://127.0.0.1:1", "--lnbits-token-credential", "absent"]
    )  # fmt: skip
    done = lnopt(tmp_path, "status", "--backend", backend, *node, *settings)
    assert done.returncode == 2
    assert done.stderr.startswith("lnopt: ") and "absent" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_warns_of_a_credential_older_than_thirty_days(tmp_path: Path) -> None:
    setup = start_standin(tmp_path / "lnd", channels=2, forwards=0)
    try:
        records = {
            "old-mac": (setup.macaroon, CredentialKind.LND_MACAROON),
            "cert": (setup.tls.cert_pem, CredentialKind.LND_TLS_CERT),
        }
        settings = [
            "--backend", "lnd", "--lnd-url", setup.standin.url,
            "--lnd-macaroon-credential", "old-mac", "--lnd-tls-cert-credential", "cert",
            *vault_args(tmp_path, records, age_days=45),
        ]  # fmt: skip
        status = answer(tmp_path, [], "status", *settings)
    finally:
        setup.standin.stop()
    warnings = status["backend"]["privilege_warnings"]
    assert "the credential 'old-mac' is 45 days old (more than 30)" in " ".join(warnings)
    assert "lnopt credentials rotate old-mac" in " ".join(warnings)
