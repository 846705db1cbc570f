"""Expected impacts of a decision: the change of daily fee income it is estimated to bring."""

from __future__ import annotations

from fractions import Fraction

from lnopt.config import DecisionConfig
from lnopt.decisions.facts import ChannelFacts
from lnopt.model import ChannelPolicy, ExpectedImpact

NO_CHANGE = ExpectedImpact(daily_fee_delta_msat=0, basis="no change")


def sat_text(msat: int) -> str:
    """An amount in whole satoshis, for reasons and impact bases."""
    return f"{msat // 1000:,} sat"


def per_day_msat(total_msat: int, days: int) -> int:
    """A total over ``days`` days as a rounded daily amount."""
    return round(Fraction(total_msat, days))


def repricing_impact(
    facts: ChannelFacts, current: ChannelPolicy, proposed: ChannelPolicy, limits: DecisionConfig
) -> ExpectedImpact:
    """Change of daily fee income if the last 7 days' outbound flow meets the new fee."""
    if facts.volume_out_7d_msat == 0:
        return ExpectedImpact(
            0,
            "no outbound volume in 7 days to reprice; any effect depends on demand the new "
            "fee finds",
        )
    old_ppm, new_ppm = current.fee_ppm, proposed.fee_ppm
    relative = 1.0 if old_ppm <= 0 else min(1.0, abs(new_ppm - old_ppm) / old_ppm)
    volume_change = -limits.fee_elasticity * relative * (1 if new_ppm > old_ppm else -1)
    factor = max(0.0, 1.0 + volume_change)
    before_msat = _fee_income_msat(current, facts.volume_out_7d_msat, facts.forwards_out_7d)
    after_msat = _fee_income_msat(
        proposed, round(facts.volume_out_7d_msat * factor), round(facts.forwards_out_7d * factor)
    )
    direction = "fall" if volume_change < 0 else "rise"
    return ExpectedImpact(
        per_day_msat(after_msat - before_msat, 7),
        f"7-day outbound volume {sat_text(facts.volume_out_7d_msat // 7)}/day at "
        f"{old_ppm} → {new_ppm} ppm, assuming volume would {direction} by "
        f"{abs(volume_change):.1%} (elasticity {limits.fee_elasticity:g})",
    )


def recovered_demand_impact(facts: ChannelFacts, policy: ChannelPolicy) -> ExpectedImpact:
    """Fees of the forwards we failed for lack of liquidity, at the average forward size."""
    if facts.local_failed_7d == 0 or facts.forwards_out_7d == 0:
        return ExpectedImpact(
            0,
            "no forward failed for lack of liquidity in 7 days, or their size is unknown; "
            "before the cost of rebalancing",
        )
    average_msat = facts.volume_out_7d_msat // facts.forwards_out_7d
    fee_msat = policy.fee_msat(average_msat)
    return ExpectedImpact(
        per_day_msat(facts.local_failed_7d * fee_msat, 7),
        f"{facts.local_failed_7d} forwards failed for lack of liquidity in 7 days, each worth "
        f"{fee_msat:,} msat at the average forward of {sat_text(average_msat)}; "
        "before the cost of rebalancing",
    )


def _fee_income_msat(policy: ChannelPolicy, volume_msat: int, forwards: int) -> int:
    return volume_msat * policy.fee_ppm // 1_000_000 + forwards * policy.base_fee_msat
