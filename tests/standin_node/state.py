"""The stand-in node's state (our node, its channels, gossip, nodes and forwards) and a
realistic one to start from (:func:`build_node`)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FINAL_STATUSES = ("settled", "failed", "local_failed")
FAILREASONS = {
    4103: "WIRE_TEMPORARY_CHANNEL_FAILURE",
    16399: "WIRE_INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS",
}


@dataclass(frozen=True)
class Flavour:
    """Which Core Lightning release the stand-in imitates."""

    version: str
    msat_strings: bool  # every *_msat a "1234msat" string (before v23.05)
    forward_paging: bool  # listforwards index/start/limit and created_index (v23.11)
    peerchannel_scid_filter: bool  # listpeerchannels short_channel_id (v25.05)
    peer_updates: bool  # listpeerchannels updates{local,remote} (v24.02)


MODERN = Flavour("v25.09", False, True, True, True)
LEGACY = Flavour("v23.08", True, False, False, False)


@dataclass
class PeerChannel:
    """One of the node's channels; ``remote`` is the peer's last channel_update toward us."""

    short_channel_id: str | None
    peer_id: str
    channel_id: str
    state: str = "CHANNELD_NORMAL"
    opener: str = "local"
    private: bool = False
    peer_connected: bool = True
    total_msat: int = 5_000_000_000
    to_us_msat: int = 2_500_000_000
    fee_base_msat: int = 1000
    fee_ppm: int = 100
    htlc_min_msat: int = 1000
    htlc_max_msat: int = 4_950_000_000
    cltv_delta: int = 34
    remote: dict[str, int] | None = None
    state_changes: list[dict[str, str]] = field(default_factory=list)
    next_htlc_id: int = 0

    def update(self) -> dict[str, int]:
        """Our side's channel_update fields, as ``updates.local`` shows them."""
        return {
            "htlc_minimum_msat": self.htlc_min_msat,
            "htlc_maximum_msat": self.htlc_max_msat,
            "cltv_expiry_delta": self.cltv_delta,
            "fee_base_msat": self.fee_base_msat,
            "fee_proportional_millionths": self.fee_ppm,
        }


@dataclass
class NodeState:
    """Everything the stand-in knows: our node, our channels, gossip, nodes and forwards."""

    node_id: str
    alias: str = "standin"
    blockheight: int = 870_000
    network: str = "bitcoin"
    channels: list[PeerChannel] = field(default_factory=list)
    gossip: list[dict[str, Any]] = field(default_factory=list)  # other channels, modern shape
    nodes: list[dict[str, Any]] = field(default_factory=list)
    forwards: list[dict[str, Any]] = field(default_factory=list)
    updated_index: int = 0

    def channel(self, short_channel_id: str) -> PeerChannel:
        for channel in self.channels:
            if channel.short_channel_id == short_channel_id:
                return channel
        raise KeyError(short_channel_id)

    def add_forward(
        self,
        in_channel: str,
        out_channel: str,
        out_msat: int,
        *,
        status: str = "settled",
        received_time: float = 1_760_000_000.0,
    ) -> dict[str, Any]:
        """Record a forward, its fee by the out channel's policy, with the next
        ``created_index``. ``offered`` stays open (:meth:`resolve_forward` ends it); a settled
        or failed one was offered and then resolved, which gave it an ``updated_index``; a
        ``local_failed`` one failed before it was offered, so it never changed and has none
        (as lightningd records them). A settled one moves balances."""
        source, sink = self.channel(in_channel), self.channel(out_channel)
        fee_msat = sink.fee_base_msat + out_msat * sink.fee_ppm // 1_000_000
        forward: dict[str, Any] = {"created_index": len(self.forwards) + 1}
        forward.update(in_channel=in_channel, in_htlc_id=source.next_htlc_id)
        forward.update(out_channel=out_channel, in_msat=out_msat + fee_msat, status="offered")
        forward.update(style="tlv", received_time=received_time)
        source.next_htlc_id += 1
        if status != "local_failed":
            forward.update(out_htlc_id=sink.next_htlc_id, out_msat=out_msat, fee_msat=fee_msat)
            sink.next_htlc_id += 1
        self.forwards.append(forward)
        if status == "local_failed":
            self._finish(forward, status, received_time)
        elif status != "offered":
            self.resolve_forward(forward["created_index"], status)
        return forward

    def resolve_forward(
        self, created_index: int, status: str, *, resolved_time: float | None = None
    ) -> dict[str, Any]:
        """The offered forward ``created_index`` ends with ``status``: as lightningd updates it,
        it takes the next value of the node-wide ``updated_index`` counter."""
        forward = next(f for f in self.forwards if f["created_index"] == created_index)
        if forward["status"] != "offered" or status not in FINAL_STATUSES:
            raise ValueError(f"cannot resolve a {forward['status']} forward as {status}")
        self.updated_index += 1
        forward["updated_index"] = self.updated_index
        when = forward["received_time"] + 1.5 if resolved_time is None else resolved_time
        self._finish(forward, status, when)
        return forward

    def _finish(self, forward: dict[str, Any], status: str, resolved_time: float) -> None:
        forward["status"] = status
        if status in ("settled", "failed"):
            forward["resolved_time"] = resolved_time
        if status in ("failed", "local_failed"):
            code = 4103 if status == "local_failed" else 16399
            forward.update(failcode=code, failreason=FAILREASONS[code])
        if status == "settled":
            self.channel(forward["in_channel"]).to_us_msat += forward["in_msat"]
            self.channel(forward["out_channel"]).to_us_msat -= forward["out_msat"]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeState:
        fields = dict(data)
        channels = [PeerChannel(**item) for item in fields.pop("channels")]
        return cls(channels=channels, **fields)


def digest(*parts: object) -> str:
    """A hex SHA-256 of the parts: stable ids for nodes, channels and funding outputs."""
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def gossip_direction(
    scid: str, source: str, destination: str, capacity_msat: int, update: dict[str, int]
) -> dict[str, Any]:
    """One ``listchannels`` item (modern shape) from a channel_update's fields."""
    item: dict[str, Any] = {"source": source, "destination": destination}
    flag = 0 if source < destination else 1
    item.update(short_channel_id=scid, direction=flag, public=True, amount_msat=capacity_msat)
    item.update(message_flags=1, channel_flags=flag, active=True, last_update=1_760_000_000)
    item.update(base_fee_millisatoshi=update["fee_base_msat"])
    item.update(fee_per_millionth=update["fee_proportional_millionths"])
    item.update(delay=update["cltv_expiry_delta"], htlc_minimum_msat=update["htlc_minimum_msat"])
    item.update(htlc_maximum_msat=update["htlc_maximum_msat"], features="")
    return item


# --- a realistic node ------------------------------------------------------------------------


def build_node(
    n_channels: int = 10, *, seed: int = 7, snapshot: Path | None = None, forwards: int = 0
) -> NodeState:
    """Our node with ``n_channels`` open channels to peers that are part of a gossip graph.

    The graph is generated (fees and capacities drawn from the 2025 snapshot's distributions,
    see ``/work/shared/data/README.md``) or, with ``snapshot``, a slice of a real
    ``listchannels`` file: every direction touching a peer, the peers picked among its nodes
    with 2 to 200 channels. ``forwards`` settled forwards are then added between our channels.
    """
    rng = random.Random(seed)
    state = NodeState(node_id="02" + digest("us", seed)[:64])
    peers = _real_slice(state, rng, snapshot, n_channels) if snapshot else None
    if peers is None:
        peers = _generated_graph(state, rng, n_channels, seed)
    state.nodes.append(_node_item(state.node_id, state.alias))
    for i, peer in enumerate(peers):
        capacity = _capacity_msat(rng)
        scid = f"{state.blockheight - rng.randint(1_000, 60_000)}x{3000 + i}x{i % 2}"
        locked_in = {"timestamp": "2025-01-02T03:04:05.678Z", "cause": "user"}
        locked_in.update(old_state="CHANNELD_AWAITING_LOCKIN", new_state="CHANNELD_NORMAL")
        locked_in["message"] = "Lockin complete"
        channel = PeerChannel(scid, peer, digest("channel", scid), state_changes=[locked_in])
        channel.opener = rng.choice(("local", "remote"))
        channel.total_msat, channel.to_us_msat = capacity, rng.randint(0, capacity // 1000) * 1000
        channel.fee_ppm = rng.choice((50, 100, 200, 500))
        channel.htlc_max_msat = capacity * 99 // 100
        channel.remote = _random_update(rng, capacity)
        state.channels.append(channel)
    senders = [c for c in state.channels if c.to_us_msat >= 10_000_000]
    for _ in range(forwards if senders and n_channels > 1 else 0):
        sink = rng.choice(senders)
        source = rng.choice([c for c in state.channels if c is not sink])
        amount_msat = rng.randint(1, sink.to_us_msat // 20_000) * 1000
        state.add_forward(source.short_channel_id or "", sink.short_channel_id or "", amount_msat)
    return state


def _node_item(node_id: str, alias: str) -> dict[str, Any]:
    item: dict[str, Any] = {"nodeid": node_id, "alias": alias, "color": "3399ff"}
    item.update(last_timestamp=1_760_000_000, features="88a0880a8a59a1", addresses=[])
    return item


def _random_update(rng: random.Random, capacity_msat: int) -> dict[str, int]:
    """Channel_update fields drawn from the 2025 snapshot's fee distributions."""
    return {
        "fee_base_msat": rng.choice((0, 0, 0, 1000, 1000, 1000, 837)),
        "fee_proportional_millionths": rng.choice((0, 1, 10, 50, 100, 100, 200, 500, 2000)),
        "cltv_expiry_delta": rng.choice((34, 40, 80, 80, 144)),
        "htlc_minimum_msat": 1000,
        "htlc_maximum_msat": capacity_msat * 99 // 100,
    }


def _capacity_msat(rng: random.Random) -> int:
    """A capacity around the snapshot's median of 2M sat, within 100k sat and 200M sat."""
    return int(min(2e8, max(1e5, rng.lognormvariate(14.5, 1.4)))) * 1000


def _generated_graph(state: NodeState, rng: random.Random, n_channels: int, seed: int) -> list[str]:
    others = [("03" if n % 2 else "02") + digest(seed, n)[:64] for n in range(3 * n_channels + 30)]
    state.nodes.extend(_node_item(node, f"node-{n}") for n, node in enumerate(others))
    for n in range(len(others) * 3):
        a, b = rng.sample(others, 2)
        scid = f"{rng.randint(600_000, state.blockheight - 6)}x{n}x0"
        capacity = _capacity_msat(rng)
        for source, sink in ((a, b), (b, a)):
            update = _random_update(rng, capacity)
            state.gossip.append(gossip_direction(scid, source, sink, capacity, update))
    return others[:n_channels]


def _real_slice(state: NodeState, rng: random.Random, snapshot: Path, n: int) -> list[str]:
    with gzip.open(snapshot, "rt", encoding="utf-8") as handle:
        document = json.load(handle)
    items = document["channels"] if isinstance(document, dict) else document
    degree: dict[str, int] = {}
    for item in items:
        degree[item["source"]] = degree.get(item["source"], 0) + 1
    peers = rng.sample(sorted(node for node, d in degree.items() if 2 <= d <= 200), n)
    chosen = set(peers)
    state.gossip = [i for i in items if i["source"] in chosen or i["destination"] in chosen]
    state.nodes.extend(_node_item(peer, f"peer-{k}") for k, peer in enumerate(peers))
    return peers
