"""Build the backend a standalone runner drives from its settings.

Core Lightning is reached over lightningd's ``lightning-rpc`` socket. LNbits and LND are reached
over HTTP with credentials kept in lnopt's encrypted vault (:mod:`lnopt.security`), named by
the settings and read only here; the LNbits and LND modules are imported only when that
backend is asked for.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lnopt.backends.base import Backend
from lnopt.errors import ConfigError

if TYPE_CHECKING:
    from lnopt.security import CredentialKind


class BackendKind(enum.Enum):
    CLN = "cln"
    LNBITS = "lnbits"
    LND = "lnd"


@dataclass(frozen=True)
class ClnSettings:
    rpc_file: Path  # lightningd's lightning-rpc socket


@dataclass(frozen=True)
class LnbitsSettings:
    url: str
    token_credential: str  # the vault record holding the node-scoped Bearer token
    graph_file: Path | None = None  # a listchannels file for the network graph


@dataclass(frozen=True)
class LndSettings:
    url: str
    macaroon_credential: str  # the vault record holding lnopt's macaroon
    tls_cert_credential: str  # the vault record holding the node's tls.cert


@dataclass(frozen=True)
class VaultSettings:
    path: Path
    passphrase_file: Path | None = None


NodeSettings = ClnSettings | LnbitsSettings | LndSettings


def build_backend(node: NodeSettings, vault: VaultSettings, *, graph_refresh_s: int) -> Backend:
    """The backend ``node`` names; credentials are read from ``vault``."""
    if isinstance(node, ClnSettings):
        from lnopt.backends.cln import ClnBackend

        return ClnBackend.from_socket(node.rpc_file, graph_refresh_s=graph_refresh_s)
    from lnopt.security import CredentialKind

    if isinstance(node, LnbitsSettings):
        (token,), warnings = _credentials(
            vault,
            Wanted("lnbits-token-credential", node.token_credential, CredentialKind.LNBITS_TOKEN),
        )
        if not token.isascii() or not token.strip():
            raise ConfigError(
                f"lnbits-token-credential: the vault record {node.token_credential!r} does not "
                "hold an LNbits access token (text); store the token itself"
            )
        from lnopt.backends.lnbits import LnbitsBackend

        lnbits: Backend = LnbitsBackend(
            node.url,
            token=token.decode("ascii").strip(),
            graph_file=node.graph_file,
            credential_warnings=warnings,
        )
        return lnbits
    (macaroon, tls_cert), warnings = _credentials(
        vault,
        Wanted("lnd-macaroon-credential", node.macaroon_credential, CredentialKind.LND_MACAROON),
        Wanted("lnd-tls-cert-credential", node.tls_cert_credential, CredentialKind.LND_TLS_CERT),
    )
    from lnopt.backends.lnd import LndBackend

    lnd: Backend = LndBackend(
        node.url,
        macaroon=macaroon,
        tls_cert_pem=tls_cert,
        graph_refresh_s=graph_refresh_s,
        credential_warnings=warnings,
    )
    return lnd


@dataclass(frozen=True)
class Wanted:
    """A credential a backend needs: the setting naming it, the record's name, its kind."""

    setting: str
    name: str
    kind: CredentialKind


def _credentials(
    vault: VaultSettings, *wanted: Wanted, now_s: float | None = None
) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
    """The secrets of the ``wanted`` records, each checked to be of its kind, and a warning for
    each record older than the vault's rotation age; a :class:`~lnopt.errors.CredentialError`
    for no vault, a missing record or a wrong passphrase (never a secret in the message)."""
    from lnopt.security import Vault, read_passphrase
    from lnopt.security.vault import ROTATION_DAYS

    passphrase = read_passphrase(passphrase_file=vault.passphrase_file)
    opened = Vault.open(vault.path, passphrase, create=False)
    now = int(time.time() if now_s is None else now_s)
    secrets, warnings = [], []
    for credential in wanted:
        info = opened.info(credential.name)
        if info.kind is not credential.kind:
            raise ConfigError(
                f"{credential.setting}: the vault record {credential.name!r} holds an "
                f"{info.kind.value}, not an {credential.kind.value}; name the record that does"
            )
        if info.due_for_rotation(now):
            warnings.append(
                f"the credential {credential.name!r} is {info.age_days(now)} days old (more "
                f"than {ROTATION_DAYS}): rotate it with `lnopt credentials rotate "
                f"{credential.name}`"
            )
        secrets.append(opened.get(credential.name))
    return tuple(secrets), tuple(warnings)
