"""charge-lnd running its shipped example, ``examples/all-channels-proportional.config``, hourly.

Re-implemented from accumulator/charge-lnd at commit 17039cdd699f (2026-02-12, v0.3.1):

- the example as shipped: one ``[default]`` policy, ``strategy = proportional``,
  ``base_fee_msat = 1000``, ``min_fee_ppm = 100``, ``max_fee_ppm = 300``,
  ``min_fee_ppm_delta = 10``;
- ``charge_lnd/strategy.py`` (``strategy_proportional``): with ``ratio`` the local share of the
  channel, ``ppm = int(min_fee_ppm + (1 - ratio) * (max_fee_ppm - min_fee_ppm))``, clamped at
  0, and the configured base fee;
- ``charge_lnd/charge_lnd.py``: a new rate is applied only if it differs from the current one
  by at least ``min_fee_ppm_delta``; a base fee that differs is always applied;
- ``INSTALL.md`` runs it from cron once an hour (``0 * * * *``).

Departures: inbound fees (unset in the example) and ``sum_peer_chans`` (off) do not arise;
the simulated node has one channel per peer. ``charge-lnd-tuned`` runs the ``min_fee_ppm``
and ``max_fee_ppm`` that ``sim tune`` found best (``charge-lnd:min_fee_ppm=..,max_fee_ppm=..``
any other pair).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lnopt.backends.sim import SimBackend
from lnopt.sim.baselines.settings import ConfiguredPolicy
from lnopt.sim.policy import register_policy


@dataclass(frozen=True)
class ProportionalSettings:
    base_fee_msat: int = 1000
    min_fee_ppm: int = 100
    max_fee_ppm: int = 300
    min_fee_ppm_delta: int = 10


def proportional_ppm(local_ratio: float, min_ppm: int, max_ppm: int) -> int:
    return max(0, int(min_ppm + (1.0 - local_ratio) * (max_ppm - min_ppm)))


@register_policy("charge-lnd")
class ChargeLndPolicy(ConfiguredPolicy):
    settings: ClassVar[ProportionalSettings] = ProportionalSettings()
    interval_s = 3600.0

    def start(self, backend: SimBackend, now_s: float) -> None:
        self.tick(backend, now_s)

    def tick(self, backend: SimBackend, now_s: float) -> None:
        settings = self.settings
        for channel in backend.channels():
            ratio = channel.local_msat / (channel.local_msat + channel.remote_msat)
            ppm = proportional_ppm(ratio, settings.min_fee_ppm, settings.max_fee_ppm)
            current = channel.our_policy
            ppm_changed = (
                ppm != current.fee_ppm and abs(ppm - current.fee_ppm) >= settings.min_fee_ppm_delta
            )
            base_changed = current.base_fee_msat != settings.base_fee_msat
            if not (ppm_changed or base_changed):
                continue
            backend.set_policy(
                channel.short_channel_id,
                current.with_fees(
                    base_fee_msat=settings.base_fee_msat,
                    fee_ppm=ppm if ppm_changed else current.fee_ppm,
                ),
            )
