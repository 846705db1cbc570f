"""CLBOSS's fee setting: the competitors' median, times a size, a balance and a price multiplier.

Re-implemented from ZmnSCPxj/clboss at commit 90eaf441077c (2025-10-07, v0.15.1-2), the
modules ``Boss/Mod/all.cpp`` installs for channel fees:

- ``Boss/Mod/PeerCompetitorFeeMonitor`` (hourly, ``TimerRandomHourly``): for each peer, the
  capacity-weighted median base fee and fee rate of the other channels into that peer
  (``Stats/WeightedMedian.hpp``: the first value, in order, at which twice the running weight
  exceeds the total);
- ``Boss/Mod/ChannelFeeManager``: those medians times every modifier, rounded; a fee rate of
  0 becomes 1, a base fee of 0 is kept (``clboss-zerobasefee`` ``allow``, the default);
- ``Boss/Mod/FeeModderBySize``: from gossip alone, our node's size (the capacity of the
  ``listchannels`` entries it is the source of) against each competitor's (the other nodes
  the peer has channels to): with ``worse`` and ``better`` the competitors smaller and larger
  than us, ``pos = worse / (worse + better)``; below the middle the multiplier runs from 0.5
  (``sqrt(0.5) ** 2``) to 1, above it from 1 to ``lim = max(2, 16 + ln(1 / competitors))``,
  as ``x ** 2`` with ``x`` linear in ``pos``; recomputed daily (``TimerRandomDaily``);
- ``Boss/Mod/FeeModderByBalance``: ``50 ** (0.5 - share)`` at the centre of the balance bin
  the channel is in (bins of 0.002 BTC, 4 to 50 of them), moving to a neighbouring bin with
  the probabilities of the original, which blurs the exact balance;
- ``Boss/Mod/FeeModderByPriceTheory``: per peer, a shuffled deck of five price cards
  (centre -2 .. +2; multiplier 1.2 ** p, or 0.8 ** -p below 0); each card is played for 288
  ten-minute periods (2 days) and earns the fees forwarded out to that peer; when the deck is
  empty the best-earning card becomes the new centre (unless it earned nothing).

Departures:

- the hourly and daily timers fire on the hour and every 24 hours, not at random moments in
  them;
- when every competitor of a peer is exactly our size, upstream divides 0 by 0; the
  multiplier is 1 here;
- CLBOSS's rebalancers (``EarningsRebalancer``, ``JitRebalancer``) and its channel creation
  and closing are not run: the simulated node cannot rebalance yet, and its channels are
  fixed.

``by_size`` (default true) is not an upstream option: ``clboss:by_size=false`` runs it without
``FeeModderBySize``, to measure that module's effect.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from typing import ClassVar

from lnopt.backends.sim import SimBackend
from lnopt.graph import NetworkGraph
from lnopt.model import Channel, ChannelPolicy, Forward
from lnopt.sim.baselines.clboss_size import SizeModder
from lnopt.sim.baselines.settings import ConfiguredPolicy
from lnopt.sim.policy import PolicyContext, register_policy

PERIOD_S = 600.0
CARD_LIFETIME = 288
MAX_STEP = 2
BIN_SIZE_MSAT = 200_000_000  # 0.002 BTC
MIN_BINS = 4
MAX_BINS = 50
SIZE_RESET_S = 86_400.0  # TimerRandomDaily


class ZeroBaseFee(enum.Enum):
    """``clboss-zerobasefee``."""

    REQUIRE = "require"
    ALLOW = "allow"
    DISALLOW = "disallow"


@dataclass(frozen=True)
class ClbossSettings:
    zero_base_fee: ZeroBaseFee = ZeroBaseFee.ALLOW
    by_size: bool = True  # not upstream's: False leaves FeeModderBySize out, to measure it


def final_fees(
    median: ChannelPolicy, multiplier: float, zero_base_fee: ZeroBaseFee
) -> tuple[int, int]:
    """``ChannelFeeManager::perform``: (base msat, ppm) from the median and the modifiers."""
    base = round(median.base_fee_msat * multiplier)
    ppm = round(median.fee_ppm * multiplier)
    if zero_base_fee is ZeroBaseFee.DISALLOW and base == 0:
        base = 1
    if zero_base_fee is ZeroBaseFee.REQUIRE:
        base = 0
    return base, ppm or 1


def price_to_multiplier(price: int) -> float:
    if price < 0:
        return float(0.8 ** (-price))
    if price > 0:
        return float(1.2**price)
    return 1.0


def balance_ratio(share: float) -> float:
    return float(50 ** (0.5 - share))


def weighted_median(values: list[tuple[int, int]]) -> int:
    """The first value, in order, at which twice the running weight exceeds the total."""
    ordered = sorted(values)
    total = sum(weight for _, weight in ordered)
    running = 0
    for value, weight in ordered:
        running += weight
        if 2 * running > total:
            return value
    return ordered[-1][0]


def competitor_median(graph: NetworkGraph, peer: str, our_node: str) -> ChannelPolicy | None:
    samples = [e for e in graph.edges_to(peer) if e.source != our_node]
    if not samples:
        return None
    return ChannelPolicy(
        base_fee_msat=weighted_median([(e.policy.base_fee_msat, e.capacity_msat) for e in samples]),
        fee_ppm=weighted_median([(e.policy.fee_ppm, e.capacity_msat) for e in samples]),
    )


@dataclass
class _Card:
    price: int
    lifetime: int = CARD_LIFETIME
    earnings_msat: int = 0


@dataclass
class _Deck:
    center: int = 0
    deck: list[_Card] = field(default_factory=list)
    in_play: _Card | None = None
    discarded: list[_Card] = field(default_factory=list)


@dataclass
class _Bin:
    bin: int
    bins: int
    to_us_msat: int


class PriceTheory:
    """The card game of ``FeeModderByPriceTheory`` for one peer."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._decks: dict[str, _Deck] = {}

    def multiplier(self, peer: str) -> float:
        return price_to_multiplier(self._card(peer).price)

    def earned(self, peer: str, fee_msat: int) -> None:
        deck = self._decks.get(peer)
        if deck is not None and deck.in_play is not None:
            deck.in_play.earnings_msat += fee_msat

    def period(self, peers: list[str]) -> None:
        """A ten-minute period passed with these peers connected."""
        for peer in peers:
            deck = self._decks.get(peer)
            if deck is None or deck.in_play is None:
                continue
            deck.in_play.lifetime -= 1
            if deck.in_play.lifetime <= 0:
                deck.discarded.append(deck.in_play)
                deck.in_play = None

    def _card(self, peer: str) -> _Card:
        deck = self._decks.setdefault(peer, _Deck())
        if deck.in_play is None:
            if not deck.deck:
                self._end_round(deck)
            deck.in_play = deck.deck.pop()
        return deck.in_play

    def _end_round(self, deck: _Deck) -> None:
        if deck.discarded:
            best = max(deck.discarded, key=lambda card: card.earnings_msat)
            if best.earnings_msat > 0:
                deck.center = best.price
        prices = [deck.center]
        for step in range(1, MAX_STEP + 1):
            prices += [deck.center + step, deck.center - step]
        self._rng.shuffle(prices)
        deck.deck = [_Card(price) for price in prices]
        deck.discarded = []


@register_policy("clboss")
class ClbossPolicy(ConfiguredPolicy):
    settings: ClassVar[ClbossSettings] = ClbossSettings()
    interval_s = PERIOD_S

    def __init__(self, context: PolicyContext) -> None:
        super().__init__(context)
        self._rng = random.Random(context.seed)
        self._price = PriceTheory(self._rng)
        self._bins: dict[str, _Bin] = {}
        self._peer_of: dict[str, str] = {}
        self._periods = 0
        self._medians: tuple[NetworkGraph, dict[str, ChannelPolicy | None]] | None = None
        self._size: SizeModder | None = None
        self._size_reset_s = 0.0

    def start(self, backend: SimBackend, now_s: float) -> None:
        self._peer_of = {ch.short_channel_id: ch.peer_id for ch in backend.channels()}
        self._size = SizeModder(backend.node_info().node_id)
        self._size_reset_s = now_s
        self._set_fees(backend, now_s)

    def on_forward(self, backend: SimBackend, forward: Forward) -> None:
        peer = self._peer_of.get(forward.out_channel or "")
        if peer is not None:
            self._price.earned(peer, forward.fee_msat or 0)

    def tick(self, backend: SimBackend, now_s: float) -> None:
        self._price.period(list(self._peer_of.values()))
        self._periods += 1
        if self._periods % 6 == 0:
            self._set_fees(backend, now_s)

    def _competitor_medians(self, backend: SimBackend) -> dict[str, ChannelPolicy | None]:
        """The surveyor's hourly result; recomputed whenever the gossip is re-read."""
        graph = backend.gossip()
        if self._medians is None or self._medians[0] is not graph:
            our_node = backend.node_info().node_id
            peers = set(self._peer_of.values())
            self._medians = (graph, {p: competitor_median(graph, p, our_node) for p in peers})
        return self._medians[1]

    def _size_multiplier(self, backend: SimBackend, peer: str, now_s: float) -> float:
        if self._size is None or not self.settings.by_size:
            return 1.0
        if now_s - self._size_reset_s >= SIZE_RESET_S:
            self._size.reset()
            self._size_reset_s = now_s
        return self._size.multiplier(backend.gossip(), peer)

    def _set_fees(self, backend: SimBackend, now_s: float) -> None:
        medians = self._competitor_medians(backend)
        for channel in backend.channels():
            median = medians.get(channel.peer_id)
            if median is None:
                continue
            multiplier = (
                self._size_multiplier(backend, channel.peer_id, now_s)
                * self._balance_multiplier(channel)
                * self._price.multiplier(channel.peer_id)
            )
            base, ppm = final_fees(median, multiplier, self.settings.zero_base_fee)
            current = channel.our_policy
            if (current.base_fee_msat, current.fee_ppm) != (base, ppm):
                backend.set_policy(
                    channel.short_channel_id, current.with_fees(base_fee_msat=base, fee_ppm=ppm)
                )

    def _balance_multiplier(self, channel: Channel) -> float:
        scid = channel.short_channel_id
        total = channel.capacity_msat
        found = self._bins.get(scid)
        if found is None:
            bins = min(MAX_BINS, max(MIN_BINS, round(total / BIN_SIZE_MSAT)))
            found = _Bin(min(bins - 1, int(channel.local_msat / total * bins)), bins, -1)
            found.to_us_msat = channel.local_msat
            self._bins[scid] = found
        elif channel.local_msat != found.to_us_msat:
            found.to_us_msat = channel.local_msat
            actual = channel.local_msat / total * found.bins
            target = int(actual)
            if target < found.bin:
                keep_low = self._rng.random() < 1.0 - (actual - target)
                found.bin = target if keep_low else target + 1
            elif target > found.bin:
                keep_high = self._rng.random() < actual - target
                found.bin = min(found.bins - 1, target if keep_high else target - 1)
        return balance_ratio((1 + 2 * found.bin) / (2 * found.bins))
