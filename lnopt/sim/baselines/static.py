"""Static fees: one fee for every channel, the network's median, never changed.

What a node that never touches its fees does (Core Lightning's ``fee-base`` and
``fee-per-satoshi`` set once in its configuration).
"""

from __future__ import annotations

from lnopt.backends.sim import SimBackend
from lnopt.sim.policy import Policy, register_policy


@register_policy("static")
class StaticPolicy(Policy):
    def start(self, backend: SimBackend, now_s: float) -> None:
        median = self.context.median_policy
        for channel in backend.channels():
            policy = channel.our_policy
            if (policy.base_fee_msat, policy.fee_ppm) != (median.base_fee_msat, median.fee_ppm):
                backend.set_policy(
                    channel.short_channel_id,
                    policy.with_fees(base_fee_msat=median.base_fee_msat, fee_ppm=median.fee_ppm),
                )
