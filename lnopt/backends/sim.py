"""The simulated node, behind the same :class:`~lnopt.backends.base.Backend` as a real one.

It follows Core Lightning's behaviour where lnopt depends on it:

- ``channels`` is ``listpeerchannels``: every channel with its current balance and the policy
  the node enforces now;
- ``gossip`` is ``listchannels``: the public graph, our own channels included with the policy
  our node last set and the competing channels with the fees they re-priced to
  (:mod:`lnopt.sim.competitors`); like :class:`~lnopt.backends.cln.ClnBackend` it is re-read at
  most every ``graph_refresh_s`` seconds (6 hours here, against the plugin's 1 hour: the
  competitors re-price every 4 hours, so the view is about as fresh); a re-read keeps the
  first read's topology and replaces only the directions whose fees differ from it;
- ``forwards`` is ``listforwards`` paged by ``created_index``: settled, failed and
  local-failed forwards in the order they happened;
- ``set_policy`` is ``setchannel id feebase feeppm``: only the fees change; an unknown short
  channel id is refused (``-32602``, as ``setchannel`` refuses a bad id) and so is a negative
  fee; the previous fee stays accepted for ``enforcedelay`` (600 s); the update then spreads
  by gossip, rate-limited (:mod:`lnopt.sim.gossip`);
- ``rebalance`` is what a rebalancing plugin does (CLN's ``rebalance`` plugin, CLBOSS's
  rebalancers, LNDg's rebalancer): a circular payment of our node to itself, out through one
  of our channels and in through another, paying the fees it meets
  (:mod:`lnopt.sim.liquidity`);
- ``get_policy`` reads the policy back as ``listpeerchannels`` shows it; a channel that is not
  ours is refused as :class:`~lnopt.backends.cln.ClnBackend` refuses it ("has no channel").

:meth:`SimBackend.link_failures` adds what an LND tool reads from the HTLC event stream: the
HTLCs our node failed itself and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lnopt.backends.base import Backend, ForwardPage, NodeInfo
from lnopt.errors import BackendRefused
from lnopt.graph import NetworkGraph
from lnopt.model import Channel, ChannelPolicy
from lnopt.sim.competitors import CompetitorMarket
from lnopt.sim.gossip import GossipModel
from lnopt.sim.ledger import Ledger
from lnopt.sim.liquidity import Rebalancer, RebalanceResult
from lnopt.sim.network import OUR_FIRST_BLOCK, OurNode, our_edges
from lnopt.sim.node import LinkFailure, OurNodeState

BAD_ID = -32602
BLOCK_S = 600
# The simulation starts when our node's channels are about 90 days old.
START_BLOCK = OUR_FIRST_BLOCK + 90 * 144


class SimBackend(Backend):
    """Our node in the simulation (see the module docstring)."""

    name = "sim"

    def __init__(
        self,
        our: OurNode,
        *,
        ledger: Ledger,
        node: OurNodeState,
        gossip: GossipModel,
        clock: Callable[[], float],
        start_s: float,
        graph_refresh_s: float = 6 * 3600.0,
        market: CompetitorMarket | None = None,
        rebalancer: Rebalancer | None = None,
    ) -> None:
        self._our = our
        self._ledger = ledger
        self._node = node
        self._gossip = gossip
        self._clock = clock
        self._start_s = start_s
        self._graph_refresh_s = graph_refresh_s
        self._market = market
        self._rebalancer = rebalancer
        topo = ledger.topo
        self._chan_side = {
            scid: (int(chan), 0 if int(topo.chan_first[chan]) == topo.us else 1)
            for scid, chan in zip(topo.our_scids, topo.our_chan, strict=True)
        }
        self._scid_index = {scid: j for j, scid in enumerate(topo.our_scids)}
        self._graph: NetworkGraph | None = None
        self._first_graph: NetworkGraph | None = None
        self._first_moved = np.zeros(0, dtype=np.int64)
        self._graph_key: tuple[int, tuple[ChannelPolicy, ...]] | None = None
        self._graph_read_s = float("-inf")

    # --- reading ---------------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], float]:
        """The simulated time, for the code that drives this backend."""
        return self._clock

    def node_info(self) -> NodeInfo:
        elapsed = max(0.0, self._clock() - self._start_s)
        return NodeInfo(
            node_id=self._our.node_id,
            alias="lnopt-sim",
            block_height=START_BLOCK + int(elapsed // BLOCK_S),
            network="regtest",
            version="sim",
        )

    def channels(self) -> Sequence[Channel]:
        return [self._channel(ch) for ch in self._our.channels]

    def local_msat(self, short_channel_id: str) -> int:
        chan, side = self._require(short_channel_id, "listpeerchannels")
        return self._ledger.balance(chan, side)

    def gossip(self) -> NetworkGraph:
        now = self._clock()
        market = self._market
        key = (
            -1 if market is None else market.version,
            tuple(self._node.policies[scid] for scid in self._node.scids),
        )
        fresh = now - self._graph_read_s < self._graph_refresh_s
        if self._graph is not None and (fresh or key == self._graph_key):
            return self._graph
        current = our_edges(self._our.node_id, [self._channel(ch) for ch in self._our.channels])
        # Later reads keep the first read's topology and replace every direction that differs
        # from it: those that moved since, and those moved then that may have moved back.
        first = self._first_graph
        if market is not None:
            moved_now = market.moved()
            if first is None:
                self._first_moved = moved_now
            moved = market.changed_edges(np.union1d(self._first_moved, moved_now))
        else:
            moved = []
        base = self._our.network if first is None else first
        self._graph = base.with_edges([*moved, *current])
        if first is None:
            self._first_graph = self._graph
        self._graph_key = key
        self._graph_read_s = now
        return self._graph

    def forwards(self, since_index: int | None = None, limit: int = 10_000) -> ForwardPage:
        start = 0 if since_index is None else max(0, since_index)
        page = tuple(self._node.forwards[start : start + max(0, limit)])
        return ForwardPage(forwards=page, next_index=start + len(page))

    def link_failures(self, since_s: float = float("-inf")) -> list[LinkFailure]:
        return [f for f in self._node.link_failures if f.at_s >= since_s]

    def get_policy(self, short_channel_id: str) -> ChannelPolicy:
        self._require(short_channel_id, "listpeerchannels")
        return self._node.policies[short_channel_id]

    # --- changing --------------------------------------------------------------------------

    def set_policy(self, short_channel_id: str, policy: ChannelPolicy) -> ChannelPolicy:
        self._require(short_channel_id, "setchannel")
        if policy.base_fee_msat < 0 or policy.fee_ppm < 0:
            raise BackendRefused(
                f"setchannel {short_channel_id}: fees must not be negative "
                f"(feebase {policy.base_fee_msat}, feeppm {policy.fee_ppm})",
                code=BAD_ID,
            )
        current = self._node.policies[short_channel_id]
        updated = current.with_fees(base_fee_msat=policy.base_fee_msat, fee_ppm=policy.fee_ppm)
        now = self._clock()
        if self._node.set_policy(short_channel_id, updated, now):
            self._gossip.announce(short_channel_id, updated, now)
        return updated

    def rebalance(
        self, out_scid: str, in_scid: str, amount_msat: int, max_fee_ppm: int
    ) -> RebalanceResult:
        """Move ``amount_msat`` of our balance from ``out_scid`` to ``in_scid`` by a circular
        payment through the graph, paying at most ``max_fee_ppm`` of the amount in fees.

        The result says whether it settled (``done``), the fee paid (``fee_msat``; charged to
        our node as rebalancing cost) or why not: no route with the liquidity, too expensive,
        over the day's budget, or invalid (the same channel twice, an amount of 0). An unknown
        channel is refused as :meth:`set_policy` refuses one.
        """
        self._require(out_scid, "rebalance")
        self._require(in_scid, "rebalance")
        if self._rebalancer is None:
            raise BackendRefused("rebalance: this node has no rebalancer", code=BAD_ID)
        return self._rebalancer.rebalance(
            self._scid_index[out_scid],
            self._scid_index[in_scid],
            amount_msat,
            max_fee_ppm,
            self._clock(),
        )

    # --- helpers ---------------------------------------------------------------------------

    def _require(self, short_channel_id: str, method: str) -> tuple[int, int]:
        found = self._chan_side.get(short_channel_id)
        if found is None:
            raise BackendRefused(
                f"{method}: unknown channel {short_channel_id!r}: our node has no channel "
                "of that id",
                code=BAD_ID,
            )
        return found

    def _channel(self, template: Channel) -> Channel:
        scid = template.short_channel_id
        local = self.local_msat(scid)
        return Channel(
            short_channel_id=scid,
            peer_id=template.peer_id,
            capacity_msat=template.capacity_msat,
            local_msat=local,
            remote_msat=template.capacity_msat - local,
            our_policy=self._node.policies[scid],
            peer_policy=template.peer_policy,
            state=template.state,
            connected=True,
            private=False,
            opener=template.opener,
            channel_id=template.channel_id,
        )
