"""The scorer: every configured heuristic on every channel, combined into one score.

Each part counts in proportion to its configured weight times its own confidence, so a
heuristic that lacks data (peer missing from the graph, no forwarding history) moves the score
little::

    score      = sum(w_i * c_i * s_i) / sum(w_i * c_i)   (plain sum(w_i * s_i) if all c_i are 0)
    confidence = sum(w_i * c_i) / sum(w_i)

Parts keep the order of the configured weights. Pure and deterministic: no I/O; the graph
metrics come from the snapshot's graph with the configured sampling and seed unless given.
A heuristic that raises is a bug: it is logged and its part becomes neutral with confidence 0,
so one faulty heuristic cannot stop a run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from lnopt.config import Config
from lnopt.errors import ConfigError, InvalidRequest
from lnopt.graph import GraphMetrics
from lnopt.heuristics import (
    NEUTRAL_SCORE,
    Heuristic,
    HeuristicContext,
    SnapshotFacts,
    load_all,
)
from lnopt.model import Channel, ChannelScore, HeuristicScore
from lnopt.snapshot import NodeSnapshot

log = logging.getLogger(__name__)

LISTED_CHANNELS = 10


def validate_weights(config: Config) -> dict[str, Heuristic]:
    """The heuristics named by ``config.weights``, in order; ConfigError if one is unknown."""
    registry = load_all()
    accepted = ", ".join(sorted(registry))
    if not config.weights:
        raise ConfigError(f"weights: no heuristic is weighted; accepted names: {accepted}")
    selected: dict[str, Heuristic] = {}
    for name in config.weights:
        heuristic = registry.get(name)
        if heuristic is None:
            raise ConfigError(f"weights.{name}: no such heuristic; accepted: {accepted}")
        selected[name] = heuristic
    return selected


def combine(parts: Sequence[HeuristicScore], weights: Mapping[str, float]) -> tuple[float, float]:
    """Score and confidence of a channel from its parts, as the module docstring defines."""
    total_weight = sum(weights[part.name] for part in parts)
    if total_weight <= 0:
        return NEUTRAL_SCORE, 0.0
    trusted_weight = sum(weights[part.name] * part.confidence for part in parts)
    if trusted_weight > 0:
        score = (
            sum(weights[part.name] * part.confidence * part.score for part in parts)
            / trusted_weight
        )
    else:
        score = sum(weights[part.name] * part.score for part in parts) / total_weight
    return score, trusted_weight / total_weight


def score_channels(
    snapshot: NodeSnapshot,
    config: Config,
    *,
    metrics: GraphMetrics | None = None,
    only: str | None = None,
) -> tuple[ChannelScore, ...]:
    """Score our channels (or only the one with short channel id ``only``)."""
    heuristics = validate_weights(config)
    channels = _select(snapshot.channels, only)
    if metrics is None:
        metrics = snapshot.graph.metrics(
            betweenness_samples=config.graph.samples, seed=config.graph.seed
        )
    facts = SnapshotFacts(snapshot)
    scores = []
    for channel in channels:
        context = HeuristicContext(
            snapshot=snapshot,
            channel=channel,
            activity=snapshot.activity_of(channel.short_channel_id),
            metrics=metrics,
            config=config,
            facts=facts,
        )
        parts = tuple(_run(name, heuristic, context) for name, heuristic in heuristics.items())
        score, confidence = combine(parts, config.weights)
        log.debug(
            "scored channel=%s score=%.3f confidence=%.3f",
            channel.short_channel_id,
            score,
            confidence,
        )
        scores.append(
            ChannelScore(
                short_channel_id=channel.short_channel_id,
                peer_id=channel.peer_id,
                score=score,
                confidence=confidence,
                parts=parts,
            )
        )
    return tuple(scores)


def _select(channels: Iterable[Channel], only: str | None) -> list[Channel]:
    channels = list(channels)
    if only is None:
        return channels
    chosen = [channel for channel in channels if channel.short_channel_id == only]
    if not chosen:
        ids = [channel.short_channel_id for channel in channels]
        listed = ", ".join(ids[:LISTED_CHANNELS])
        more = f" and {len(ids) - LISTED_CHANNELS} more" if len(ids) > LISTED_CHANNELS else ""
        raise InvalidRequest(
            f"unknown channel {only!r}: accepted values are our short channel ids "
            f"({listed or 'we have no channel'}{more})"
        )
    return chosen


def _run(name: str, heuristic: Heuristic, context: HeuristicContext) -> HeuristicScore:
    try:
        return heuristic(context)
    except Exception as exc:
        log.exception("heuristic failed name=%s channel=%s", name, context.channel.short_channel_id)
        return HeuristicScore(
            name=name,
            score=NEUTRAL_SCORE,
            confidence=0.0,
            raw={"error": type(exc).__name__},
            explanation=f"heuristic failed ({type(exc).__name__}: {exc}): ignored",
        )
