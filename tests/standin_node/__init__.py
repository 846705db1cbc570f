"""A test stand-in for lightningd's JSON-RPC: a fake Core Lightning node on a unix socket.

It speaks the real ``lightning-rpc`` protocol as pyln-client's ``LightningRpc`` does: JSON-RPC 2.0
requests written back to back on a stream socket, each answer a JSON object followed by
``"\\n\\n"``; several requests may share a connection (pyln's ``notifications`` opt-in first).
Parameters come as a JSON array (positional) or object (named), as lightningd takes them, and
are refused as lightningd's ``param()`` refuses them (code -32602, its wording).

It answers ``getinfo``, ``listpeerchannels [id] [short_channel_id]``, ``listchannels
[short_channel_id] [source] [destination]``, ``listnodes [id]``, ``listforwards [status]
[in_channel] [out_channel] [index] [start] [limit]`` and ``setchannel id [feebase] [feeppm]
[htlcmin] [htlcmax] [enforcedelay] [ignorefeelimits]``, following
``/work/shared/reference/core-lightning.md`` and Core Lightning's v24+ ``doc/schemas`` to the
letter: every field it sends has the name, type and presence rules given there (its error
messages are lightningd's own). It leaves out fields lnopt never reads (``feerate``,
``funding``, ``channel_type``, HTLC details).

A :class:`Flavour` says which release it imitates: :data:`MODERN` (v25.09: integer amounts,
``updates``, paged ``listforwards``, ``listpeerchannels short_channel_id``) or :data:`LEGACY`
(v23.08: none of those, and every ``*_msat`` a ``"…msat"`` string as before v23.05, the worst
case a plugin meets).

Forwards carry ``created_index`` and, once their status changed (an ``offered`` forward settled
or failed), ``updated_index``, the next value of one node-wide counter; ``listforwards
index=updated`` lists them in that order, as lightningd does (a forward that never changed, such
as one failed before it was offered, has no ``updated_index`` and is only listed from
``start=0``). The legacy flavour has neither index and no paging.

Tests read :attr:`StandinNode.calls` (each call with its parameters as sent), change the state
(:class:`NodeState`, e.g. :meth:`StandinNode.add_forward` and
:meth:`StandinNode.resolve_forward`) and hook calls with
:meth:`StandinNode.on_call`, before or after the node acts: to kill a process, answer an error
or garbage, or drop the connection. It runs in a thread of the test or as its own process::

    python -m tests.standin_node --socket PATH --state FILE [--channels N] [--legacy] [--calls FILE]

(the state file is read if present, else built; it is rewritten after every change, and every
call is appended to the calls file as a JSON line).

What it does not do: route payments or move money by itself (a test adds forwards, which move
balances), send notifications (``forward_event`` goes over a plugin's stdin, not this socket),
enforce ``enforcedelay``, honour ``filter`` or ``check``, filter by ``channel_id``, or answer any
other method (-32601, "Unknown command").
"""

from tests.standin_node.params import INVALID_PARAMS, U32_MAX, RpcFailure, bad_param
from tests.standin_node.server import Call, Close, Hook, Phase, Reply, StandinNode, render_answer
from tests.standin_node.state import (
    LEGACY,
    MODERN,
    Flavour,
    NodeState,
    PeerChannel,
    build_node,
)

__all__ = [
    "INVALID_PARAMS",
    "LEGACY",
    "MODERN",
    "U32_MAX",
    "Call",
    "Close",
    "Flavour",
    "Hook",
    "NodeState",
    "PeerChannel",
    "Phase",
    "Reply",
    "RpcFailure",
    "StandinNode",
    "bad_param",
    "build_node",
    "render_answer",
]
