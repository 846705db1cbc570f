"""The market around our node: other operators' fee policies on the channels that compete.

A payment that crosses our node enters from a peer ``i`` and leaves to a peer ``j``. Two sets
of other people's channels decide whether it comes to us at all:

- the channels of other nodes *into our peers* (``X -> j``): each is a substitute for our
  channel ``us -> j``, the one whose price our fee policy sets. They are also what fee tools
  read as "the market" (CLBOSS's competitor median, lnopt's market price);
- our peers' *own channels out* (``i -> Y``): a payment that reaches peer ``i`` goes to us or
  elsewhere, and the price of elsewhere is the fee of these.

Both sets re-price (``into_peers``, ``out_of_peers``); channels between nodes further away
matter to our routes only through these, so they keep their fees. To keep runs fast, only the
``max_edges_per_peer`` largest channels on each side of each peer take part (large channels
carry most payments).

Each competing direction runs one fee policy, drawn once from the world seed (so every policy
of ours meets the same competitors' rules):

- **static**: it keeps its fee;
- **balance** (feeadjuster-like): its fee follows feeadjuster's curve
  ``50 ** (0.5 - local share)``, anchored so that its starting fee is the fee of its starting
  balance: ``ppm = start_ppm * 50 ** (start_share - share)``; it moves only when the share
  moved by more than feeadjuster's threshold (5%) since its last change;
- **demand**: it raises its fee ``demand_raise_pct`` percent when it forwarded anything since
  the last re-pricing, and lowers it ``demand_lower_pct`` percent after ``demand_idle_s``
  without a forward, within ``[min_factor, max_factor]`` times its starting fee.

All of them re-price together at discrete times, every ``reprice_s`` with a uniform jitter of
``jitter_s``, drawn from the world seed. What they then do depends on the run's own balances
and traffic, so it differs between our policies: that is the point. A change reaches senders
at once through :meth:`~lnopt.sim.routing.Router.set_edge_fees` (the gossip delay of other
people's updates is not modelled) and our policies through the backend's gossip view
(:meth:`CompetitorMarket.changed_edges`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from lnopt.graph import GraphEdge
from lnopt.sim.ledger import Ledger
from lnopt.sim.routing import Router
from lnopt.sim.topology import Topology

STATIC, BALANCE, DEMAND = 0, 1, 2
SEED_TAG = 7_000_001  # the competitors' draws are their own stream of the world seed
BALANCE_CURVE = 50.0  # feeadjuster's get_ratio: 50 ** (0.5 - share)
BALANCE_THRESHOLD = 0.05  # feeadjuster-threshold


@dataclass(frozen=True)
class CompetitorParams:
    """Which channels compete with ours, the mix of their fee policies and how they move."""

    into_peers: bool = field(
        default=True,
        metadata={
            "help": "other nodes' channels into our peers re-price: the substitutes of our "
            "outgoing channels, and what fee tools read as the market"
        },
    )
    out_of_peers: bool = field(
        default=True,
        metadata={
            "help": "our peers' own channels to other nodes re-price: the alternatives a "
            "payment at our peer has to coming through us"
        },
    )
    max_edges_per_peer: int = field(
        default=30,
        metadata={
            "help": "at most this many channels (the largest) per peer and side take part, to "
            "keep runs fast; large channels carry most payments"
        },
    )
    balance_share: float = field(
        default=0.3,
        metadata={
            "help": "share of the competing directions run by a balance-driven policy "
            "(feeadjuster's curve); feeadjuster is the fee plugin Core Lightning ships"
        },
    )
    demand_share: float = field(
        default=0.3,
        metadata={
            "help": "share run by a demand-driven policy (raise when forwarding, lower when "
            "idle, as charge-lnd/LNDg-style tools do); the rest keep a static fee, as most "
            "nodes on the public graph do"
        },
    )
    reprice_s: float = field(
        default=4 * 3600.0,
        metadata={
            "help": "seconds between re-pricings: fee tools run from cron or timers of hours "
            "(LNDg AutoFees hourly, charge-lnd from cron); gossip rate limits allow about 2 "
            "updates a day per channel to spread"
        },
    )
    jitter_s: float = field(
        default=1800.0,
        metadata={"help": "each re-pricing time moves uniformly by up to this many seconds"},
    )
    demand_raise_pct: int = field(
        default=10,
        metadata={"help": "a demand-driven fee rises this many percent after forwarding"},
    )
    demand_lower_pct: int = field(
        default=5,
        metadata={"help": "a demand-driven fee falls this many percent after an idle spell"},
    )
    demand_idle_s: float = field(
        default=86_400.0,
        metadata={"help": "seconds without a forward that count as idle (a day)"},
    )
    min_factor: float = field(
        default=0.25,
        metadata={"help": "a demand-driven fee stays at or above this times its start"},
    )
    max_factor: float = field(
        default=4.0,
        metadata={"help": "a demand-driven fee stays at or below this times its start"},
    )


class CompetitorMarket:
    """The competing directions of one world and their fee policies' state (module docstring).

    One market is built per world and stream; a run works on its own copy (``copy.deepcopy``)
    and first :meth:`apply` its fees to the shared router, since other runs moved them.
    """

    def __init__(
        self,
        topo: Topology,
        network_edges: tuple[GraphEdge, ...],
        params: CompetitorParams,
        *,
        seed: int,
        start_s: float,
        start_side0_msat: np.ndarray,
    ) -> None:
        self.params = params
        self.edges = _competing_edges(topo, params)
        self.graph_edges = tuple(network_edges[int(e)] for e in self.edges)
        self.start_base = np.array([g.policy.base_fee_msat for g in self.graph_edges], np.int64)
        self.start_ppm = np.array([g.policy.fee_ppm for g in self.graph_edges], dtype=np.int64)
        self.base = self.start_base.copy()
        self.ppm = self.start_ppm.copy()
        rng = np.random.default_rng([seed, SEED_TAG])
        draw = rng.random(len(self.edges))
        self.kind = np.where(
            draw < params.balance_share,
            BALANCE,
            np.where(draw < params.balance_share + params.demand_share, DEMAND, STATIC),
        ).astype(np.int8)
        self._rng = rng
        self._chan = topo.e_chan[self.edges]
        self._side = topo.e_side[self.edges]
        self._cap = topo.chan_cap[self._chan].astype(np.float64)
        self._start_share = self._share(start_side0_msat)
        self._last_share = self._start_share.copy()
        self._moved = np.zeros(len(self.edges), dtype=np.int64)
        self._active_s = np.full(len(self.edges), start_s)
        self.next_tick_s = self._draw_next(start_s) if len(self.edges) else np.inf
        self.version = 0  # increases whenever a fee changes
        self.changes = 0  # fee changes, all directions together

    # --- the run's view --------------------------------------------------------------------

    def apply(self, router: Router) -> None:
        """Make the router's fees of the competing directions this market's."""
        topo = router.topo
        differ = (topo.e_base[self.edges] != self.base) | (topo.e_ppm[self.edges] != self.ppm)
        if differ.any():
            router.set_edge_fees(self.edges[differ], self.base[differ], self.ppm[differ])

    def moved(self) -> np.ndarray:
        """Positions (in :attr:`edges`) of the competing directions whose fees moved."""
        return np.flatnonzero((self.base != self.start_base) | (self.ppm != self.start_ppm))

    def changed_edges(self, positions: np.ndarray) -> list[GraphEdge]:
        """The competing directions at ``positions`` (in :attr:`edges`), as gossip now shows
        them."""
        return [
            dataclasses.replace(
                self.graph_edges[k],
                policy=self.graph_edges[k].policy.with_fees(
                    base_fee_msat=int(self.base[k]), fee_ppm=int(self.ppm[k])
                ),
            )
            for k in positions
        ]

    # --- re-pricing ------------------------------------------------------------------------

    def tick(self, now_s: float, ledger: Ledger, router: Router) -> None:
        """Every competitor re-prices at ``now_s`` from the run's balances and traffic."""
        self.next_tick_s = self._draw_next(now_s)
        new_ppm = self.ppm.copy()
        self._balance_driven(ledger, new_ppm)
        self._demand_driven(now_s, ledger, new_ppm)
        changed = new_ppm != self.ppm
        if changed.any():
            self.ppm = new_ppm
            self.version += 1
            self.changes += int(changed.sum())
            router.set_edge_fees(self.edges[changed], self.base[changed], self.ppm[changed])

    def _balance_driven(self, ledger: Ledger, new_ppm: np.ndarray) -> None:
        share = self._share(ledger.side0)
        moved = (self.kind == BALANCE) & (np.abs(share - self._last_share) > BALANCE_THRESHOLD)
        target = self.start_ppm * BALANCE_CURVE ** (self._start_share - share)
        new_ppm[moved] = np.rint(target[moved]).astype(np.int64)
        self._last_share[moved] = share[moved]

    def _demand_driven(self, now_s: float, ledger: Ledger, new_ppm: np.ndarray) -> None:
        params = self.params
        moved_msat = ledger.moved_msat[self.edges]
        forwarded = moved_msat != self._moved
        self._moved = moved_msat.copy()
        demand = self.kind == DEMAND
        raise_ = demand & forwarded
        idle = demand & ~forwarded & (now_s - self._active_s >= params.demand_idle_s)
        up = np.maximum(self.ppm + 1, self.ppm * (100 + params.demand_raise_pct) // 100)
        down = self.ppm * (100 - params.demand_lower_pct) // 100
        low = np.floor(self.start_ppm * params.min_factor).astype(np.int64)
        high = np.ceil(self.start_ppm * params.max_factor).astype(np.int64)
        new_ppm[raise_] = np.minimum(up, high)[raise_]
        new_ppm[idle] = np.maximum(down, low)[idle]
        self._active_s[raise_ | idle] = now_s

    def _share(self, side0_msat: np.ndarray) -> np.ndarray:
        own = side0_msat[self._chan].astype(np.float64)
        own = np.where(self._side == 0, own, self._cap - own)
        share: np.ndarray = own / self._cap
        return share

    def _draw_next(self, now_s: float) -> float:
        jitter = self.params.jitter_s
        return now_s + max(1.0, self.params.reprice_s + float(self._rng.uniform(-jitter, jitter)))


def _competing_edges(topo: Topology, params: CompetitorParams) -> np.ndarray:
    """Indices of the competing directions (other people's), largest channels first per peer."""
    others = np.arange(topo.others)
    chosen: list[np.ndarray] = []
    sides = [(params.into_peers, topo.e_dst), (params.out_of_peers, topo.e_src)]
    for wanted, end in sides:
        if not wanted:
            continue
        for peer in np.unique(topo.our_peer):
            at_peer = others[end[others] == peer]
            by_size = np.argsort(-topo.chan_cap[topo.e_chan[at_peer]], kind="stable")
            chosen.append(at_peer[by_size[: params.max_edges_per_peer]])
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(chosen)).astype(np.int64)
