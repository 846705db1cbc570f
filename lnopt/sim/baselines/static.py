"""Static fees: one fee for every channel, set once and never changed.

What a node that never touches its fees does: Core Lightning's ``fee-base`` and
``fee-per-satoshi`` set once in its configuration (``doc/lightningd-config.5.md``; their
defaults, 1,000 msat and 10 ppm, are what a node that never chose anything charges).

Departure: by default the fee is the network's median (``base_fee_msat`` and ``fee_ppm``
unset), the fee of an operator who copies the market, rather than Core Lightning's 10 ppm,
which almost nobody routing keeps. Both are settings: ``static:fee_ppm=400``;
``static-tuned`` is the one ``sim tune`` found best.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lnopt.backends.sim import SimBackend
from lnopt.sim.baselines.settings import ConfiguredPolicy
from lnopt.sim.policy import register_policy


@dataclass(frozen=True)
class StaticSettings:
    base_fee_msat: int | None = None  # None: the network's median
    fee_ppm: int | None = None  # None: the network's median


@register_policy("static")
class StaticPolicy(ConfiguredPolicy):
    settings: ClassVar[StaticSettings] = StaticSettings()

    def start(self, backend: SimBackend, now_s: float) -> None:
        median = self.context.median_policy
        base = self.settings.base_fee_msat
        ppm = self.settings.fee_ppm
        base = median.base_fee_msat if base is None else base
        ppm = median.fee_ppm if ppm is None else ppm
        for channel in backend.channels():
            policy = channel.our_policy
            if (policy.base_fee_msat, policy.fee_ppm) != (base, ppm):
                backend.set_policy(
                    channel.short_channel_id, policy.with_fees(base_fee_msat=base, fee_ppm=ppm)
                )
