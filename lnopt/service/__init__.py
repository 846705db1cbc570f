"""The Optimizer: the one service every driver of lnopt runs.

``snapshot → score → decide → guard → execute``. The plugin, the command line and the
standalone runners all drive an :class:`Optimizer`; it reads the node through a
:class:`~lnopt.backends.base.Backend`, keeps its memory in the :class:`~lnopt.store.Store`, and
changes fees only through the :class:`~lnopt.executor.Executor`.

Modes (:class:`~lnopt.model.Mode`): ``shadow`` decides and logs and never changes the node (a
real apply, approval or rollback is refused); ``advise`` queues proposals for an operator to
approve or reject; ``auto`` applies what the guard allows on the schedule. Recovery of a change
a crash left open is not a new change: it runs in every mode, before anything else touches fees.

Parts: :mod:`~lnopt.service.optimizer` (the pipeline, the advise queue, rollback, recovery),
:mod:`~lnopt.service.proposals` (which queued proposals still apply when approved),
:mod:`~lnopt.service.backfill` (reading the node's forwarding history from a stored cursor),
:mod:`~lnopt.service.targets` (what an operator's request names: modes, channels, proposals,
rollback targets) and :mod:`~lnopt.service.scheduler` (the background thread). The value types
it answers with and the read-only views live in :mod:`lnopt.reports`.

Thread safety: everything that reads the node and may act on it holds one lock, so a scheduled
run and an operator's call never interleave; :meth:`Optimizer.status`, :meth:`Optimizer.history`
and :meth:`Optimizer.report` read only the store and never wait for it.
"""

from lnopt.reports import (
    GraphFreshness,
    History,
    Recommendation,
    ScoreReport,
    ShadowReport,
    Status,
)
from lnopt.service.optimizer import Optimizer
from lnopt.service.scheduler import Scheduler, SchedulerState
from lnopt.service.targets import ALL, LAST, parse_mode, require_short_channel_id

__all__ = [
    "ALL",
    "LAST",
    "GraphFreshness",
    "History",
    "Optimizer",
    "Recommendation",
    "Scheduler",
    "SchedulerState",
    "ScoreReport",
    "ShadowReport",
    "Status",
    "parse_mode",
    "require_short_channel_id",
]
