"""A comparison as a table for people and as JSON for scripts, with paired statistics."""

from __future__ import annotations

import statistics
from typing import Any

from lnopt.sim.compare import CompareParams, Comparison
from lnopt.sim.metrics import FIGURES, Summary, summarise
from lnopt.sim.stats import PairedRatio, paired_ratio, top_payment_share

REFERENCE = "lnopt"
_HEADERS = {
    "income_sat": "income sat",
    "rebalance_cost_sat": "rebal. cost",
    "net_income_sat": "net income",
    "capped_income_sat": "top 1% capped",
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
    """One row per policy (each figure as mean ± spread over seeds), then the paired verdicts."""
    summary = summarise(comparison.results)
    policies = [p for p in comparison.params.policies if p in summary]
    header = ["policy", *(_HEADERS[f] for f in FIGURES)]
    rows = [header]
    for policy in policies:
        rows.append([policy, *(_cell(summary[policy][f], f) for f in FIGURES)])
    lines = _aligned(rows)
    paired = paired_lines(comparison)
    if paired:
        lines += ["", *paired]
    lines += ["", *verdict_lines(comparison)]
    return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def paired(comparison: Comparison, *, capped: bool = False) -> dict[str, PairedRatio]:
    """lnopt against each other policy, row by row (world seed and stream): net income (routing
    income less rebalancing cost), raw or with the top 1% of payments capped."""

    def incomes(policy: str) -> dict[tuple[int, int], int]:
        return {
            r.row: r.capped_income_msat if capped else r.net_income_msat
            for r in comparison.of(policy)
        }

    mine = incomes(REFERENCE)
    found = {}
    for policy in comparison.params.policies:
        if policy == REFERENCE:
            continue
        ratio = paired_ratio(REFERENCE, policy, mine, incomes(policy))
        if ratio is not None:
            found[policy] = ratio
    return found


def _ratio_cell(ratio: PairedRatio) -> str:
    return (
        f"{ratio.geometric_mean:.2f}x [{ratio.low:.2f}, {ratio.high:.2f}] "
        f"won {ratio.wins}/{ratio.row_count}"
    )


def paired_lines(comparison: Comparison) -> list[str]:
    """The table of lnopt's paired income ratio against each policy, raw and capped."""
    raw, capped = paired(comparison), paired(comparison, capped=True)
    if not raw:
        return []
    rows = [["lnopt against", "net income ratio [95% interval]", "top 1% of payments capped"]]
    rows += [[policy, _ratio_cell(raw[policy]), _ratio_cell(capped[policy])] for policy in raw]
    note = (
        "net income ratio: geometric mean over rows (world seed, stream) of lnopt's net income "
        "(routing income less rebalancing cost) / the policy's, each row paired (same payments); "
        "interval: 95% bootstrap over worlds; won: rows lnopt earned more"
    )
    return [*_aligned(rows), note]


def _network_text(params: CompareParams) -> str:
    if params.node is not None:
        node = params.node
        return (
            f"node {node.node_id[:16]}… with its {len(node.channels)} channels in its own "
            f"gossip ({node.network.node_count:,} other nodes)"
        )
    if params.graph is not None:
        return str(params.graph)
    return f"a generated {params.nodes}-node network"


def verdict_lines(comparison: Comparison) -> list[str]:
    """What was run, lnopt against its strongest rival, and against the hindsight reference."""
    params = comparison.params
    streams = f" x {params.streams} streams" if params.streams > 1 else ""
    lines = [
        f"{len(params.seeds)} {_seed_range(params.seeds)}{streams}, {params.payments:,} payments "
        f"over {params.days:.3g} days (after a {params.warmup.days:.3g}-day warm-up) on "
        + _network_text(params)
    ]
    raw = paired(comparison)
    if raw:
        rival, ratio = min(raw.items(), key=lambda item: item[1].geometric_mean)
        verdict = verdict_of(ratio)
        lines.append(
            f"lnopt against its strongest rival ({rival}): {_ratio_cell(ratio)}: {verdict}"
        )
    top_shares = [top_payment_share(r.payment_income_msat) for r in comparison.of(REFERENCE)]
    if top_shares:
        lines.append(
            f"lnopt's 5 best-paying payments brought {100 * max(top_shares):.0f}% of its income "
            f"on its most concentrated seed ({100 * statistics.median(top_shares):.0f}% median)"
        )
    for label, out_of_sample in (
        ("in sample: searched on the stream scored", False),
        ("out of sample: searched on another stream", True),
    ):
        by_seed: dict[int, int] = {}
        for h in comparison.hindsight:
            figure = h.out_of_sample_income_msat if out_of_sample else h.income_msat
            if figure:
                by_seed[h.seed] = figure
        shares = [
            r.income_msat / by_seed[r.seed]
            for r in comparison.of(REFERENCE)
            if r.stream == 0 and r.seed in by_seed
        ]
        if shares:
            share = Summary.of(shares)
            lines.append(
                f"lnopt / hindsight best constant fees ({label}): "
                f"{share.mean:.2f} ± {share.spread:.2f}"
            )
    return lines


def verdict_of(ratio: PairedRatio) -> str:
    if ratio.low > 1:
        return "lnopt earns more (the whole interval is above 1)"
    if ratio.high < 1:
        return "lnopt earns less (the whole interval is below 1)"
    side = "less" if ratio.geometric_mean < 1 else "more"
    return f"lnopt earned {side} here, but the interval includes 1: these seeds cannot tell"


def _seed_range(seeds: tuple[int, ...]) -> str:
    if len(seeds) == 1:
        return f"seed ({seeds[0]})"
    if list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds ({seeds[0]}-{seeds[-1]})"
    return "seeds (" + ", ".join(str(s) for s in seeds) + ")"


def as_json(comparison: Comparison) -> dict[str, Any]:
    summary = summarise(comparison.results)
    params = comparison.params
    raw, capped = paired(comparison), paired(comparison, capped=True)
    return {
        "params": {
            "graph": str(params.graph) if params.graph else None,
            "node": params.node.node_id if params.node else None,
            "nodes": params.nodes,
            "seeds": list(params.seeds),
            "streams": params.streams,
            "days": params.days,
            "payments": params.payments,
            "warmup_days": params.warmup.days,
            "policies": list(params.policies),
        },
        "runs": [
            {
                "policy": r.policy,
                "seed": r.seed,
                "stream": r.stream,
                "stream_seed": r.stream_seed,
                "income_msat": r.income_msat,
                "rebalance_cost_msat": r.rebalance_cost_msat,
                "net_income_msat": r.net_income_msat,
                "rebalances": r.rebalances,
                "competitor_fee_changes": r.competitor_fee_changes,
                "capped_income_msat": r.capped_income_msat,
                "payments_that_paid_us": len(r.payment_income_msat),
                "top5_payment_share": top_payment_share(r.payment_income_msat),
            }
            | {figure: value for figure, value in r.figures().items()}
            for r in comparison.results
        ],
        "policies": {
            policy: {
                "figures": {
                    f: {"mean": s.mean, "spread": s.spread, "values": list(s.values)}
                    for f, s in figures.items()
                },
            }
            for policy, figures in summary.items()
        },
        "lnopt_against": {
            policy: {"income": _paired_json(raw[policy]), "capped": _paired_json(capped[policy])}
            for policy in raw
        },
        "hindsight": [
            {
                "seed": h.seed,
                "income_msat": h.income_msat,
                "out_of_sample_income_msat": h.out_of_sample_income_msat,
                "fees_ppm": dict(h.fees_ppm),
                "idle_channels": sorted(h.idle),
            }
            for h in comparison.hindsight
        ],
        "verdict": verdict_lines(comparison),
    }


def _paired_json(ratio: PairedRatio) -> dict[str, Any]:
    return {
        "geometric_mean": ratio.geometric_mean,
        "low": ratio.low,
        "high": ratio.high,
        "wins": ratio.wins,
        "losses": ratio.losses,
        "rows": [list(row) for row in ratio.rows],
        "log_ratios": list(ratio.log_ratios),
    }
