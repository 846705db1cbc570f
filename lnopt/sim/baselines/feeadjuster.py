"""feeadjuster, the Core Lightning plugin, with its default options.

Re-implemented from lightningd/plugins ``feeadjuster/feeadjuster.py`` at commit
211d12ea6a7e (2026-05-12):

- the reference fee is the node's own default fee, ``fee-base`` and ``fee-per-satoshi``
  (``feeadjuster-feestrategy=global``, the default; ``get_fees_global``), which falls back to
  1,000 msat and 10 ppm, Core Lightning's own defaults, when the node sets none;
- on every settled ``forward_event`` it re-reads the balances of the incoming and outgoing
  channels and, for each, if the local share moved by more than ``feeadjuster-threshold``
  (0.05) or the local balance by more than ``feeadjuster-threshold-abs`` (0.001 BTC) since
  its last update, both fuzzed by +/-1.5%, sets ``ppm = int(reference_ppm * ratio(share))``
  with the ``feeadjuster-adjustment-method`` curve (``default`` ``50 ** (0.5 - share)``,
  ``soft`` ``10 ** (0.5 - share)``, ``hard`` ``100 ** (0.5 - share) * (1 - share) * 2``) and
  the reference base fee (``feeadjuster-basefee`` is off);
- ``feeadjuster-imbalance`` 0.5 means it always acts and ``feeadjuster-enough-liquidity``
  0msat leaves the share as it is; it does the same for all channels at start-up
  (``feeadjust``) and calls ``setchannel`` only when the fees differ, remembering the balance
  only then.

Departures:

- the reference fee is the network's median unless set (``base_fee_msat``, ``fee_ppm``): in
  the simulation the node's configured default is the market's, as a node operator who
  configures ``fee-base``/``fee-per-satoshi`` would choose it; with Core Lightning's bare
  10 ppm the plugin would route almost for free. ``feeadjuster-tuned`` runs the reference fee
  and adjustment curve ``sim tune`` found best;
- the handler's waits (polling ``listpeerchannels`` for up to 5 s for the balance to change,
  and sleeping 0 to 5 s on one forward in ten) are left out: the simulated node reports the
  new balance at once, and the sleep only delays the same update.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from typing import ClassVar

from lnopt.backends.sim import SimBackend
from lnopt.model import Channel, Forward
from lnopt.sim.baselines.settings import ConfiguredPolicy
from lnopt.sim.policy import PolicyContext, register_policy

THRESHOLD = 0.05
THRESHOLD_ABS_MSAT = 100_000_000  # 0.001 BTC
FUZZ = 0.015


class AdjustmentMethod(enum.Enum):
    """``feeadjuster-adjustment-method``."""

    SOFT = "soft"
    DEFAULT = "default"
    HARD = "hard"


def get_ratio(our_percentage: float, method: AdjustmentMethod = AdjustmentMethod.DEFAULT) -> float:
    """The adjustment curve: the farther from balanced, the larger the change."""
    if method is AdjustmentMethod.SOFT:
        return float(10 ** (0.5 - our_percentage))
    if method is AdjustmentMethod.HARD:
        return float(100 ** (0.5 - our_percentage) * (1 - our_percentage) * 2)
    return float(50 ** (0.5 - our_percentage))


@dataclass(frozen=True)
class FeeAdjusterSettings:
    base_fee_msat: int | None = None  # fee-base; None: the network's median
    fee_ppm: int | None = None  # fee-per-satoshi; None: the network's median
    adjustment_method: AdjustmentMethod = AdjustmentMethod.DEFAULT


@dataclass
class _Balance:
    our_msat: int
    total_msat: int
    last_liquidity_msat: int | None = None


@register_policy("feeadjuster")
class FeeAdjusterPolicy(ConfiguredPolicy):
    settings: ClassVar[FeeAdjusterSettings] = FeeAdjusterSettings()

    def __init__(self, context: PolicyContext) -> None:
        super().__init__(context)
        self._random = random.Random(context.seed)
        self._balances: dict[str, _Balance] = {}
        median = context.median_policy
        base, ppm = self.settings.base_fee_msat, self.settings.fee_ppm
        self.reference_base_msat = median.base_fee_msat if base is None else base
        self.reference_ppm = median.fee_ppm if ppm is None else ppm

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
        ratio = get_ratio(balance.our_msat / balance.total_msat, self.settings.adjustment_method)
        base, ppm = self.reference_base_msat, int(self.reference_ppm * ratio)
        current = channel.our_policy
        if (current.base_fee_msat, current.fee_ppm) == (base, ppm):
            return
        backend.set_policy(
            channel.short_channel_id, current.with_fees(base_fee_msat=base, fee_ppm=ppm)
        )
        balance.last_liquidity_msat = balance.our_msat
