"""The secrets scan finds a secret in each form it can leak in, and passes clean text."""

from __future__ import annotations

import base64

import pytest

from tests.secret_scan import assert_no_secret

MACAROON = bytes.fromhex("0201036c6e6402f801030a10c3f1b2")


@pytest.mark.parametrize(
    "leak",
    [
        MACAROON.hex(),
        MACAROON.hex().upper(),
        base64.b64encode(MACAROON).decode(),
        base64.urlsafe_b64encode(MACAROON).decode(),
    ],
)
def test_each_form_of_a_secret_is_found(leak: str) -> None:
    with pytest.raises(AssertionError, match=r"secret #0 in log"):
        assert_no_secret([("log", f"header={leak} sent")], [MACAROON])


def test_a_text_secret_is_found_as_given() -> None:
    with pytest.raises(AssertionError, match=r"as given of secret #1 in answer"):
        assert_no_secret([("answer", '{"token": "tok-abcdef12"}')], [MACAROON, "tok-abcdef12"])


def test_clean_text_passes() -> None:
    assert_no_secret([("log", "fee changed channel=1x2x3 fee_ppm=100")], [MACAROON, "tok-abcdef12"])
