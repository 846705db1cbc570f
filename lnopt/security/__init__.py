"""Credentials at rest: the encrypted vault, the passphrase's sources, and log redaction."""

from __future__ import annotations

from lnopt.security.passphrase import read_passphrase
from lnopt.security.vault import (
    CredentialInfo,
    CredentialKind,
    KdfParams,
    Vault,
    default_vault_path,
)

__all__ = [
    "CredentialInfo",
    "CredentialKind",
    "KdfParams",
    "Vault",
    "default_vault_path",
    "read_passphrase",
]
