"""The stand-in node's state and LND's answers to it, in LND's REST shapes.

Shapes follow ``lnrpc/lightning.proto`` as LND's REST gateway writes them (protojson with
``UseProtoNames`` and ``EmitUnpopulated``): 64-bit integers as decimal strings, 32-bit ones as
numbers, enums by name, every field present. Amounts are in sat where LND has sat
(``capacity``, ``local_balance``, ...) and msat where it has msat (policies, forwards).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

MIN_TIME_LOCK_DELTA = 18  # routing.MinCLTVDelta
MAX_TIME_LOCK_DELTA = 2016


class LndError(Exception):
    """An RPC error: the gRPC code and LND's message (the gateway maps the code to a status)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


UNKNOWN, INVALID_ARGUMENT, NOT_FOUND = 2, 3, 5


def chan_id_of(block: int, tx: int, out: int) -> int:
    return block << 40 | tx << 16 | out


def scid_of(chan_id: int) -> str:
    return f"{chan_id >> 40}x{chan_id >> 16 & 0xFFFFFF}x{chan_id & 0xFFFF}"


def _pubkey(seed: str) -> str:
    return "02" + hashlib.sha256(seed.encode()).hexdigest()


def _txid(seed: str) -> str:
    return hashlib.sha256(("tx" + seed).encode()).hexdigest()


@dataclass(frozen=True)
class Policy:
    """One direction's RoutingPolicy."""

    fee_base_msat: int
    fee_rate_ppm: int
    time_lock_delta: int
    min_htlc_msat: int
    max_htlc_msat: int
    disabled: bool = False
    last_update: int = 0
    inbound_base_msat: int = 0
    inbound_rate_ppm: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "time_lock_delta": self.time_lock_delta,
            "min_htlc": str(self.min_htlc_msat),
            "fee_base_msat": str(self.fee_base_msat),
            "fee_rate_milli_msat": str(self.fee_rate_ppm),
            "disabled": self.disabled,
            "max_htlc_msat": str(self.max_htlc_msat),
            "last_update": self.last_update,
            "custom_records": {},
            "inbound_fee_base_msat": self.inbound_base_msat,
            "inbound_fee_rate_milli_msat": self.inbound_rate_ppm,
        }


@dataclass(frozen=True)
class Edge:
    chan_id: int
    chan_point: str
    node1: str
    node2: str
    capacity_sat: int
    node1_policy: Policy | None
    node2_policy: Policy | None

    def to_json(self) -> dict[str, Any]:
        return {
            "channel_id": str(self.chan_id),
            "chan_point": self.chan_point,
            "last_update": max(
                (p.last_update for p in (self.node1_policy, self.node2_policy) if p), default=0
            ),
            "node1_pub": self.node1,
            "node2_pub": self.node2,
            "capacity": str(self.capacity_sat),
            "node1_policy": None if self.node1_policy is None else self.node1_policy.to_json(),
            "node2_policy": None if self.node2_policy is None else self.node2_policy.to_json(),
            "custom_records": {},
            "auth_proof": None,
        }


@dataclass(frozen=True)
class OurChannel:
    chan_id: int
    chan_point: str
    peer: str
    peer_alias: str
    capacity_sat: int
    local_sat: int
    active: bool
    private: bool
    initiator: bool
    commit_fee_sat: int = 2_500

    @property
    def remote_sat(self) -> int:
        fee = self.commit_fee_sat if self.initiator else 0
        return max(0, self.capacity_sat - self.local_sat - fee)

    def to_json(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "remote_pubkey": self.peer,
            "channel_point": self.chan_point,
            "chan_id": str(self.chan_id),
            "capacity": str(self.capacity_sat),
            "local_balance": str(self.local_sat),
            "remote_balance": str(self.remote_sat),
            "commit_fee": str(self.commit_fee_sat if self.initiator else 0),
            "commit_weight": "772",
            "fee_per_kw": "2500",
            "unsettled_balance": "0",
            "total_satoshis_sent": "0",
            "total_satoshis_received": "0",
            "num_updates": "42",
            "pending_htlcs": [],
            "csv_delay": 144,
            "private": self.private,
            "initiator": self.initiator,
            "chan_status_flags": "ChanStatusDefault",
            "local_chan_reserve_sat": "0",
            "remote_chan_reserve_sat": "0",
            "static_remote_key": False,
            "commitment_type": "ANCHORS",
            "lifetime": "86400",
            "uptime": "86000",
            "close_address": "",
            "push_amount_sat": "0",
            "thaw_height": 0,
            "local_constraints": None,
            "remote_constraints": None,
            "alias_scids": [],
            "zero_conf": False,
            "zero_conf_confirmed_scid": "0",
            "peer_alias": self.peer_alias,
            "peer_scid_alias": "0",
            "memo": "",
            "custom_channel_data": "",
        }


@dataclass(frozen=True)
class ForwardingEvent:
    timestamp_ns: int
    chan_id_in: int
    chan_id_out: int
    amt_in_msat: int
    amt_out_msat: int
    incoming_htlc_id: int
    outgoing_htlc_id: int

    def to_json(self) -> dict[str, Any]:
        fee_msat = self.amt_in_msat - self.amt_out_msat
        return {
            "timestamp": str(self.timestamp_ns // 1_000_000_000),
            "chan_id_in": str(self.chan_id_in),
            "chan_id_out": str(self.chan_id_out),
            "amt_in": str(self.amt_in_msat // 1000),
            "amt_out": str(self.amt_out_msat // 1000),
            "fee": str(fee_msat // 1000),
            "fee_msat": str(fee_msat),
            "amt_in_msat": str(self.amt_in_msat),
            "amt_out_msat": str(self.amt_out_msat),
            "timestamp_ns": str(self.timestamp_ns),
            "peer_alias_in": "",
            "peer_alias_out": "",
            "incoming_htlc_id": str(self.incoming_htlc_id),
            "outgoing_htlc_id": str(self.outgoing_htlc_id),
        }


@dataclass
class NodeState:
    """Everything the stand-in node knows; mutated only under ``lock``."""

    pubkey: str
    alias: str
    block_height: int
    channels: dict[int, OurChannel]
    edges: dict[int, Edge]
    aliases: dict[str, str]
    forwards: list[ForwardingEvent]
    policy_updates: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- reads -----------------------------------------------------------------------------

    def getinfo(self) -> dict[str, Any]:
        active = sum(1 for c in self.channels.values() if c.active)
        return {
            "version": "0.20.0-beta commit=v0.20.0-beta",
            "commit_hash": "0" * 40,
            "identity_pubkey": self.pubkey,
            "alias": self.alias,
            "color": "#3399ff",
            "num_pending_channels": 0,
            "num_active_channels": active,
            "num_inactive_channels": len(self.channels) - active,
            "num_peers": len({c.peer for c in self.channels.values()}),
            "block_height": self.block_height,
            "block_hash": "00" * 32,
            "best_header_timestamp": str(int(time.time())),
            "synced_to_chain": True,
            "synced_to_graph": True,
            "testnet": False,
            "chains": [{"chain": "bitcoin", "network": "mainnet"}],
            "uris": [],
            "features": {},
            "require_htlc_interceptor": False,
            "store_final_htlc_resolutions": False,
        }

    def list_channels(self) -> dict[str, Any]:
        with self.lock:
            return {"channels": [c.to_json() for c in self.channels.values()]}

    def our_policy(self, chan_id: int) -> Policy:
        edge = self.edges[chan_id]
        policy = edge.node1_policy if edge.node1 == self.pubkey else edge.node2_policy
        assert policy is not None
        return policy

    def fee_report(self) -> dict[str, Any]:
        with self.lock:
            fees = []
            for channel in self.channels.values():
                policy = self.our_policy(channel.chan_id)
                fees.append(
                    {
                        "chan_id": str(channel.chan_id),
                        "channel_point": channel.chan_point,
                        "base_fee_msat": str(policy.fee_base_msat),
                        "fee_per_mil": str(policy.fee_rate_ppm),
                        "fee_rate": policy.fee_rate_ppm / 1_000_000,
                        "inbound_base_fee_msat": policy.inbound_base_msat,
                        "inbound_fee_per_mil": policy.inbound_rate_ppm,
                    }
                )
            day_ns = 86_400 * 10**9
            now_ns = time.time_ns()

            def fee_sum(days: int) -> str:
                since = now_ns - days * day_ns
                return str(
                    sum(
                        (f.amt_in_msat - f.amt_out_msat) // 1000
                        for f in self.forwards
                        if f.timestamp_ns >= since
                    )
                )

            return {
                "channel_fees": fees,
                "day_fee_sum": fee_sum(1),
                "week_fee_sum": fee_sum(7),
                "month_fee_sum": fee_sum(30),
            }

    def describe_graph(self, include_unannounced: bool) -> dict[str, Any]:
        with self.lock:
            edges = [
                e.to_json()
                for e in self.edges.values()
                if include_unannounced
                or e.chan_id not in self.channels
                or not self.channels[e.chan_id].private
            ]
            nodes = [
                {
                    "last_update": 1_700_000_000,
                    "pub_key": pub,
                    "alias": alias,
                    "addresses": [],
                    "color": "#000000",
                    "features": {},
                    "custom_records": {},
                }
                for pub, alias in self.aliases.items()
            ]
            return {"nodes": nodes, "edges": edges}

    def chan_info(self, chan_id: int) -> dict[str, Any]:
        with self.lock:
            edge = self.edges.get(chan_id)
            if edge is None:
                raise LndError(NOT_FOUND, "edge not found")
            return edge.to_json()

    def forwarding_history(
        self, start_s: int, end_s: int, index_offset: int, num_max_events: int
    ) -> dict[str, Any]:
        """``ForwardingLog.Query``: events in [start, end], skipping ``index_offset`` of them."""
        with self.lock:
            start_ns, end_ns = start_s * 10**9, end_s * 10**9
            window = [f for f in self.forwards if start_ns <= f.timestamp_ns <= end_ns]
            page = window[index_offset : index_offset + num_max_events]
            return {
                "forwarding_events": [f.to_json() for f in page],
                "last_offset_index": index_offset + len(page),
            }

    # --- changes ---------------------------------------------------------------------------

    def update_policy(
        self,
        chan_point: str,
        *,
        base_fee_msat: int,
        fee_rate_ppm: int,
        time_lock_delta: int,
        max_htlc_msat: int,
        min_htlc_msat: int | None,
        inbound: tuple[int, int] | None,
    ) -> list[dict[str, Any]]:
        """``localchans.Manager.UpdatePolicy`` for one channel point; the failed updates."""
        if time_lock_delta < MIN_TIME_LOCK_DELTA:
            raise LndError(
                UNKNOWN,
                f"time lock delta of {time_lock_delta} is too small, minimum supported is "
                f"{MIN_TIME_LOCK_DELTA}",
            )
        if time_lock_delta > MAX_TIME_LOCK_DELTA:
            raise LndError(
                UNKNOWN,
                f"time lock delta of {time_lock_delta} is too big, maximum supported is "
                f"{MAX_TIME_LOCK_DELTA}",
            )
        if inbound is not None and (inbound[0] > 0 or inbound[1] > 0):
            which = "base fee msat" if inbound[0] > 0 else "fee rate ppm"
            value = inbound[0] if inbound[0] > 0 else inbound[1]
            raise LndError(
                UNKNOWN, f"positive values for inbound {which} are not supported: {value}"
            )
        with self.lock:
            channel = next((c for c in self.channels.values() if c.chan_point == chan_point), None)
            if channel is None:
                return [_failed(chan_point, "UPDATE_FAILURE_NOT_FOUND", "not found")]
            if max_htlc_msat and max_htlc_msat > channel.capacity_sat * 1000:
                return [
                    _failed(
                        chan_point,
                        "UPDATE_FAILURE_INVALID_PARAMETER",
                        f"max_htlc({max_htlc_msat}) must be less than or equal to "
                        f"capacity({channel.capacity_sat * 1000})",
                    )
                ]
            old = self.our_policy(channel.chan_id)
            new = replace(
                old,
                fee_base_msat=base_fee_msat,
                fee_rate_ppm=fee_rate_ppm,
                time_lock_delta=time_lock_delta,
                max_htlc_msat=max_htlc_msat or old.max_htlc_msat,
                min_htlc_msat=old.min_htlc_msat if min_htlc_msat is None else min_htlc_msat,
                inbound_base_msat=old.inbound_base_msat if inbound is None else inbound[0],
                inbound_rate_ppm=old.inbound_rate_ppm if inbound is None else inbound[1],
                last_update=max(old.last_update + 1, int(time.time())),
            )
            edge = self.edges[channel.chan_id]
            if edge.node1 == self.pubkey:
                self.edges[channel.chan_id] = replace(edge, node1_policy=new)
            else:
                self.edges[channel.chan_id] = replace(edge, node2_policy=new)
            return []


def _failed(chan_point: str, reason: str, error: str) -> dict[str, Any]:
    txid, _, index = chan_point.partition(":")
    return {
        "outpoint": {"txid_bytes": "", "txid_str": txid, "output_index": int(index)},
        "reason": reason,
        "update_error": error,
    }


def _far_policy(rng: random.Random, capacity: int, now_s: float) -> Policy:
    return Policy(
        fee_base_msat=rng.choice([0, 1_000]),
        fee_rate_ppm=rng.choice([1, 100, 300, 1_000]),
        time_lock_delta=80,
        min_htlc_msat=1_000,
        max_htlc_msat=capacity * 990,
        last_update=int(now_s) - rng.randrange(86_400 * 30),
    )


def make_node(
    *, channels: int = 100, forwards: int = 3_000, seed: int = 9, now_s: float | None = None
) -> NodeState:
    """A node with ``channels`` channels (a few inactive and private), their peers' own
    channels, and ``forwards`` settled forwards over the last 30 days, oldest first."""
    rng = random.Random(seed)
    now_s = time.time() if now_s is None else now_s
    ours = "03" + hashlib.sha256(f"us-{seed}".encode()).hexdigest()
    aliases = {ours: "standin-lnd"}
    ours_by_id: dict[int, OurChannel] = {}
    edges: dict[int, Edge] = {}
    peers = []
    for i in range(channels):
        peer = _pubkey(f"peer-{seed}-{i}")
        peers.append(peer)
        aliases[peer] = f"peer-{i}"
        chan_id = chan_id_of(700_000 + 1_000 * i + rng.randrange(1_000), rng.randrange(3_000), 0)
        capacity = rng.choice([500_000, 1_000_000, 2_000_000, 5_000_000, 16_000_000])
        point = f"{_txid(f'{seed}-{i}')}:{rng.randrange(2)}"
        channel = OurChannel(
            chan_id=chan_id,
            chan_point=point,
            peer=peer,
            peer_alias=f"peer-{i}",
            capacity_sat=capacity,
            local_sat=rng.randrange(capacity // 20, capacity - capacity // 20),
            active=i % 17 != 5,
            private=i % 23 == 7,
            initiator=i % 3 != 0,
        )
        ours_by_id[chan_id] = channel
        our_policy = Policy(
            fee_base_msat=1_000,
            fee_rate_ppm=rng.choice([1, 50, 100, 250, 500, 1_000]),
            time_lock_delta=rng.choice([40, 80, 144]),
            min_htlc_msat=1_000,
            max_htlc_msat=capacity * 990,
            last_update=int(now_s) - rng.randrange(86_400 * 30),
            inbound_base_msat=-rng.choice([0, 0, 100]),
            inbound_rate_ppm=-rng.choice([0, 0, 25]),
        )
        peer_policy = Policy(
            fee_base_msat=rng.choice([0, 1_000]),
            fee_rate_ppm=rng.choice([0, 10, 100, 500, 2_000]),
            time_lock_delta=rng.choice([40, 80, 144]),
            min_htlc_msat=1_000,
            max_htlc_msat=capacity * 990,
            disabled=not channel.active,
            last_update=int(now_s) - rng.randrange(86_400 * 30),
        )
        node1, node2 = sorted((ours, peer))
        edges[chan_id] = Edge(
            chan_id=chan_id,
            chan_point=point,
            node1=node1,
            node2=node2,
            capacity_sat=capacity,
            node1_policy=our_policy if node1 == ours else peer_policy,
            node2_policy=peer_policy if node1 == ours else our_policy,
        )
    for i, peer in enumerate(peers):  # the peers' own channels, so the graph is not a star
        for j in range(3):
            other = peers[(i + 1 + j * 7) % len(peers)] if j < 2 else _pubkey(f"far-{seed}-{i}")
            aliases.setdefault(other, f"far-{i}")
            if other == peer:
                continue
            chan_id = chan_id_of(600_000 + 300 * i + 97 * j, 7 + j, 1)
            capacity = rng.choice([1_000_000, 3_000_000, 10_000_000])
            node1, node2 = sorted((peer, other))

            edges[chan_id] = Edge(
                chan_id,
                f"{_txid(f'far-{seed}-{i}-{j}')}:1",
                node1,
                node2,
                capacity,
                _far_policy(rng, capacity, now_s),
                _far_policy(rng, capacity, now_s),
            )
    chan_ids = list(ours_by_id)
    start_ns = int((now_s - 30 * 86_400) * 1e9)
    stamps = sorted(rng.randrange(start_ns, int(now_s * 1e9)) for _ in range(forwards))
    events: list[ForwardingEvent] = []
    htlc_ids: dict[int, int] = {}
    for stamp in stamps:
        chan_in, chan_out = rng.sample(chan_ids, 2)
        amt_out = rng.randrange(10_000, 5_000_000_000)
        policy = (
            edges[chan_out].node1_policy
            if edges[chan_out].node1 == ours
            else (edges[chan_out].node2_policy)
        )
        assert policy is not None
        fee = policy.fee_base_msat + amt_out * policy.fee_rate_ppm // 1_000_000
        htlc_in = htlc_ids[chan_in] = htlc_ids.get(chan_in, -1) + 1
        htlc_out = htlc_ids[chan_out] = htlc_ids.get(chan_out, -1) + 1
        events.append(
            ForwardingEvent(stamp, chan_in, chan_out, amt_out + fee, amt_out, htlc_in, htlc_out)
        )
    return NodeState(
        pubkey=ours,
        alias="standin-lnd",
        block_height=900_000,
        channels=ours_by_id,
        edges=edges,
        aliases=aliases,
        forwards=events,
    )
