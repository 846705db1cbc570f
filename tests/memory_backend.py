"""A test stand-in for a node: an in-memory :class:`~lnopt.backends.base.Backend`.

It follows the :class:`Backend` contract as Core Lightning fulfils it:

- ``set_policy`` is ``setchannel id feebase feeppm``: only the base fee and the fee rate change,
  every other field of the channel's policy stays; it returns the policy afterwards. An unknown
  channel and a negative fee are refused as lightningd's parameter checks refuse them
  (``BackendRefused``, code -32602, "id: Short channel id not found: invalid token ...").
- ``get_policy`` is ``listpeerchannels short_channel_id``'s ``fee_base_msat`` /
  ``fee_proportional_millionths``; a channel the node does not list is refused as
  :class:`~lnopt.backends.cln.ClnBackend` refuses it (``BackendRefused``, -32602, "Core
  Lightning has no channel ...").
- ``forwards(since_index, limit)`` is ``listforwards index=created start=since_index
  limit=limit``: oldest first, ``since_index`` included, ``next_index`` one past the last
  ``created_index`` returned.
- ``gossip`` holds our channels in both directions (:func:`tests.factories.graph_for`), with the
  fees in force, plus any ``extra_gossip``.

Fault injection, for the executor's failure paths: :meth:`MemoryBackend.fail_set_policy` (the
Nth next ``set_policy`` raises, optionally after it took effect, as a timeout after lightningd
acted would), :meth:`MemoryBackend.fail_get_policy` (the Nth next ``get_policy`` calls raise,
as a read that times out would), :meth:`MemoryBackend.misreport` (``get_policy`` reports another
policy),
``unavailable`` (every call raises ``BackendUnavailable``, "cannot be reached", as
:class:`~lnopt.backends.cln.ClnBackend` says when the socket is gone), :meth:`MemoryBackend.garble`
(the calls standing for a JSON-RPC method raise the ``BackendError`` a wrongly shaped answer
gives) and :meth:`MemoryBackend.crash_on`
(a call raises :class:`Crash`, which no lnopt code catches: the process "dies" there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lnopt.backends.base import Backend, ForwardPage, NodeInfo
from lnopt.errors import BackendError, BackendRefused, BackendUnavailable
from lnopt.graph import NetworkGraph
from lnopt.model import Channel, ChannelPolicy, Forward
from tests.factories import BLOCK_HEIGHT, OUR_NODE, graph_for

INVALID_PARAMS = -32602


def _bad_param(name: str, what: str) -> BackendRefused:
    """lightningd's ``command_fail_badparam`` wording (non-developer mode)."""
    return BackendRefused(
        f"{name}: {what}: invalid token (see logs for details)", code=INVALID_PARAMS
    )


# The JSON-RPC method each Backend call stands for.
_METHOD_OF = {
    "node_info": "getinfo",
    "channels": "listpeerchannels",
    "gossip": "listchannels",
    "forwards": "listforwards",
    "set_policy": "setchannel",
    "get_policy": "listpeerchannels",
}


class Crash(BaseException):
    """The process ends here (raised by an injected crash; nothing in lnopt catches it)."""


@dataclass
class _SetPolicyFault:
    nth: int  # 1 = the next call
    error: BackendError
    after_apply: bool  # the node acted before the error (e.g. the answer timed out)


@dataclass
class _GetPolicyFault:
    nth: int  # 1 = the next call
    times: int  # consecutive calls that fail from there
    error: BackendError


@dataclass
class _Misreport:
    policy: ChannelPolicy
    after: int  # calls that still tell the truth


@dataclass
class _Crash:
    method: str
    nth: int
    after_apply: bool


class MemoryBackend(Backend):
    """An in-memory node; see the module docstring for the behaviour it follows."""

    name = "memory"

    def __init__(
        self,
        channels: Sequence[Channel] = (),
        *,
        forwards: Iterable[Forward] = (),
        extra_gossip: Iterable[dict[str, Any]] = (),
        node_id: str = OUR_NODE,
        alias: str = "memory",
        block_height: int = BLOCK_HEIGHT,
    ) -> None:
        self._channels = {ch.short_channel_id: ch for ch in channels}
        self.policies: dict[str, ChannelPolicy] = {
            ch.short_channel_id: ch.our_policy for ch in channels
        }
        self._extra_gossip = list(extra_gossip)
        self._forwards: list[Forward] = []
        self._info = NodeInfo(node_id=node_id, alias=alias, block_height=block_height)
        self.unavailable = False
        self.set_policy_calls: list[tuple[str, ChannelPolicy]] = []
        self.get_policy_calls = 0
        self._set_faults: list[_SetPolicyFault] = []
        self._get_faults: list[_GetPolicyFault] = []
        self._crashes: list[_Crash] = []
        self._misreports: dict[str, _Misreport] = {}
        self._garbled: set[str] = set()
        for forward in forwards:
            self.add_forward(forward)

    # --- test controls ----------------------------------------------------------------------

    def add_forward(self, forward: Forward) -> Forward:
        """Record a forward, numbering it like lightningd's ``created_index`` if it is not."""
        if forward.created_index is None:
            last = self._forwards[-1].created_index if self._forwards else 0
            forward = dataclasses.replace(forward, created_index=(last or 0) + 1)
        self._forwards.append(forward)
        return forward

    def fail_set_policy(
        self, nth: int = 1, *, error: BackendError | None = None, after_apply: bool = False
    ) -> None:
        """Make the ``nth`` next ``set_policy`` call raise ``error`` (BackendRefused by default)."""
        fault = error if error is not None else BackendRefused("injected failure", code=-1)
        self._set_faults.append(_SetPolicyFault(nth, fault, after_apply))

    def fail_get_policy(
        self, nth: int = 1, *, times: int = 1, error: BackendError | None = None
    ) -> None:
        """Make ``times`` consecutive ``get_policy`` calls, from the ``nth`` next one, raise
        ``error`` (BackendUnavailable by default: the read timed out)."""
        fault = error if error is not None else BackendUnavailable("injected read timeout")
        self._get_faults.append(_GetPolicyFault(nth, times, fault))

    def misreport(
        self, short_channel_id: str, policy: ChannelPolicy | None, *, after: int = 0
    ) -> None:
        """Make ``get_policy`` report ``policy`` for a channel once ``after`` more calls for it
        have told the truth (None: report the truth again)."""
        if policy is None:
            self._misreports.pop(short_channel_id, None)
        else:
            self._misreports[short_channel_id] = _Misreport(policy, after)

    def garble(self, method: str) -> None:
        """Make the calls standing for the JSON-RPC ``method`` (``getinfo``,
        ``listpeerchannels``, ``listchannels``, ``listforwards``, ``setchannel``) fail as an
        answer of the wrong shape does."""
        if method not in _METHOD_OF.values():
            raise ValueError(f"no call stands for {method!r}; known: {sorted(_METHOD_OF.values())}")
        self._garbled.add(method)

    def crash_on(self, method: str, nth: int = 1, *, after_apply: bool = False) -> None:
        """Make the ``nth`` next call of ``method`` (``set_policy`` or ``get_policy``) raise
        :class:`Crash`, before or after it takes effect."""
        self._crashes.append(_Crash(method, nth, after_apply))

    def clear_faults(self) -> None:
        self._set_faults.clear()
        self._get_faults.clear()
        self._crashes.clear()
        self._misreports.clear()
        self._garbled.clear()
        self.unavailable = False

    def update_channel(self, short_channel_id: str, **fields: Any) -> None:
        """Change what the node reports of a channel (balance, connection), as time passes."""
        self._channels[short_channel_id] = dataclasses.replace(
            self._channels[short_channel_id], **fields
        )

    def true_policy(self, short_channel_id: str) -> ChannelPolicy:
        """The policy in force, whatever faults are injected."""
        return self.policies[short_channel_id]

    # --- Backend ----------------------------------------------------------------------------

    def node_info(self) -> NodeInfo:
        self._reachable("node_info")
        return self._info

    def channels(self) -> Sequence[Channel]:
        self._reachable("channels")
        return [
            dataclasses.replace(ch, our_policy=self.policies[scid])
            for scid, ch in self._channels.items()
        ]

    def gossip(self) -> NetworkGraph:
        self._reachable("gossip")
        return graph_for(self.channels(), self._extra_gossip)

    def forwards(self, since_index: int | None = None, limit: int = 10_000) -> ForwardPage:
        self._reachable("forwards")
        start = since_index or 0
        page = tuple(f for f in self._forwards if (f.created_index or 0) >= start)[:limit]
        next_index = (page[-1].created_index or 0) + 1 if page else start
        return ForwardPage(forwards=page, next_index=next_index)

    def set_policy(self, short_channel_id: str, policy: ChannelPolicy) -> ChannelPolicy:
        self._reachable("set_policy")
        self.set_policy_calls.append((short_channel_id, policy))
        crash = self._due_crash("set_policy")
        if crash is not None and not crash.after_apply:
            raise Crash(f"crash before set_policy {short_channel_id}")
        fault = self._due_set_fault()
        if fault is not None and not fault.after_apply:
            raise fault.error
        self._check_settable(short_channel_id, policy)
        current = self.policies[short_channel_id]
        self.policies[short_channel_id] = current.with_fees(
            base_fee_msat=policy.base_fee_msat, fee_ppm=policy.fee_ppm
        )
        if crash is not None:
            raise Crash(f"crash after set_policy {short_channel_id}")
        if fault is not None:
            raise fault.error
        return self.policies[short_channel_id]

    def get_policy(self, short_channel_id: str) -> ChannelPolicy:
        self._reachable("get_policy")
        self.get_policy_calls += 1
        if self._due_crash("get_policy") is not None:
            raise Crash(f"crash in get_policy {short_channel_id}")
        fault = self._due_get_fault()
        if fault is not None:
            raise fault.error
        if short_channel_id not in self.policies:
            raise BackendRefused(
                f"Core Lightning has no channel {short_channel_id}", code=INVALID_PARAMS
            )
        lie = self._misreports.get(short_channel_id)
        if lie is None or lie.after > 0:
            if lie is not None:
                lie.after -= 1
            return self.policies[short_channel_id]
        return lie.policy

    # --- internals --------------------------------------------------------------------------

    def _reachable(self, call: str) -> None:
        method = _METHOD_OF[call]
        if self.unavailable:
            raise BackendUnavailable(f"memory node cannot be reached ({method}): injected")
        if method in self._garbled:
            raise BackendError(f"{method}: the answer is not of the documented shape (injected)")

    def _check_settable(self, short_channel_id: str, policy: ChannelPolicy) -> None:
        if short_channel_id not in self.policies:
            raise _bad_param("id", "Short channel id not found")
        if policy.base_fee_msat < 0:
            raise _bad_param("feebase", "should be a millisatoshi amount")
        if policy.fee_ppm < 0:
            raise _bad_param("feeppm", "should be an integer")

    def _due_set_fault(self) -> _SetPolicyFault | None:
        due = None
        for fault in self._set_faults:
            fault.nth -= 1
            if fault.nth == 0 and due is None:
                due = fault
        self._set_faults = [f for f in self._set_faults if f.nth > 0]
        return due

    def _due_get_fault(self) -> _GetPolicyFault | None:
        due = None
        for fault in self._get_faults:
            fault.nth -= 1
            if fault.nth <= 0 and due is None:
                due = fault
                fault.times -= 1
        self._get_faults = [f for f in self._get_faults if f.nth > 0 or f.times > 0]
        return due

    def _due_crash(self, method: str) -> _Crash | None:
        due = None
        for crash in self._crashes:
            if crash.method == method:
                crash.nth -= 1
                if crash.nth == 0 and due is None:
                    due = crash
        self._crashes = [c for c in self._crashes if c.nth > 0]
        return due
