"""LNbits' node API in the LNbits process itself, for the LNbits extension: the funding source's
``Node`` object (``lnbits.nodes.base.Node``: CoreLightningNode, LndRestNode ...) read into the
same JSON shapes as ``/node/api/v1`` answers, so :class:`~lnopt.backends.lnbits.LnbitsNodeBackend`
and :mod:`~lnopt.backends.lnbits_shapes` read them as they read the REST API.

The bridge: LNbits' node methods are coroutines bound to LNbits' event loop (its Core Lightning
RPC and its LND ``httpx.AsyncClient`` belong to that loop), while lnopt's engine is synchronous
and holds locks for a whole run. The engine therefore runs in a worker thread (the extension's
routes ``await asyncio.to_thread(...)``; the scheduler is a thread of its own), and each node call
is sent to LNbits' loop with :func:`asyncio.run_coroutine_threadsafe` and waited for, at most
``timeout_s``. A call from the loop's own thread would wait for itself: it is refused at once.

``node()`` gives the node object, built on the loop for each call as LNbits builds one per
request (the extension passes ``lnbits.core.views.node_api.require_node``, so LNbits' own checks
apply: a funding source without a node, or the node UI off, is refused as the route would be).
LNbits answers a refused call with an ``HTTPException`` (``status_code``, ``detail``): a status
below 500 is a :class:`~lnopt.errors.BackendRefused` with that code, anything else a
:class:`~lnopt.errors.BackendUnavailable`. This module does not import LNbits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
from collections.abc import Awaitable, Callable
from typing import Any

from lnopt.errors import BackendRefused, BackendUnavailable

__all__ = ["InProcessNodeApi"]

DEFAULT_TIMEOUT_S = 30.0
_SERVER_ERROR = 500


class InProcessNodeApi:
    """LNbits' ``Node`` on LNbits' event loop, called from worker threads (see the module)."""

    def __init__(
        self,
        node: Callable[[], Any],
        loop: asyncio.AbstractEventLoop,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._node = node
        self._loop = loop
        self._timeout_s = timeout_s

    def info(self) -> Any:
        return self._call("get_info")

    def peers(self) -> Any:
        return self._call("get_peers")

    def channels(self) -> Any:
        return self._call("get_channels")

    def channel(self, lnbits_id: str) -> Any:
        return self._call("get_channel", lnbits_id)

    def set_fees(self, lnbits_id: str, *, fee_ppm: int, fee_base_msat: int) -> None:
        # LNbits' route calls it so: set_channel_fee(channel_id, fee_base_msat, fee_ppm)
        self._call("set_channel_fee", lnbits_id, fee_base_msat, fee_ppm)

    def _call(self, method: str, *args: Any) -> Any:
        if self._on_loop_thread():
            raise BackendUnavailable(
                f"LNbits' node was called from its own event loop ({method}): lnopt's engine "
                "must run in a worker thread"
            )
        future = asyncio.run_coroutine_threadsafe(self._on_loop(method, *args), self._loop)
        try:
            answer = future.result(timeout=self._timeout_s)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise BackendUnavailable(
                f"LNbits' node did not answer {method} within {self._timeout_s:g} s"
            ) from exc
        except concurrent.futures.CancelledError as exc:
            raise BackendUnavailable(f"LNbits' node call {method} was cancelled") from exc
        except Exception as exc:  # LNbits' and its node's errors end here
            raise _mapped(method, exc) from exc
        return _plain(answer)

    async def _on_loop(self, method: str, *args: Any) -> Any:
        bound: Callable[..., Awaitable[Any]] = getattr(self._node(), method)
        return await bound(*args)

    def _on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False


def _mapped(method: str, exc: Exception) -> Exception:
    status = getattr(exc, "status_code", None)
    detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
    if isinstance(status, int) and status < _SERVER_ERROR:
        return BackendRefused(f"LNbits refused {method}: {detail} (HTTP {status})", code=status)
    where = f" (HTTP {status})" if isinstance(status, int) else ""
    return BackendUnavailable(f"LNbits' node failed in {method}: {detail}{where}")


def _plain(answer: Any) -> Any:
    """A pydantic model (or a list of them) as the JSON LNbits' route answers it: fields by
    name, enums by their value (also as keys: ``ChannelStats.counts`` is keyed by state)."""
    if isinstance(answer, enum.Enum):
        return answer.value
    if isinstance(answer, dict):
        return {_plain(key): _plain(value) for key, value in answer.items()}
    if isinstance(answer, list | tuple):
        return [_plain(item) for item in answer]
    as_dict = getattr(answer, "dict", None)
    if callable(as_dict):
        return _plain(as_dict())
    return answer
