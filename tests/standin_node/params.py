"""Request parameters as lightningd's ``param()`` reads them, and its refusals."""

from __future__ import annotations

from typing import Any

U32_MAX = 2**32 - 1
INVALID_PARAMS = -32602
UNKNOWN_PARAMETER = (
    "unknown parameter: {}, this may be caused by a failure to autodetect key=value-style "
    "parameters. Please try using the -k flag and explicit key=value pairs of parameters."
)


class RpcFailure(Exception):
    """An error answer, as lightningd's ``command_fail`` sends it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def bad_param(name: str, what: str) -> RpcFailure:
    """lightningd's ``command_fail_badparam`` wording (outside developer mode)."""
    return RpcFailure(INVALID_PARAMS, f"{name}: {what}: invalid token (see logs for details)")


def named_params(names: tuple[str, ...], params: Any) -> dict[str, Any]:
    """lightningd's ``param()``: positional or named parameters, nulls left out."""
    if isinstance(params, list):
        if len(params) > len(names):
            message = f"too many parameters: got {len(params)}, expected {len(names)}"
            raise RpcFailure(INVALID_PARAMS, message)
        return {n: v for n, v in zip(names, params, strict=False) if v is not None}
    if not isinstance(params, dict):
        raise RpcFailure(INVALID_PARAMS, "Expected array or object for params")
    for name in params:
        if name not in names:
            raise RpcFailure(INVALID_PARAMS, UNKNOWN_PARAMETER.format(name))
    return {n: v for n, v in params.items() if v is not None}


def msat_param(params: dict[str, Any], name: str) -> int | None:
    """An amount as lightningd's ``param_msat`` reads it: 1234, "1234", "1234msat", "2sat"."""
    value = params.get(name)
    if value is None:
        return None
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, str):
        for suffix, scale in (("msat", 1), ("sat", 1000), ("", 1)):
            digits = value.removesuffix(suffix) if suffix else value
            if (digits != value or not suffix) and digits.isdigit():
                return int(digits) * scale
    raise bad_param(name, "should be a millisatoshi amount")


def u32_param(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is not int or not 0 <= value <= U32_MAX:
        raise bad_param(name, "should be an integer")
    return value


def u64_param(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if type(value) is not int or value < 0:
        raise bad_param(name, "should be an unsigned 64 bit integer")
    return value
