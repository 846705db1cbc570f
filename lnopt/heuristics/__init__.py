"""The eight heuristics, each a pure function registered by name.

Each module of this package scores channels one way and registers its heuristic with
:func:`~lnopt.heuristics.base.register`; importing the package imports every one of them, so
:data:`REGISTRY` holds all eight. What they are built from (the :class:`HeuristicContext`, the
shared :class:`SnapshotFacts`, helpers) lives in :mod:`lnopt.heuristics.base`, which the modules
import; the modules never import this package's ``__init__``.
"""

from __future__ import annotations

from lnopt.heuristics import (
    activity,
    age,
    centrality,
    competitiveness,
    liquidity,
    peer_quality,
    position,
    reliability,
)
from lnopt.heuristics.base import (
    NEUTRAL_SCORE,
    REGISTRY,
    Heuristic,
    HeuristicContext,
    SnapshotFacts,
    format_sat,
    register,
)

__all__ = [
    "NEUTRAL_SCORE",
    "REGISTRY",
    "Heuristic",
    "HeuristicContext",
    "SnapshotFacts",
    "activity",
    "age",
    "centrality",
    "competitiveness",
    "format_sat",
    "liquidity",
    "load_all",
    "peer_quality",
    "position",
    "register",
    "reliability",
]


def load_all() -> dict[str, Heuristic]:
    """The registry: every heuristic of the package, by name."""
    return REGISTRY
