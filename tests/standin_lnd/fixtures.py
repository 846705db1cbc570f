"""pytest fixtures: a running stand-in, its certificate files, and lnopt's own macaroon."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lnopt.backends.http import HttpSettings
from lnopt.backends.lnd import LndBackend
from tests.standin_lnd.node import make_node
from tests.standin_lnd.server import StandinLnd
from tests.standin_lnd.tls import LND_NAMES, TlsPair, make_tls_pair

LNOPT_PERMISSIONS = ("info:read", "offchain:read", "offchain:write")
FAST = HttpSettings(
    timeout_s=2.0,
    retries=2,
    backoff_base_s=0.01,
    backoff_max_s=0.05,
    rate_per_s=1000,
    burst=1000,
    breaker_failures=5,
    breaker_reset_s=0.5,
)


@dataclass
class LndSetup:
    standin: StandinLnd
    tls: TlsPair
    cert_file: Path
    macaroon: bytes  # lnopt's least-privilege macaroon, root key id 1

    def backend(self, macaroon: bytes | None = None, **kwargs: object) -> LndBackend:
        kwargs.setdefault("settings", FAST)
        return LndBackend(
            self.standin.url,
            macaroon=self.macaroon if macaroon is None else macaroon,
            tls_cert_pem=self.tls.cert_pem,
            **kwargs,  # type: ignore[arg-type]
        )


def start_standin(
    directory: Path,
    *,
    channels: int = 100,
    forwards: int = 3_000,
    names: tuple[str, ...] = LND_NAMES,
) -> LndSetup:
    """A running stand-in whose certificate names ``names``, and lnopt's macaroon for it."""
    directory.mkdir(parents=True, exist_ok=True)
    tls = make_tls_pair(names=names)
    cert_file, key_file = tls.write(directory)
    standin = StandinLnd(
        make_node(channels=channels, forwards=forwards), cert_file=cert_file, key_file=key_file
    ).start()
    return LndSetup(standin, tls, cert_file, standin.bake(*LNOPT_PERMISSIONS, root_key_id=1))


@pytest.fixture
def lnd(tmp_path: Path) -> Iterator[LndSetup]:
    setup = start_standin(tmp_path)
    yield setup
    setup.standin.stop()
