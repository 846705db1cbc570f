"""Plain-text tables for operators: channel scores, their eight parts, and the decisions."""

from __future__ import annotations

from collections.abc import Sequence

from lnopt.model import ChannelScore, Decision
from lnopt.snapshot import NodeSnapshot

_PART_LABELS = {
    "centrality": "cent",
    "liquidity": "liq",
    "activity": "act",
    "competitiveness": "comp",
    "reliability": "rel",
    "age": "age",
    "peer_quality": "peer",
    "position": "pos",
}


def short_id(node_id: str) -> str:
    return f"{node_id[:8]}…{node_id[-4:]}" if len(node_id) > 14 else node_id


def sat(msat: int) -> str:
    return f"{msat // 1000:,}"


def score_table(
    snapshot: NodeSnapshot,
    scores: Sequence[ChannelScore],
    decisions: Sequence[Decision],
    *,
    aliases: dict[str, str] | None = None,
    explain: bool = True,
) -> str:
    """One row per channel (score, parts, decision), then each decision's reasons."""
    aliases = aliases or {}
    part_names = [part.name for part in scores[0].parts] if scores else []
    header = (
        f"{'channel':<16} {'peer':<18} {'capacity sat':>13} {'local':>6} "
        f"{'score':>5} {'conf':>4} | "
        + " ".join(f"{_PART_LABELS.get(name, name[:4]):>4}" for name in part_names)
        + f" | {'decision':<11} {'conf':<6} {'fee ppm':>12}"
    )
    lines = [header, "-" * len(header)]
    by_scid = {channel.short_channel_id: channel for channel in snapshot.channels}
    for score, decision in zip(scores, decisions, strict=True):
        channel = by_scid[score.short_channel_id]
        peer = aliases.get(channel.peer_id) or short_id(channel.peer_id)
        local = f"{channel.local_ratio:.0%}" if channel.balance_known else "?"
        fee = f"{decision.current_policy.fee_ppm}"
        if decision.proposed_policy is not None:
            fee += f"→{decision.proposed_policy.fee_ppm}"
        lines.append(
            f"{score.short_channel_id:<16} {peer[:18]:<18} {sat(channel.capacity_msat):>13} "
            f"{local:>6} {score.score:>5.2f} {score.confidence:>4.2f} | "
            + " ".join(f"{part.score:>4.2f}" for part in score.parts)
            + f" | {decision.action.value:<11} {decision.level.value:<6} {fee:>12}"
        )
    if explain:
        lines.append("")
        for score, decision in zip(scores, decisions, strict=True):
            lines.append(
                f"{score.short_channel_id}: {decision.action.value} — " + " ".join(decision.reasons)
            )
            impact = decision.impact
            lines.append(
                f"    expected: {impact.daily_fee_delta_msat:+,} msat/day ({impact.basis})"
            )
            for part in score.parts:
                lines.append(
                    f"    {part.name:<16} {part.score:.2f} "
                    f"(conf {part.confidence:.2f}) {part.explanation}"
                )
    return "\n".join(lines)
