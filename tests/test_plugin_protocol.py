"""lnopt's side of the plugin protocol, in process: decoding what lightningd writes and checking
a call against a method's signature (the subprocess tests are in test_bad_input.py)."""

from __future__ import annotations

from typing import Any

import pytest

from lnopt.errors import InvalidRequest
from lnopt.params import OversizedInteger
from lnopt.plugin_protocol import check_params, decode_message


def test_an_integer_of_thousands_of_digits_is_decoded_as_oversized() -> None:
    payload = b'{"jsonrpc": "2.0", "id": 1, "method": "m", "params": [7, -%s]}' % (b"9" * 5000)

    message = decode_message(payload)

    assert message is not None and message["params"] == [7, OversizedInteger(5000)]


@pytest.mark.parametrize(
    "payload", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"id": 1, "params": {}}', b"{}"]
)
def test_what_is_not_a_json_rpc_message_is_dropped_and_logged(
    payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    assert decode_message(payload) is None
    assert any("event=unreadable_message" in r.getMessage() for r in caplog.records)


def _method(request: Any, target: Any, dryrun: Any = True, *, plugin: Any = None) -> None:
    """A method as pyln-client registers one: request and plugin are passed by pyln-client."""


@pytest.mark.parametrize("params", [["42"], ["42", False], {"target": "42", "dryrun": False}])
def test_a_call_the_signature_takes_passes(params: Any) -> None:
    check_params("lnopt-rollback", _method, params)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([], "missing parameter target; lnopt-rollback accepts: target, dryrun"),
        ({"dryrun": True}, "missing parameter target; lnopt-rollback accepts: target, dryrun"),
        (
            ["42", True, 3],
            "too many positional parameters: 3 given, at most 2; "
            "lnopt-rollback accepts: target, dryrun",
        ),
        (
            {"target": "42", "request": 1, "x" * 500: 1},
            'unknown parameter "request", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
            "xxxxxxxxxxxxxxxxxxxxxx…; lnopt-rollback accepts: target, dryrun",
        ),
        ("42", 'parameters must be a JSON object or array, got "42"'),
    ],
)
def test_a_call_it_does_not_take_is_refused_naming_the_parameter(params: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_params("lnopt-rollback", _method, params)

    assert str(refused.value) == message
