"""``lnopt credentials add | list | rotate | remove | bake-lnd | revoke``: the vault from the
command line.

:func:`add_commands` registers them on the main parser's subcommands. ``rotate`` asks
:data:`ROTATORS` for the kind's own way to make a new secret (baking a new LND macaroon, say);
a kind without one has its secret replaced by a new one read like ``add`` reads it. No command
prints a secret: only names, kinds, ages and fingerprints.
"""

from __future__ import annotations

import argparse
import getpass
import hmac
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lnopt.errors import InvalidRequest
from lnopt.security import lnd_credentials
from lnopt.security.passphrase import read_passphrase
from lnopt.security.redaction import install_redaction, register_secret
from lnopt.security.vault import (
    NAME_RULE,
    ROTATION_DAYS,
    CredentialInfo,
    CredentialKind,
    Vault,
    check_name,
    default_vault_path,
)

Rotator = Callable[[argparse.Namespace, Vault, CredentialInfo], CredentialInfo]
ROTATORS: dict[CredentialKind, Rotator] = {}
"""A kind's own rotation: it makes and stores a new secret and answers its new facts."""

TEXT_KINDS = frozenset({CredentialKind.LNBITS_TOKEN, CredentialKind.OTHER})
"""Kinds whose secret is one line of text: read from a file without its surrounding blanks,
or typed at a prompt. The others (macaroons, certificates) are files kept byte for byte."""


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    credentials = subparsers.add_parser(
        "credentials",
        help="keep the tokens, macaroons and certificates lnopt uses, encrypted",
        description="Store, list, rotate and remove the secrets lnopt uses to reach a node, in "
        "a vault file encrypted with a key derived from a passphrase.",
    )
    commands = credentials.add_subparsers(dest="credentials_command", required=True)

    add = commands.add_parser(
        "add",
        help="store a secret under NAME",
        description="Store a secret under NAME, replacing any secret of that name. The secret is "
        "read from --from-file, or typed at a prompt that does not echo (lnbits-token and other "
        "only: macaroons and certificates are files).",
    )
    add.add_argument("name", metavar="NAME", help=f"the credential's name: {NAME_RULE}")
    add.add_argument(
        "--kind", required=True, choices=[kind.value for kind in CredentialKind], help="its use"
    )
    _add_secret_source(add)
    _add_vault_arguments(add)
    add.set_defaults(handler=add_main)

    listing = commands.add_parser(
        "list",
        help="the stored secrets' names, kinds, ages and fingerprints",
        description=f"List what the vault holds (never a secret). A secret older than "
        f"{ROTATION_DAYS} days is flagged for rotation.",
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_vault_arguments(listing)
    listing.set_defaults(handler=list_main)

    rotate = commands.add_parser(
        "rotate",
        help="replace NAME's secret with a new one",
        description="Replace NAME's secret, keeping its name and kind. Kinds that lnopt can "
        "renew itself are renewed; for the others the new secret is read like `add` reads it.",
    )
    rotate.add_argument("name", metavar="NAME")
    _add_secret_source(rotate)
    _add_admin_macaroon(rotate, required=False)
    _add_vault_arguments(rotate)
    rotate.set_defaults(handler=rotate_main)

    bake = commands.add_parser(
        "bake-lnd",
        help="bake lnopt's own LND macaroon (info:read offchain:read offchain:write) and store it",
        description="Use an admin macaroon once (never stored) to bake a macaroon with just the "
        "permissions lnopt needs under a fresh root key id, and store it as NAME with the "
        "node's TLS certificate as NAME-tls.",
    )
    _add_admin_macaroon(bake, required=True)
    bake.add_argument("--url", required=True, help="LND's REST address, https://HOST:8080")
    bake.add_argument(
        "--tls-cert",
        required=True,
        type=Path,
        metavar="FILE",
        help="the node's tls.cert, pinned for every call",
    )
    bake.add_argument("--name", default="lnd", help="the record's name (default: lnd)")
    _add_vault_arguments(bake)
    bake.set_defaults(handler=bake_lnd_main)

    revoke = commands.add_parser(
        "revoke",
        help="revoke NAME's LND macaroon now (delete its root key id) and remove the record",
    )
    revoke.add_argument("name", metavar="NAME")
    _add_admin_macaroon(revoke, required=True)
    _add_vault_arguments(revoke)
    revoke.set_defaults(handler=revoke_main)

    remove = commands.add_parser("remove", help="delete NAME and its secret from the vault")
    remove.add_argument("name", metavar="NAME")
    _add_vault_arguments(remove)
    remove.set_defaults(handler=remove_main)


def add_main(args: argparse.Namespace) -> int:
    kind = CredentialKind(args.kind)
    check_name(args.name)
    vault = open_vault(args, create=True)
    info = vault.put(args.name, read_secret(args, kind, args.name), kind=kind)
    print(f"stored {info.name} ({info.kind.value}, fingerprint {info.fingerprint}) in {vault.path}")
    return 0


def list_main(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    infos = vault.list()
    now_s = int(time.time())
    if args.json:
        document = {"vault": str(vault.path), "credentials": [_as_json(i, now_s) for i in infos]}
        print(json.dumps(document, indent=2))
    elif infos:
        print(_table(infos, now_s))
    else:
        print(f"no credentials in {vault.path}")
    for info in infos:
        if info.due_for_rotation(now_s):
            print(
                f"lnopt: warning: {info.name} is {info.age_days(now_s)} days old (over "
                f"{ROTATION_DAYS}); rotate it: lnopt credentials rotate {info.name}",
                file=sys.stderr,
            )
    return 0


def rotate_main(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    old = vault.info(args.name)
    rotator = ROTATORS.get(old.kind, replace_secret)
    new = rotator(args, vault, old)
    print(f"rotated {new.name}: fingerprint {old.fingerprint} -> {new.fingerprint}")
    return 0


def remove_main(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    vault.remove(args.name)
    print(f"removed {args.name} from {vault.path}")
    return 0


def bake_lnd_main(args: argparse.Namespace) -> int:
    check_name(args.name)
    admin = lnd_credentials.read_credential_file(args.admin_macaroon, "admin macaroon")
    cert = lnd_credentials.read_credential_file(args.tls_cert, "TLS certificate")
    vault = open_vault(args, create=True)
    info = lnd_credentials.bake_lnd(
        vault, name=args.name, url=args.url, admin_macaroon=admin, tls_cert_pem=cert
    )
    print(
        f"stored {info.name} (lnd-macaroon: info:read offchain:read offchain:write, root key id "
        f"{info.details['root_key_id']}, fingerprint {info.fingerprint}) and {args.name}-tls in "
        f"{vault.path}"
    )
    return 0


def revoke_main(args: argparse.Namespace) -> int:
    admin = lnd_credentials.read_credential_file(args.admin_macaroon, "admin macaroon")
    vault = open_vault(args)
    info = vault.info(args.name)
    deleted = lnd_credentials.revoke_lnd(vault, info, admin_macaroon=admin)
    state = "revoked" if deleted else "was already gone from the node"
    print(f"{info.name}: root key id {info.details.get('root_key_id')} {state}; record removed")
    return 0


def rotate_lnd_macaroon(
    args: argparse.Namespace, vault: Vault, info: CredentialInfo
) -> CredentialInfo:
    """An lnd-macaroon's rotation: bake a new one, then revoke the old root key id."""
    if args.admin_macaroon is None:
        raise InvalidRequest(
            f"rotating {info.name} bakes a new macaroon on the node: pass --admin-macaroon FILE"
        )
    admin = lnd_credentials.read_credential_file(args.admin_macaroon, "admin macaroon")
    return lnd_credentials.rotate_lnd(vault, info, admin_macaroon=admin)


ROTATORS[CredentialKind.LND_MACAROON] = rotate_lnd_macaroon


def replace_secret(args: argparse.Namespace, vault: Vault, info: CredentialInfo) -> CredentialInfo:
    """The rotation of a kind lnopt cannot renew itself: store the new secret the operator gives."""
    secret = read_secret(args, info.kind, info.name)
    if hmac.compare_digest(secret, vault.get(info.name)):
        raise InvalidRequest(f"the new secret for {info.name} is the old one; nothing was changed")
    return vault.put(info.name, secret, kind=info.kind)


def open_vault(args: argparse.Namespace, *, create: bool = False) -> Vault:
    """The vault named by ``--vault`` (or the default), opened with the passphrase's sources."""
    install_redaction()
    path: Path = args.vault if args.vault is not None else default_vault_path()
    passphrase = read_passphrase(
        passphrase_file=args.passphrase_file, confirm=create and not path.expanduser().exists()
    )
    return Vault.open(path, passphrase, create=create)


def read_secret(args: argparse.Namespace, kind: CredentialKind, name: str) -> bytes:
    """The secret from ``--from-file``, or typed at a prompt (text kinds, on a terminal)."""
    source: Path | None = args.from_file
    if source is not None:
        try:
            raw = source.read_bytes()
        except OSError as exc:
            raise InvalidRequest(f"cannot read {source}: {exc.strerror}") from exc
        secret = raw.strip() if kind in TEXT_KINDS else raw
    elif kind not in TEXT_KINDS:
        raise InvalidRequest(f"an {kind.value} is a file: pass --from-file F")
    elif not sys.stdin.isatty():
        raise InvalidRequest(
            f"no secret given for {name}: pass --from-file F, or type it on a terminal"
        )
    else:
        try:
            secret = getpass.getpass(f"secret for {name}: ").strip().encode("utf-8")
        except (EOFError, KeyboardInterrupt) as exc:
            raise InvalidRequest("no secret was typed; nothing was changed") from exc
    if not secret:
        raise InvalidRequest(f"the secret given for {name} is empty; nothing was changed")
    register_secret(secret)
    return secret


def _add_secret_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from-file",
        type=Path,
        metavar="F",
        help="read the secret from this file (default: a prompt that does not echo)",
    )


def _add_admin_macaroon(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--admin-macaroon",
        type=Path,
        metavar="FILE",
        required=required,
        help="an LND macaroon with macaroon:generate, read and write (admin.macaroon), used "
        "for this command only and never stored"
        + ("" if required else "; needed to rotate an lnd-macaroon"),
    )


def _add_vault_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vault",
        type=Path,
        metavar="PATH",
        help="the vault file (default: $STATE_DIRECTORY/credentials.vault under systemd, "
        "else ~/.lnopt/credentials.vault)",
    )
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="F",
        help="read the vault passphrase from this file (default: $CREDENTIALS_DIRECTORY/"
        "lnopt-passphrase, then $LNOPT_PASSPHRASE_FILE, then a prompt)",
    )


def _as_json(info: CredentialInfo, now_s: int) -> dict[str, Any]:
    return {
        "name": info.name,
        "kind": info.kind.value,
        "created_at_s": info.created_at_s,
        "age_days": info.age_days(now_s),
        "due_for_rotation": info.due_for_rotation(now_s),
        "fingerprint": info.fingerprint,
        "details": dict(info.details),
    }


def _table(infos: tuple[CredentialInfo, ...], now_s: int) -> str:
    rows = [("NAME", "KIND", "AGE", "FINGERPRINT", "DETAILS")]
    for info in infos:
        age = f"{info.age_days(now_s)} d" + (" (rotate)" if info.due_for_rotation(now_s) else "")
        details = " ".join(f"{key}={value}" for key, value in sorted(info.details.items()))
        rows.append((info.name, info.kind.value, age, info.fingerprint, details))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
