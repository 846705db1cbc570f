"""The methods the stand-in answers, each over its :class:`NodeState` as lightningd does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.standin_node.params import (
    INVALID_PARAMS,
    U32_MAX,
    RpcFailure,
    bad_param,
    msat_param,
    named_params,
    u32_param,
    u64_param,
)
from tests.standin_node.state import Flavour, NodeState, PeerChannel, digest, gossip_direction

SETTABLE = (
    "CHANNELD_NORMAL",
    "CHANNELD_AWAITING_SPLICE",
    "CHANNELD_AWAITING_LOCKIN",
    "DUALOPEND_AWAITING_LOCKIN",
)
PENDING = ("CHANNELD_AWAITING_LOCKIN", "DUALOPEND_AWAITING_LOCKIN", "DUALOPEND_OPEN_INIT")
ACTIVE = (
    "CHANNELD_NORMAL",
    "CHANNELD_AWAITING_SPLICE",
    "CHANNELD_SHUTTING_DOWN",
    "CLOSINGD_SIGEXCHANGE",
)
STATUSES = ("offered", "settled", "local_failed", "failed")

PARAMS: dict[str, tuple[str, ...]] = {
    "getinfo": (),
    "listpeerchannels": ("id", "short_channel_id"),
    "listchannels": ("short_channel_id", "source", "destination"),
    "listnodes": ("id",),
    "listforwards": ("status", "in_channel", "out_channel", "index", "start", "limit"),
    "setchannel": (
        "id",
        "feebase",
        "feeppm",
        "htlcmin",
        "htlcmax",
        "enforcedelay",
        "ignorefeelimits",
    ),
    "notifications": ("enable",),
}


class NodeMethods:
    """lightningd's methods over :attr:`state`, answered as :attr:`flavour`'s release does."""

    state: NodeState
    flavour: Flavour
    socket_path: Path

    def persist(self) -> None:
        """Save the state after a change (the server writes its state file, if any)."""

    def _dispatch(self, method: str, params: Any) -> dict[str, Any]:
        if method not in PARAMS:
            raise RpcFailure(-32601, f"Unknown command '{method}'")
        names = PARAMS[method]
        if method == "listforwards" and not self.flavour.forward_paging:
            names = names[:3]
        if method == "listpeerchannels" and not self.flavour.peerchannel_scid_filter:
            names = names[:1]
        handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(self, f"_rpc_{method}")
        return handler(named_params(names, params))

    def _rpc_notifications(self, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _rpc_getinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        states = [c.state for c in self.state.channels]
        pending = sum(s in PENDING for s in states)
        active = sum(s in ACTIVE for s in states)
        fees = sum(f.get("fee_msat", 0) for f in self.state.forwards if f["status"] == "settled")
        info: dict[str, Any] = {"id": self.state.node_id, "alias": self.state.alias}
        info.update(color="3399ff", num_peers=len({c.peer_id for c in self.state.channels}))
        info.update(num_pending_channels=pending, num_active_channels=active)
        info.update(num_inactive_channels=len(states) - pending - active, address=[])
        info.update(binding=[], version=self.flavour.version, blockheight=self.state.blockheight)
        info.update(network=self.state.network, fees_collected_msat=fees)
        info["lightning-dir"] = str(self.socket_path.parent)
        return info

    def _rpc_listpeerchannels(self, params: dict[str, Any]) -> dict[str, Any]:
        if "id" in params and "short_channel_id" in params:
            raise RpcFailure(INVALID_PARAMS, "Cannot specify both id and short_channel_id")
        chosen = [
            c
            for c in self.state.channels
            if params.get("id", c.peer_id) == c.peer_id
            and params.get("short_channel_id", c.short_channel_id) == c.short_channel_id
        ]
        counters = self._payment_counters()
        return {"channels": [self.peerchannel_item(c, counters) for c in chosen]}

    def _rpc_listchannels(self, params: dict[str, Any]) -> dict[str, Any]:
        if len(params) > 1:
            message = "Can only specify one of `short_channel_id`, `source` or `destination`"
            raise RpcFailure(INVALID_PARAMS, message)
        key, value = next(iter(params.items()), (None, None))
        return {"channels": [item for item in self._gossip() if key is None or item[key] == value]}

    def _rpc_listnodes(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("id")
        return {"nodes": [n for n in self.state.nodes if wanted in (None, n["nodeid"])]}

    def _rpc_listforwards(self, params: dict[str, Any]) -> dict[str, Any]:
        index = params.get("index")
        if index is None and ("start" in params or "limit" in params):
            raise RpcFailure(INVALID_PARAMS, "Can only specify start or limit with index")
        if index not in (None, "created", "updated"):
            raise bad_param("index", "should be one of created or updated")
        if params.get("status", "settled") not in STATUSES:
            raise bad_param("status", "Unrecognized status")
        filters = [k for k in ("status", "in_channel", "out_channel") if k in params]
        chosen = [f for f in self.state.forwards if all(f.get(k) == params[k] for k in filters)]
        if index is not None:
            key = f"{index}_index"
            start, limit = u64_param(params, "start", 0), u64_param(params, "limit", U32_MAX)
            # a forward that never changed has no updated_index: lightningd's column holds 0
            chosen = [f for f in chosen if f.get(key, 0) >= start]
            chosen = sorted(chosen, key=lambda f: f.get(key, 0))
            chosen = chosen[:limit]
        if not self.flavour.forward_paging:
            chosen = [{k: v for k, v in f.items() if not k.endswith("_index")} for f in chosen]
        return {"forwards": chosen}

    def _rpc_setchannel(self, params: dict[str, Any]) -> dict[str, Any]:
        if "id" not in params:
            raise RpcFailure(INVALID_PARAMS, "missing required parameter: id")
        channels = self._channels_for(params["id"])
        feebase, feeppm = msat_param(params, "feebase"), u32_param(params, "feeppm")
        if feebase is not None and feebase > U32_MAX:
            raise bad_param("feebase", "exceeds u32 max")
        htlcmin, htlcmax = msat_param(params, "htlcmin"), msat_param(params, "htlcmax")
        u32_param(params, "enforcedelay")
        if htlcmin is not None and htlcmax is not None and htlcmax < htlcmin:
            raise RpcFailure(-1, "htlcmax cannot be less than htlcmin")
        answer = []
        for c in channels:
            c.fee_base_msat = c.fee_base_msat if feebase is None else feebase
            c.fee_ppm = c.fee_ppm if feeppm is None else feeppm
            c.htlc_min_msat = c.htlc_min_msat if htlcmin is None else htlcmin
            c.htlc_max_msat = c.htlc_max_msat if htlcmax is None else min(htlcmax, c.total_msat)
            item: dict[str, Any] = {"peer_id": c.peer_id, "channel_id": c.channel_id}
            if c.short_channel_id is not None:
                item["short_channel_id"] = c.short_channel_id
            item.update(fee_base_msat=c.fee_base_msat, fee_proportional_millionths=c.fee_ppm)
            item.update(minimum_htlc_out_msat=c.htlc_min_msat)
            item.update(maximum_htlc_out_msat=c.htlc_max_msat)
            item["ignore_fee_limits"] = bool(params.get("ignorefeelimits", False))
            answer.append(item)
        self.persist()
        return {"channels": answer}

    # --- shapes ------------------------------------------------------------------------------

    def _channels_for(self, target: Any) -> list[PeerChannel]:
        """lightningd's ``param_channel_or_all``: 'all', a peer id, a channel id or a scid."""
        channels = self.state.channels
        if target == "all":
            return [c for c in channels if c.state in SETTABLE]
        if isinstance(target, str) and len(target) == 66 and _is_hex(target):
            of_peer = [c for c in channels if c.peer_id == target]
            settable = [c for c in of_peer if c.state in SETTABLE]
            if of_peer and not settable:
                raise RpcFailure(-1, "Could not find any active channels of peer with that id")
            if settable:
                return settable
        if isinstance(target, str) and len(target) == 64 and _is_hex(target):
            found, missing = [c for c in channels if c.channel_id == target], "Channel id"
        elif isinstance(target, str) and _is_scid(target):
            found = [c for c in channels if c.short_channel_id == target]
            missing = "Short channel id"
        else:
            raise bad_param("id", "should be a channel ID or short channel ID")
        if not found:
            raise bad_param("id", f"{missing} not found")
        if found[0].state not in SETTABLE:
            raise bad_param("id", f"Channel in state {found[0].state}")
        return found

    def peerchannel_item(
        self, c: PeerChannel, counters: dict[tuple[str, str | None], dict[str, int]] | None = None
    ) -> dict[str, Any]:
        """One ``listpeerchannels`` item with the fields the reference lists (and schema needs)."""
        counters = self._payment_counters() if counters is None else counters
        reserve_msat = c.total_msat // 100_000 * 1000
        item: dict[str, Any] = {"peer_id": c.peer_id, "peer_connected": c.peer_connected}
        item.update(state=c.state, ignore_fee_limits=False, channel_id=c.channel_id)
        item.update(direction=0 if self.state.node_id < c.peer_id else 1)
        item.update(funding_txid=digest("funding", c.channel_id), funding_outnum=0)
        item.update(private=c.private, opener=c.opener, features=["option_static_remotekey"])
        item.update(to_us_msat=c.to_us_msat, total_msat=c.total_msat)
        item.update(fee_base_msat=c.fee_base_msat, fee_proportional_millionths=c.fee_ppm)
        item.update(our_reserve_msat=reserve_msat, their_reserve_msat=reserve_msat)
        item.update(spendable_msat=max(0, c.to_us_msat - reserve_msat))
        item.update(receivable_msat=max(0, c.total_msat - c.to_us_msat - reserve_msat))
        item.update(minimum_htlc_out_msat=c.htlc_min_msat, maximum_htlc_out_msat=c.htlc_max_msat)
        item.update(state_changes=c.state_changes, htlcs=[])
        for side in ("in", "out"):
            item.update(counters.get((side, c.short_channel_id)) or _counters(side))
        if c.short_channel_id is not None:
            item["short_channel_id"] = c.short_channel_id
            item["alias"] = {"local": f"{16_000_000 + int(c.channel_id[:5], 16)}x1x0"}
        if self.flavour.peer_updates:
            item.update(reestablished=c.peer_connected, last_stable_connection=1_760_000_000)
            item["updates"] = {"local": c.update()}
            if c.remote is not None:
                item["updates"]["remote"] = dict(c.remote)
        return item

    def _payment_counters(self) -> dict[tuple[str, str | None], dict[str, int]]:
        """``in_payments_offered`` etc. of every channel, from one pass over the forwards."""
        counters: dict[tuple[str, str | None], dict[str, int]] = {}
        for f in self.state.forwards:
            for side in ("in", "out"):
                count = counters.setdefault((side, f.get(f"{side}_channel")), _counters(side))
                count[f"{side}_payments_offered"] += 1
                count[f"{side}_offered_msat"] += f.get(f"{side}_msat", 0)
                if f["status"] == "settled":
                    count[f"{side}_payments_fulfilled"] += 1
                    count[f"{side}_fulfilled_msat"] += f.get(f"{side}_msat", 0)
        return counters

    def _gossip(self) -> Iterator[dict[str, Any]]:
        """Gossip of other channels, then both directions of our public, normal channels."""
        yield from self.state.gossip
        us = self.state.node_id
        for c in self.state.channels:
            if c.private or c.short_channel_id is None or c.state != "CHANNELD_NORMAL":
                continue
            yield gossip_direction(c.short_channel_id, us, c.peer_id, c.total_msat, c.update())
            if c.remote is not None:
                yield gossip_direction(c.short_channel_id, c.peer_id, us, c.total_msat, c.remote)


def _counters(side: str) -> dict[str, int]:
    names = ("payments_offered", "offered_msat", "payments_fulfilled", "fulfilled_msat")
    return {f"{side}_{name}": 0 for name in names}


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdef" for ch in text)


def _is_scid(text: str) -> bool:
    parts = text.split("x")
    return len(parts) == 3 and all(part.isdigit() for part in parts)
