"""A comparison as a table for people and as JSON for scripts."""

from __future__ import annotations

from typing import Any

from lnopt.sim.compare import Comparison
from lnopt.sim.metrics import FIGURES, Summary, income_ratio, summarise

REFERENCE = "lnopt"
_HEADERS = {
    "income_sat": "income sat",
    "forwards": "forwards",
    "volume_btc": "volume BTC",
    "failed_liquidity": "failed (liq)",
    "depleted_pct": "empty %",
    "saturated_pct": "full %",
    "fee_updates": "fee updates",
    "gossip_dropped": "dropped upd",
    "success_pct": "net success %",
}


def _cell(summary: Summary, figure: str) -> str:
    digits = 2 if figure in ("volume_btc",) else 1 if figure.endswith("_pct") else 0
    return f"{summary.mean:,.{digits}f} ± {summary.spread:,.{digits}f}"


def table(comparison: Comparison) -> str:
    """One row per policy: each figure as mean ± spread over seeds, and income vs lnopt."""
    summary = summarise(comparison.results)
    policies = [p for p in comparison.params.policies if p in summary]
    header = ["policy", *(_HEADERS[f] for f in FIGURES), "income / lnopt"]
    rows = [header]
    for policy in policies:
        ratio = income_ratio(comparison.results, policy, REFERENCE)
        rows.append(
            [
                policy,
                *(_cell(summary[policy][f], f) for f in FIGURES),
                "-" if ratio is None else f"{ratio.mean:.2f} ± {ratio.spread:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", *verdict_lines(comparison)]
    return "\n".join(lines)


def verdict_lines(comparison: Comparison) -> list[str]:
    """lnopt against the best baseline and against the hindsight reference."""
    summary = summarise(comparison.results)
    if REFERENCE not in summary:
        return []
    baselines = [p for p in summary if p != REFERENCE]
    params = comparison.params
    lines = [
        f"{len(params.seeds)} seeds, {params.payments:,} payments over {params.days:g} days on "
        + (str(params.graph) if params.graph else f"a generated {params.nodes}-node network")
    ]
    if baselines:
        best = max(baselines, key=lambda p: summary[p]["income_sat"].mean)
        ratio = income_ratio(comparison.results, REFERENCE, best)
        mean_ratio = summary[REFERENCE]["income_sat"].mean / max(
            1e-9, summary[best]["income_sat"].mean
        )
        lines.append(
            f"lnopt / best baseline ({best}): {mean_ratio:.2f}x of mean income"
            + ("" if ratio is None else f" (per seed {ratio.mean:.2f} ± {ratio.spread:.2f})")
        )
    if comparison.hindsight:
        by_seed = {h.seed: h.income_msat for h in comparison.hindsight}
        shares = [
            r.income_msat / by_seed[r.seed]
            for r in comparison.of(REFERENCE)
            if by_seed.get(r.seed, 0) > 0
        ]
        if shares:
            share = Summary.of(shares)
            lines.append(
                f"lnopt / hindsight best constant fees: {share.mean:.2f} ± {share.spread:.2f}"
            )
    return lines


def as_json(comparison: Comparison) -> dict[str, Any]:
    summary = summarise(comparison.results)
    params = comparison.params
    return {
        "params": {
            "graph": str(params.graph) if params.graph else None,
            "nodes": params.nodes,
            "seeds": list(params.seeds),
            "days": params.days,
            "payments": params.payments,
            "policies": list(params.policies),
        },
        "policies": {
            policy: {
                "figures": {
                    f: {"mean": s.mean, "spread": s.spread, "values": list(s.values)}
                    for f, s in figures.items()
                },
                "income_vs_lnopt": _ratio_json(comparison, policy),
            }
            for policy, figures in summary.items()
        },
        "hindsight": [
            {"seed": h.seed, "income_msat": h.income_msat, "fees_ppm": dict(h.fees_ppm)}
            for h in comparison.hindsight
        ],
        "verdict": verdict_lines(comparison),
    }


def _ratio_json(comparison: Comparison, policy: str) -> dict[str, float] | None:
    ratio = income_ratio(comparison.results, policy, REFERENCE)
    return None if ratio is None else {"mean": ratio.mean, "spread": ratio.spread}
