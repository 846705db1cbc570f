"""Every bad input an operator can give, answered cleanly, through the real plugin protocol.

``lnopt_plugin.py`` runs as a subprocess (:mod:`tests.plugin_harness`) against the stand-in
node, started once for the module. Every method's every parameter, and ``setconfig`` of every
dynamic option, gets every kind of bad value (:data:`BAD_VALUES`, written as the JSON text a
caller sends); every method also gets an unknown parameter, too many positional ones and, where
it has any, a missing required one. Each answer must be a JSON-RPC error -32602 whose message
names the parameter and what it accepts, with no ``traceback`` field, short however long the
input, and the plugin's log must hold no traceback and no long echo of it. Bad start-up options
disable the plugin with the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lnopt.plugin_options import GUARD_OPTIONS
from tests.plugin_harness import (
    RPC_FILE,
    PluginErrorReply,
    PluginProcess,
    short_lightning_dir,
    wait_for,
)
from tests.standin_node import StandinNode, build_node

INVALID_PARAMS = -32602
MESSAGE_MAX_CHARS = 400  # a message names the parameter, what it accepts and a clipped value
LOG_LINE_MAX_CHARS = 600

# Every kind of bad value, as the JSON text a caller sends.
BAD_VALUES: dict[str, str] = {
    # types
    "null": "null",
    "true": "true",
    "float": "1.5",
    "whole float": "5.0",
    "list": "[1]",
    "object": '{"a": 1}',
    # ranges
    "negative": "-1",
    "2**64": str(2**64),
    "10**20": str(10**20),
    "1e400": "1e400",
    "10,000 digits": "9" * 10_000,
    # formats
    "--5": json.dumps("--5"),
    "superscript two": json.dumps("²"),
    "arabic-indic three": json.dumps("٣"),
    "NUL": json.dumps("5\x00"),
    "whitespace": json.dumps(" "),
    "padded digit": json.dumps("\t5\n"),
    "lone surrogate": '"\\ud800"',
    "NaN text": json.dumps("NaN"),
    "1e400 text": json.dumps("1e400"),
    # sizes
    "10,000 characters": json.dumps("x" * 10_000),
}

SHORT_CHANNEL_ID = "a short channel id BLOCKxTXxOUT (e.g. 812345x1020x1)"
BOOLEAN = 'true or false (or 1/0, "true"/"false")'
PROPOSAL = 'a proposal id (3; at most 9223372036854775807) or "all"'
TARGET = "a change id (42; at most 9223372036854775807), a batch id (b7), a short channel id"
FEE_LIMIT = "a whole number from 0 to 4294967295"
OTHER_LIMIT = "a whole number from 0 to 9223372036854775807"


@dataclass(frozen=True)
class Param:
    """One parameter of one method: where a bad value goes and what the refusal must say."""

    method: str
    name: str  # the parameter, or for setconfig the option
    accepted: str  # what the message must say is accepted
    accepts: frozenset[str] = frozenset()  # BAD_VALUES keys this parameter rightly takes
    given: dict[str, Any] = field(default_factory=dict)  # the other parameters of the call

    def params_json(self, value_json: str) -> str:
        if self.method == "setconfig":
            return f'{{"config": {json.dumps(self.name)}, "val": {value_json}}}'
        others = "".join(f"{json.dumps(k)}: {json.dumps(v)}, " for k, v in self.given.items())
        return f"{{{others}{json.dumps(self.name)}: {value_json}}}"


PARAMS = [
    Param("lnopt-score", "channel", SHORT_CHANNEL_ID, frozenset({"null"})),
    Param("lnopt-recommend", "channel", SHORT_CHANNEL_ID, frozenset({"null"})),
    Param("lnopt-apply", "channel", f'{SHORT_CHANNEL_ID} or "all"'),
    Param("lnopt-apply", "dryrun", BOOLEAN, frozenset({"true"})),
    Param("lnopt-approve", "proposal", PROPOSAL),
    Param("lnopt-reject", "proposal", PROPOSAL),
    Param("lnopt-rollback", "target", TARGET),
    Param("lnopt-rollback", "dryrun", BOOLEAN, frozenset({"true"}), {"target": "last"}),
    Param("lnopt-history", "channel", SHORT_CHANNEL_ID, frozenset({"null"})),
    Param(
        "lnopt-history",
        "since",
        "a unix time in seconds from 0 to 253402300799",
        frozenset({"null", "float", "whole float"}),
    ),
    Param("lnopt-history", "limit", "a whole number from 1 to 10000"),
    Param("lnopt-report", "days", "a whole number from 1 to 3650"),
    Param(
        "lnopt-report",
        "png",
        "a file path (text without NUL bytes, at most 4096 characters)",
        # any short text without a NUL is a file name, however odd
        frozenset({"null", "--5", "superscript two", "arabic-indic three", "whitespace"})
        | frozenset({"padded digit", "lone surrogate", "NaN text", "1e400 text"}),
    ),
    Param("lnopt-alerts", "limit", "a whole number from 1 to 1000"),
    Param("lnopt-release", "channel", SHORT_CHANNEL_ID),
    # every bad value is refused before a simulation starts
    Param("lnopt-simulate", "seeds", "a whole number from 1 to 20"),
    Param("lnopt-simulate", "days", "a whole number from 1 to 90"),
    Param("lnopt-simulate", "max_payments", "a whole number from 1000 to 200000"),
    Param("lnopt-simulate", "recorded_days", "a whole number from 1 to 3650"),
    Param("lnopt-simulate", "restart", BOOLEAN, frozenset({"true"})),
    Param("setconfig", "lnopt-alert-max-per-hour", "a whole number from 0 to 10000"),
    Param("setconfig", "lnopt-mode", "one of shadow, advise, auto"),
    Param("setconfig", "lnopt-interval", "a whole number from 0 to 31536000"),
    *(
        Param(
            "setconfig",
            spec.option,
            FEE_LIMIT if spec.key.endswith(("_ppm", "_msat")) else OTHER_LIMIT,
        )
        for spec in GUARD_OPTIONS
    ),
]
VALUE_CASES = [
    pytest.param(param, value, id=f"{param.method}:{param.name}={kind}")
    for param in PARAMS
    for kind, value in BAD_VALUES.items()
    if kind not in param.accepts
]

# The methods and their parameters, as the plugin's usage declares them.
SIGNATURES: dict[str, tuple[list[str], list[str]]] = {  # (required, optional)
    "lnopt-score": ([], ["channel"]),
    "lnopt-recommend": ([], ["channel"]),
    "lnopt-apply": ([], ["channel", "dryrun"]),
    "lnopt-approve": (["proposal"], []),
    "lnopt-reject": (["proposal"], []),
    "lnopt-rollback": (["target"], ["dryrun"]),
    "lnopt-history": ([], ["channel", "since", "limit"]),
    "lnopt-status": ([], []),
    "lnopt-report": ([], ["days", "png"]),
    "lnopt-alerts": ([], ["limit"]),
    "lnopt-release": (["channel"], []),
    "lnopt-simulate": ([], ["seeds", "days", "max_payments", "recorded_days", "restart"]),
    "setconfig": (["config", "val"], []),
}
VALID = {
    "proposal": "all",
    "target": "last",
    "channel": "812345x1020x1",
    "config": "lnopt-mode",
    "val": "shadow",
}


def _accepts(method: str) -> str:
    required, optional = SIGNATURES[method]
    return f"{method} accepts: {', '.join(required + optional) or 'no parameters'}"


STRUCTURE_CASES = [
    *(
        pytest.param(
            method,
            {**{name: VALID[name] for name in required}, "colour": "red"},
            f'unknown parameter "colour"; {_accepts(method)}',
            id=f"{method}:unknown parameter",
        )
        for method, (required, _) in SIGNATURES.items()
    ),
    *(
        pytest.param(
            method,
            ["812345x1020x1"] * (len(required) + len(optional) + 1),
            f"too many positional parameters: {len(required) + len(optional) + 1} given, "
            f"at most {len(required) + len(optional)}; {_accepts(method)}",
            id=f"{method}:too many positional",
        )
        for method, (required, optional) in SIGNATURES.items()
    ),
    *(
        pytest.param(
            method,
            {name: VALID[name] for name in required if name != missing},
            f"missing parameter {missing}; {_accepts(method)}",
            id=f"{method}:missing {missing}",
        )
        for method, (required, _) in SIGNATURES.items()
        for missing in required
    ),
]


@pytest.fixture(scope="module")
def plugin() -> Iterator[tuple[StandinNode, PluginProcess]]:
    """One plugin in advise mode with scheduled runs off, for every case of the module."""
    with short_lightning_dir() as path:
        node = StandinNode(build_node(4, seed=13), path / RPC_FILE).start()
        process = PluginProcess(path).start()
        assert process.handshake({"lnopt-interval": 0, "lnopt-mode": "advise"}) is None
        yield node, process
        process.close()
        node.stop()


def refusal(process: PluginProcess, method: str, params_json: str) -> dict[str, Any]:
    """The plugin's error answering the call; also checks what it logged meanwhile."""
    logged = len(process.logs)
    with pytest.raises(PluginErrorReply) as refused:
        process.call_json(method, params_json)
    for entry in process.logs[logged:]:
        line = str(entry.get("message", ""))
        assert "Traceback" not in line and len(line) <= LOG_LINE_MAX_CHARS, line[:200]
    return refused.value.error


@pytest.mark.parametrize(("param", "value_json"), VALUE_CASES)
def test_a_bad_value_is_refused_naming_the_parameter_and_what_it_accepts(
    plugin: tuple[StandinNode, PluginProcess], param: Param, value_json: str
) -> None:
    _, process = plugin

    error = refusal(process, param.method, param.params_json(value_json))

    assert set(error) == {"code", "message"}  # no traceback field
    assert error["code"] == INVALID_PARAMS
    message = error["message"]
    assert message.startswith(f"{param.name} must be {param.accepted}"), message
    assert "; got " in message and len(message) <= MESSAGE_MAX_CHARS, message


@pytest.mark.parametrize(("method", "params", "message"), STRUCTURE_CASES)
def test_a_missing_unknown_or_extra_parameter_is_refused_naming_it(
    plugin: tuple[StandinNode, PluginProcess], method: str, params: Any, message: str
) -> None:
    _, process = plugin

    error = refusal(process, method, json.dumps(params))

    assert error == {"code": INVALID_PARAMS, "message": message}


def test_no_bad_input_changed_the_node_or_the_plugin(
    plugin: tuple[StandinNode, PluginProcess],
) -> None:
    node, process = plugin

    status = process.call("lnopt-status")

    assert node.calls_to("setchannel") == []
    assert status["mode"] == "advise" and status["interval_s"] == 0
    assert status["scheduler"]["alive"] and status["scheduler"]["failures"] == 0
    assert process.returncode is None


def test_the_table_covers_every_method_and_dynamic_option(
    plugin: tuple[StandinNode, PluginProcess],
) -> None:
    _, process = plugin
    manifest = process.manifest or {}
    methods = {m["name"] for m in manifest["rpcmethods"] if m["name"].startswith("lnopt-")}
    dynamic = {o["name"] for o in manifest["options"] if o.get("dynamic")}

    assert {p.method for p in PARAMS} | {"lnopt-status"} == methods | {"setconfig"}
    assert {p.name for p in PARAMS if p.method == "setconfig"} == dynamic
    assert set(SIGNATURES) == methods | {"setconfig"}


# --- the scheduler's interval ------------------------------------------------------------------


def test_an_interval_of_a_trillion_seconds_is_refused_and_one_second_takes_effect() -> None:
    with short_lightning_dir() as path:
        node = StandinNode(build_node(4, seed=13), path / RPC_FILE).start()
        process = PluginProcess(path).start()
        try:
            assert process.handshake({"lnopt-interval": 0}) is None
            error = refusal(
                process, "setconfig", '{"config": "lnopt-interval", "val": 1000000000000}'
            )
            idle = process.call("lnopt-status")

            process.call("setconfig", {"config": "lnopt-interval", "val": "1"})
            run = wait_for(
                lambda: (r := process.call("lnopt-status")["last_run"]) and r["finished_at"] and r,
                what="a scheduled run",
            )
            status = process.call("lnopt-status")
        finally:
            process.close()
            node.stop()

    assert error["message"] == (
        "lnopt-interval must be a whole number from 0 to 31536000; got 1000000000000"
    )
    assert idle["interval_s"] == 0 and idle["next_run"] is None and idle["scheduler"]["alive"]
    assert run["error"] is None
    assert status["scheduler"]["alive"] and status["scheduler"]["last_error"] is None
    assert status["next_run"] >= run["started_at"]


# --- start-up options --------------------------------------------------------------------------


def _file(text: str | bytes) -> Any:
    def make(directory: Path) -> str:
        path = directory / "lnopt.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return str(path)

    return make


def _fifo(directory: Path) -> str:
    path = directory / "lnopt.yaml"
    os.mkfifo(path)
    return str(path)


def _directory(directory: Path) -> str:
    return str(directory)


STARTUP_CASES = [
    ("lnopt-interval", 10**12, "lnopt-interval must be a whole number from 0 to 31536000"),
    ("lnopt-max-fee-ppm", 2**32, f"lnopt-max-fee-ppm must be {FEE_LIMIT}; got 4294967296"),
    ("lnopt-max-base-fee-msat", 2**64, f"lnopt-max-base-fee-msat must be {FEE_LIMIT}"),
    ("lnopt-cooldown", 2**64, f"lnopt-cooldown must be {OTHER_LIMIT}"),
    ("lnopt-mode", "٣", 'lnopt-mode must be one of shadow, advise, auto; got "٣"'),
    ("lnopt-exclude-channel", ["²x1x1"], f"lnopt-exclude-channel must be {SHORT_CHANNEL_ID}"),
    ("lnopt-exclude-peer", ["03" + "g" * 64], "lnopt-exclude-peer must be a node id"),
    ("lnopt-config", "/tmp/lnopt\x00.yaml", "lnopt-config must be a file path (text without NUL"),
    ("lnopt-db", "lnopt\x00.sqlite3", "lnopt-db must be a file path (text without NUL"),
    ("lnopt-db", _directory, "cannot open the store"),
    ("lnopt-config", _directory, "it is not a regular file"),
    ("lnopt-config", _fifo, "it is not a regular file"),
    ("lnopt-config", _file("guard: " + "[" * 5000 + "]" * 5000), "nested too deeply"),
    ("lnopt-config", _file(b"guard: \xff\xfe\n"), "it is not UTF-8 text"),
    ("lnopt-config", _file(f"guard:\n  cooldown_s: {'9' * 5000}\n"), "cannot read (Exceeds"),
    (
        "lnopt-config",
        _file(f"guard:\n  max_fee_ppm: {2**32}\n"),
        f"guard.max_fee_ppm must be {FEE_LIMIT}; got 4294967296",
    ),
    (
        "lnopt-config",
        _file("guard:\n  exclude_channels: ['٣x1x1']\n"),
        f'guard.exclude_channels must be {SHORT_CHANNEL_ID}; got "٣x1x1"',
    ),
]


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    STARTUP_CASES,
    ids=[f"{option}:{index}" for index, (option, _, _) in enumerate(STARTUP_CASES)],
)
def test_a_bad_start_up_option_disables_the_plugin_with_the_reason(
    option: str, value: Any, needle: str
) -> None:
    with short_lightning_dir() as path:
        process = PluginProcess(path).start()
        try:
            result = process.handshake({option: value(path) if callable(value) else value})
        finally:
            process.close()

    assert isinstance(result, dict) and set(result) == {"disable"}
    assert result["disable"].startswith("lnopt: ") and needle in result["disable"]
    assert len(result["disable"]) <= MESSAGE_MAX_CHARS
    assert not any("Traceback" in str(entry.get("message")) for entry in process.logs)
