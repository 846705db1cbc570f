"""Log redaction: a registered secret never reaches a handler, in any spelling."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lnopt.security.redaction import (
    RedactionFilter,
    SecretRegistry,
    install_redaction,
    redact,
)
from lnopt.security.vault import CredentialKind, KdfParams, Vault

SECRET = b"\x02\x01\x03macaroon-root-key\xfe\xff"
TOKEN = "a3f9c2e1d4b5a6978877665544332211"


@pytest.fixture
def stream_logger() -> Iterator[tuple[logging.Logger, io.StringIO, SecretRegistry]]:
    """A logger whose one handler writes to a string, filtered by a registry of its own."""
    registry = SecretRegistry()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactionFilter(registry))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, stream, registry
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    "spelling",
    [
        lambda s: s.hex(),
        lambda s: s.hex().upper(),
        lambda s: base64.b64encode(s).decode(),
        lambda s: base64.urlsafe_b64encode(s).decode().rstrip("="),
    ],
    ids=["hex", "HEX", "base64", "urlsafe base64 unpadded"],
)
def test_a_binary_secret_is_hidden_in_every_spelling(
    stream_logger: tuple[logging.Logger, io.StringIO, SecretRegistry],
    spelling: Callable[[bytes], str],
) -> None:
    logger, stream, registry = stream_logger
    registry.add(SECRET)
    text = spelling(SECRET)

    logger.info("sending header Grpc-Metadata-macaroon=%s to %s", text, "127.0.0.1")

    assert stream.getvalue() == "sending header Grpc-Metadata-macaroon=*** to 127.0.0.1\n"


def test_a_text_token_is_hidden_in_messages_and_tracebacks(
    stream_logger: tuple[logging.Logger, io.StringIO, SecretRegistry],
) -> None:
    logger, stream, registry = stream_logger
    registry.add(TOKEN)

    try:
        raise ValueError(f"server refused Bearer {TOKEN}")
    except ValueError:
        logger.exception("call failed for token %s", TOKEN)

    output = stream.getvalue()
    assert TOKEN not in output
    assert "call failed for token ***" in output
    assert "ValueError: server refused Bearer ***" in output


def test_text_without_a_registered_secret_is_left_as_it_is(
    stream_logger: tuple[logging.Logger, io.StringIO, SecretRegistry],
) -> None:
    logger, stream, registry = stream_logger
    registry.add(TOKEN)

    logger.warning("fee set channel=%s fee_ppm=%d", "700000x1x0", 250)

    assert stream.getvalue() == "fee set channel=700000x1x0 fee_ppm=250\n"


def test_a_secret_read_from_the_vault_is_registered_for_every_handler(tmp_path: Path) -> None:
    secret = b"lnbits-token-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    vault = Vault.open(tmp_path / "v", "pass words", kdf=KdfParams(memory_kib=8, lanes=1))
    vault.put("lnbits", secret, kind=CredentialKind.LNBITS_TOKEN)
    assert redact(f"token={secret.decode()}") == f"token={secret.decode()}"  # not yet read

    vault.get("lnbits")

    assert redact(f"token={secret.decode()} hex={secret.hex()}") == "token=*** hex=***"


def test_install_attaches_one_filter_to_each_handler_of_the_logger() -> None:
    logger = logging.getLogger("test.redaction.install")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        install_redaction(logger)
        install_redaction(logger)
        assert sum(isinstance(f, RedactionFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)
