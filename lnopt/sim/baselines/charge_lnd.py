"""charge-lnd's ``proportional`` strategy, run hourly from cron.

Re-implemented from accumulator/charge-lnd ``charge_lnd/strategy.py`` (``strategy_proportional``)
and ``charge_lnd/charge_lnd.py`` (when a change is applied): with ``ratio`` the local share of the
channel, ``ppm = int(min_fee_ppm + (1 - ratio) * (max_fee_ppm - min_fee_ppm))``, clamped at 0,
and the configured base fee; a new rate is applied only if it differs from the current one by at
least ``min_fee_ppm_delta`` (10 when unset). The parameters follow the project's
``examples/all-channels-proportional.config`` (base 1,000 msat, 100 to 300 ppm, delta 10), with
the range scaled so its low end is the network median; ``contrib/cron/README.md`` runs it once an
hour.
"""

from __future__ import annotations

from lnopt.backends.sim import SimBackend
from lnopt.sim.policy import Policy, PolicyContext, register_policy

BASE_FEE_MSAT = 1000
EXAMPLE_MIN_PPM = 100
EXAMPLE_MAX_PPM = 300
MIN_FEE_PPM_DELTA = 10


def proportional_ppm(local_ratio: float, min_ppm: int, max_ppm: int) -> int:
    return max(0, int(min_ppm + (1.0 - local_ratio) * (max_ppm - min_ppm)))


@register_policy("charge-lnd")
class ChargeLndPolicy(Policy):
    interval_s = 3600.0

    def __init__(self, context: PolicyContext) -> None:
        super().__init__(context)
        scale = max(1, context.median_policy.fee_ppm) / EXAMPLE_MIN_PPM
        self.min_ppm = round(EXAMPLE_MIN_PPM * scale)
        self.max_ppm = round(EXAMPLE_MAX_PPM * scale)

    def start(self, backend: SimBackend, now_s: float) -> None:
        self.tick(backend, now_s)

    def tick(self, backend: SimBackend, now_s: float) -> None:
        for channel in backend.channels():
            ratio = channel.local_msat / (channel.local_msat + channel.remote_msat)
            ppm = proportional_ppm(ratio, self.min_ppm, self.max_ppm)
            current = channel.our_policy
            ppm_changed = ppm != current.fee_ppm and abs(ppm - current.fee_ppm) >= MIN_FEE_PPM_DELTA
            base_changed = current.base_fee_msat != BASE_FEE_MSAT
            if not (ppm_changed or base_changed):
                continue
            backend.set_policy(
                channel.short_channel_id,
                current.with_fees(
                    base_fee_msat=BASE_FEE_MSAT,
                    fee_ppm=ppm if ppm_changed else current.fee_ppm,
                ),
            )
