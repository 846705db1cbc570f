"""lnopt's side of the plugin protocol: one answer path for every request, and no traceback in
any reply.

pyln-client's ``Plugin`` binds a request's parameters to the method's signature and answers a
failure with ``"Error while processing ..."`` and a ``traceback`` field (for an error the method
itself raised too, where it holds ``"NoneType: None"``); a JSON integer of more digits than
Python converts (4,300) ends its read loop, and with it the plugin. :class:`LnoptPlugin` keeps
pyln-client's registration, manifest and option handling and changes how requests are read and
answered, through two of pyln-client's internal steps (``_multi_dispatch``, which decodes what
lightningd writes, and ``_dispatch_request``, which runs a method; hooks keep pyln-client's own):

- every message is decoded with integers past :data:`MAX_INTEGER_DIGITS` digits kept as
  :class:`~lnopt.params.OversizedInteger`, which every reader refuses by its size;
- a request's parameters are checked against the method's signature first: a missing, unknown
  or extra positional parameter is a JSON-RPC error -32602 that names it and the parameters the
  method accepts;
- every request is an :class:`LnoptRequest`, whose error answer is ``{"code", "message"}`` and
  nothing else: an lnopt error (or an option's refusal) keeps its code and message; anything
  else is logged with its traceback to the node's log and answered in one line.

The field is removed rather than emptied: JSON-RPC 2.0 defines an error as ``code``, ``message``
and an optional ``data``, and lightningd passes the object through as it is.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

from pyln.client import Plugin
from pyln.client.plugin import MethodType, Request, RpcException

from lnopt.errors import InvalidRequest, LnoptError
from lnopt.params import OversizedInteger, clipped, shown

logger = logging.getLogger(__name__)

UNEXPECTED_ERROR_CODE = -32603
METHOD_NOT_FOUND_CODE = -32601
MAX_INTEGER_DIGITS = 100  # far past any number lnopt accepts (64 bits: 20 digits)
_INJECTED = frozenset({"plugin", "request"})  # pyln-client passes these, callers do not
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def error_reply(method: str, exc: BaseException) -> tuple[int, str]:
    """The JSON-RPC error code and message answering ``exc`` raised by ``method``."""
    if isinstance(exc, LnoptError):
        code, message = exc.rpc_code, str(exc)
    elif isinstance(exc, RpcException):
        code, message = exc.code, str(exc.message)
    else:
        logger.error("event=rpc_failed method=%s", method, exc_info=exc)
        return UNEXPECTED_ERROR_CODE, (
            f"{method} failed unexpectedly ({type(exc).__name__}: {clipped(str(exc))}); "
            "the node's log has the details"
        )
    logger.info("event=rpc_refused method=%s error=%r", method, clipped(message, 400))
    return code, message


class LnoptRequest(Request):  # type: ignore[misc]  # pyln-client is untyped
    """A request whose error answer carries a code and a message, never a traceback."""

    def set_exception(self, exc: BaseException) -> None:
        code, message = error_reply(self.method, exc)
        super().set_exception(RpcException(message, code))

    def _write_result(self, result: dict[str, Any]) -> None:
        error = result.get("error")
        if isinstance(error, dict):
            error.pop("traceback", None)
        super()._write_result(result)


def check_params(method: str, func: Callable[..., Any], params: Any) -> None:
    """Refuse ``params`` that ``func`` cannot take, naming the parameter and the accepted ones."""
    signature = inspect.signature(func)
    accepted = [
        p for p in signature.parameters.values() if p.kind in _NAMED and p.name not in _INJECTED
    ]
    kinds = {p.kind for p in signature.parameters.values()}
    listing = f"{method} accepts: {', '.join(p.name for p in accepted) or 'no parameters'}"
    if isinstance(params, list):
        positional = [p for p in accepted if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        if len(params) > len(positional) and inspect.Parameter.VAR_POSITIONAL not in kinds:
            raise InvalidRequest(
                f"too many positional parameters: {len(params)} given, at most "
                f"{len(positional)}; {listing}"
            )
        given = {p.name for p in positional[: len(params)]}
    elif isinstance(params, dict):
        unknown = sorted(set(params) - {p.name for p in accepted})
        if unknown and inspect.Parameter.VAR_KEYWORD not in kinds:
            names = ", ".join(shown(name) for name in unknown[:3])
            more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
            raise InvalidRequest(f"unknown parameter {names}{more}; {listing}")
        given = set(params)
    else:
        raise InvalidRequest(f"parameters must be a JSON object or array, got {shown(params)}")
    missing = [p.name for p in accepted if p.default is p.empty and p.name not in given]
    if missing:
        raise InvalidRequest(f"missing parameter {', '.join(missing)}; {listing}")


def _json_int(text: str) -> int | OversizedInteger:
    digits = len(text.lstrip("-"))
    return int(text) if digits <= MAX_INTEGER_DIGITS else OversizedInteger(digits)


def decode_message(payload: bytes) -> dict[str, Any] | None:
    """One message from lightningd, or None (logged) if it is not a JSON object."""
    try:
        message = json.loads(payload.decode("utf-8"), parse_int=_json_int)
    except ValueError as exc:
        logger.warning(
            "event=unreadable_message bytes=%d error=%r", len(payload), clipped(str(exc))
        )
        return None
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        logger.warning(
            "event=unreadable_message bytes=%d error='not a JSON-RPC message'", len(payload)
        )
        return None
    return message


class LnoptPlugin(Plugin):  # type: ignore[misc]  # pyln-client is untyped
    """pyln-client's Plugin, reading and answering requests as the module docstring says."""

    def _multi_dispatch(self, msgs: list[bytes]) -> bytes:
        for payload in msgs[:-1]:
            message = decode_message(payload)
            if message is None:
                continue
            request = LnoptRequest(
                self, message.get("id"), message["method"], message.get("params", {})
            )
            # set apart from the constructor: older pyln-client takes no origin
            request.origin = message.get("origin")
            if request.id is not None:
                self._dispatch_request(request)
            else:
                self._dispatch_notification(request)
        return msgs[-1]

    def _dispatch_request(self, request: LnoptRequest) -> None:
        method = self.methods.get(request.method)
        if method is None:
            request.set_exception(
                RpcException(f"no method {shown(request.method)}", METHOD_NOT_FOUND_CODE)
            )
            return
        if method.mtype is MethodType.HOOK:
            super()._dispatch_request(request)
            return
        request.background = method.background
        try:
            check_params(request.method, method.func, request.params)
            result = self._exec_func(method.func, request)
        except Exception as exc:
            request.set_exception(exc)
            return
        if not method.background:
            request.set_result(result)
