"""feeadjuster, the Core Lightning plugin, with its default options.

Re-implemented from lightningd/plugins ``feeadjuster/feeadjuster.py``:

- the node's default fees (``fee-base``, ``fee-per-satoshi``; here the network median) are the
  reference (``feeadjuster-feestrategy=global``);
- on every settled ``forward_event`` it re-reads the balances of the incoming and outgoing
  channels and, for each, if the local share moved by more than ``feeadjuster-threshold``
  (0.05) or the local balance by more than ``feeadjuster-threshold-abs`` (0.001 BTC) since
  its last update, both fuzzed by +/-1.5%, sets
  ``ppm = int(reference_ppm * 50 ** (0.5 - local_share))`` (``get_ratio``), base fee unchanged;
- ``feeadjuster-imbalance`` 0.5 means it always acts; it does the same for all channels at
  start-up (``feeadjust``) and calls ``setchannel`` only when the fees differ.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lnopt.backends.sim import SimBackend
from lnopt.model import Channel, Forward
from lnopt.sim.policy import Policy, PolicyContext, register_policy

THRESHOLD = 0.05
THRESHOLD_ABS_MSAT = 100_000_000  # 0.001 BTC
FUZZ = 0.015


def get_ratio(our_percentage: float) -> float:
    """The default adjustment: the farther from balanced, the larger the change."""
    return float(50 ** (0.5 - our_percentage))


@dataclass
class _Balance:
    our_msat: int
    total_msat: int
    last_liquidity_msat: int | None = None


@register_policy("feeadjuster")
class FeeAdjusterPolicy(Policy):
    def __init__(self, context: PolicyContext) -> None:
        super().__init__(context)
        self._random = random.Random(context.seed)
        self._balances: dict[str, _Balance] = {}

    def start(self, backend: SimBackend, now_s: float) -> None:
        for channel in backend.channels():
            self._read(channel)
            self._maybe_adjust(backend, channel)

    def on_forward(self, backend: SimBackend, forward: Forward) -> None:
        wanted = {forward.in_channel, forward.out_channel}
        for channel in backend.channels():
            if channel.short_channel_id in wanted:
                self._read(channel)
                self._maybe_adjust(backend, channel)

    def _read(self, channel: Channel) -> None:
        found = self._balances.get(channel.short_channel_id)
        if found is None:
            self._balances[channel.short_channel_id] = _Balance(
                channel.local_msat, channel.capacity_msat
            )
        else:
            found.our_msat, found.total_msat = channel.local_msat, channel.capacity_msat

    def _significant(self, balance: _Balance) -> bool:
        if balance.last_liquidity_msat is None:
            return True
        threshold = THRESHOLD + self._random.uniform(-FUZZ, FUZZ)
        threshold_abs = THRESHOLD_ABS_MSAT * (1 + self._random.uniform(-FUZZ, FUZZ))
        last_share = balance.last_liquidity_msat / balance.total_msat
        share = balance.our_msat / balance.total_msat
        moved = abs(balance.last_liquidity_msat - balance.our_msat)
        return abs(last_share - share) > threshold or moved > threshold_abs

    def _maybe_adjust(self, backend: SimBackend, channel: Channel) -> None:
        balance = self._balances[channel.short_channel_id]
        if not self._significant(balance):
            return
        reference = self.context.median_policy
        ratio = get_ratio(balance.our_msat / balance.total_msat)
        ppm = int(reference.fee_ppm * ratio)
        current = channel.our_policy
        if (current.base_fee_msat, current.fee_ppm) == (reference.base_fee_msat, ppm):
            return
        backend.set_policy(
            channel.short_channel_id,
            current.with_fees(base_fee_msat=reference.base_fee_msat, fee_ppm=ppm),
        )
        balance.last_liquidity_msat = balance.our_msat
