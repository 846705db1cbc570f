"""The node behind the test LNbits server: its state, kept in one JSON file.

The file is the node's own truth and the tests' control channel. LNbits' node object (in the
server process, see ``memory_node.py``) reads it on every call and writes each fee change to it;
the tests read it to learn what the node applies now and write it to seed channels or to ask
the server to die at a given fee change. Every access holds an exclusive ``flock`` on a lock file
beside it, and a write replaces the file atomically, so a server killed at any moment leaves
either the old state or the new one. Plain standard library: both the LNbits venv and lnopt's
import it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STATE_FILE = "memory-node.json"


@contextlib.contextmanager
def locked_state(folder: Path) -> Iterator[dict[str, Any]]:
    """The node's state under the lock; changes to the dict are written back on exit."""
    path = folder / STATE_FILE
    with open(folder / (STATE_FILE + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
            before = json.dumps(state, sort_keys=True)
            yield state
            if json.dumps(state, sort_keys=True) != before:
                temporary = path.with_suffix(".tmp")
                temporary.write_text(json.dumps(state))
                with open(temporary, "rb") as written:
                    os.fsync(written.fileno())
                temporary.replace(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_state(folder: Path) -> dict[str, Any]:
    with locked_state(folder) as state:
        return json.loads(json.dumps(state))


def seed_node(
    folder: Path,
    *,
    node_id: str,
    alias: str,
    blockheight: int,
    channels: list[dict[str, Any]],
    fees_collected_msat: int = 0,
) -> None:
    """Replace the node: its identity and its channels (see ``channel`` for one's fields)."""
    with locked_state(folder) as state:
        state.clear()
        state.update(
            {
                "id": node_id,
                "alias": alias,
                "color": "3399ff",
                "blockheight": blockheight,
                "fees_collected_msat": fees_collected_msat,
                "onchain_msat": 0,
                "channels": channels,
                "die_on_set": None,
                "sets": 0,
                "set_log": [],
            }
        )


def channel(
    *,
    short_channel_id: str,
    peer_id: str,
    total_msat: int,
    to_us_msat: int,
    fee_base_msat: int,
    fee_ppm: int,
    state: str = "CHANNELD_NORMAL",
    connected: bool = True,
    alias: str | None = None,
) -> dict[str, Any]:
    """One channel in Core Lightning's terms (``listpeerchannels``): the 32-byte channel id is
    derived from the short channel id, and each side keeps a 1% reserve."""
    block, tx, out = (int(part) for part in short_channel_id.split("x"))
    return {
        "channel_id": f"{block:024x}{tx:024x}{out:016x}",
        "short_channel_id": short_channel_id,
        "funding_txid": f"{block:032x}{tx:032x}",
        "funding_outnum": out,
        "peer_id": peer_id,
        "peer_connected": connected,
        "alias": alias,
        "state": state,
        "total_msat": total_msat,
        "to_us_msat": to_us_msat,
        "our_reserve_msat": total_msat // 100,
        "their_reserve_msat": total_msat // 100,
        "fee_base_msat": fee_base_msat,
        "fee_proportional_millionths": fee_ppm,
        "minimum_htlc_out_msat": 1000,
        "maximum_htlc_out_msat": total_msat * 99 // 100,
    }


def spendable_msat(item: dict[str, Any]) -> int:
    """Core Lightning's ``spendable_msat``: what we hold above our reserve."""
    return max(0, int(item["to_us_msat"]) - int(item["our_reserve_msat"]))


def receivable_msat(item: dict[str, Any]) -> int:
    """Core Lightning's ``receivable_msat``: what the peer holds above its reserve."""
    their_msat = int(item["total_msat"]) - int(item["to_us_msat"])
    return max(0, their_msat - int(item["their_reserve_msat"]))
