"""The methods lnopt answers, shared by the Core Lightning plugin (``lnopt-score`` ...) and the
command line (``lnopt score`` ...): each reads its parameters with :mod:`lnopt.rpc`'s readers,
drives the :class:`~lnopt.service.Optimizer` and answers :mod:`lnopt.rpc`'s JSON, so both
answer the same thing for the same state.

Parameters are JSON values (or their text forms, as ``lightning-cli -k`` and the command line
pass them); a bad one is an :class:`~lnopt.errors.InvalidRequest` naming it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lnopt import rpc
from lnopt.service import ALL, Optimizer


class Methods:
    """lnopt's methods over the optimizer ``optimizer()`` returns when called."""

    def __init__(
        self, optimizer: Callable[[], Optimizer], *, clock: Callable[[], float] = time.time
    ) -> None:
        self._optimizer = optimizer
        self._clock = clock

    def score(self, channel: Any = None) -> Any:
        """Score our channels (or one): the score, its confidence and the eight parts, each
        with its score, confidence, explanation and raw values; and how fresh the graph is."""
        found = self._optimizer().score(rpc.read_optional_channel(channel))
        return rpc.score_report_json(found, now_s=self._clock())

    def recommend(self, channel: Any = None) -> Any:
        """What lnopt would do with each channel (or one), and why: the decision, its reasons
        and confidence, the proposed policy, the expected impact and the guard's verdict; and
        the proposals queued for lnopt-approve."""
        optimizer = self._optimizer()
        found = optimizer.recommend(rpc.read_optional_channel(channel))
        return rpc.recommendations_json(found, optimizer.proposals())

    def apply(self, channel: Any = ALL, dryrun: Any = True) -> Any:
        """Apply the recommended fee changes of one channel or all, within the guard's limits.
        A dry run (the default) shows what would change; dryrun=false changes the node."""
        target, dry = rpc.read_target("channel", channel), rpc.read_bool("dryrun", dryrun)
        return rpc.batch_json(self._optimizer().apply(target, dryrun=dry))

    def approve(self, proposal: Any) -> Any:
        """Apply a proposal queued in advise mode (its id), or all of them (all)."""
        return rpc.batch_json(self._optimizer().approve(rpc.read_target("proposal", proposal)))

    def reject(self, proposal: Any) -> Any:
        """Drop a proposal queued in advise mode (its id)."""
        proposal_id = rpc.read_int("proposal", proposal, minimum=1)
        return rpc.proposal_json(self._optimizer().reject(proposal_id))

    def rollback(self, target: Any, dryrun: Any = True) -> Any:
        """Restore the fees before a change (its id, e.g. 42), a batch (b7), a channel's latest
        change (its short channel id) or the last batch (last). A dry run (the default) shows
        what would be restored; dryrun=false changes the node."""
        chosen, dry = rpc.read_target("target", target), rpc.read_bool("dryrun", dryrun)
        return rpc.batch_json(self._optimizer().rollback(chosen, dryrun=dry))

    def history(self, channel: Any = None, since: Any = None, limit: Any = 100) -> Any:
        """Decisions and fee changes, newest first, of one channel or all, since a unix time."""
        found = self._optimizer().history(
            rpc.read_optional_channel(channel),
            since_s=rpc.read_time("since", since),
            limit=rpc.read_int("limit", limit, minimum=1),
        )
        return rpc.history_json(found)

    def status(self) -> Any:
        """Mode, schedule, last and next run, counts, store, graph freshness, guard limits."""
        return rpc.status_json(self._optimizer().status(), now_s=self._clock())

    def report(self, days: Any = 7) -> Any:
        """The shadow report over the last days: what lnopt would have changed and why, the
        activity it saw, and fee income before and after the changes it made."""
        return rpc.report_json(self._optimizer().report(rpc.read_int("days", days, minimum=1)))

    def by_name(self) -> dict[str, Callable[..., Any]]:
        """Each method by its verb (``score``, ``recommend`` ...)."""
        return {verb: getattr(self, verb) for verb in VERBS}


VERBS = (
    "score",
    "recommend",
    "apply",
    "approve",
    "reject",
    "rollback",
    "history",
    "status",
    "report",
)
