"""The methods lnopt answers, shared by the Core Lightning plugin (``lnopt-score`` ...) and the
command line (``lnopt score`` ...): each reads its parameters with :mod:`lnopt.params`' and
:mod:`lnopt.service.targets`' readers, drives the :class:`~lnopt.service.Service`'s optimizer
and answers :mod:`lnopt.rpc`'s JSON, so both answer the same thing for the same state.

Parameters are JSON values (or their text forms, as ``lightning-cli -k`` and the command line
pass them); a bad one is an :class:`~lnopt.errors.InvalidRequest` naming it and what it accepts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lnopt import rpc
from lnopt.charts import charts_json
from lnopt.params import read_bool, read_int, read_path, read_short_channel_id, read_time
from lnopt.service import ALL, Service
from lnopt.service.targets import (
    parse_proposal_id,
    read_channel,
    read_channel_or_all,
    read_proposal_target,
    read_rollback_target,
)

HISTORY_LIMIT_MAX = 10_000
REPORT_DAYS_MAX = 3650
ALERTS_MAX = 1000


class Methods:
    """lnopt's methods over the service ``service()`` returns when called."""

    def __init__(
        self, service: Callable[[], Service], *, clock: Callable[[], float] = time.time
    ) -> None:
        self._service = service
        self._clock = clock

    def score(self, channel: Any = None) -> Any:
        """Score our channels (or one): the score, its confidence and the eight parts, each
        with its score, confidence, explanation and raw values; and how fresh the graph is."""
        found = self._service().optimizer.score(read_channel(channel))
        return rpc.score_report_json(found, now_s=self._clock())

    def recommend(self, channel: Any = None) -> Any:
        """What lnopt would do with each channel (or one), and why: the decision, its reasons
        and confidence, the proposed policy, the expected impact and the guard's verdict; the
        proposals queued for lnopt-approve, and the channels lnopt leaves alone."""
        optimizer = self._service().optimizer
        found = optimizer.recommend(read_channel(channel))
        answer = rpc.recommendations_json(found, optimizer.proposals())
        return answer | {"hands_off": rpc.hands_off_json(optimizer.hands_off())}

    def apply(self, channel: Any = ALL, dryrun: Any = True) -> Any:
        """Apply the recommended fee changes of one channel or all, within the guard's limits.
        A dry run (the default) shows what would change; dryrun=false changes the node."""
        target, dry = read_channel_or_all(channel), read_bool("dryrun", dryrun)
        return rpc.batch_json(self._service().optimizer.apply(target, dryrun=dry))

    def approve(self, proposal: Any) -> Any:
        """Apply a proposal queued in advise mode (its id), or all of them (all)."""
        chosen = read_proposal_target(proposal)
        return rpc.batch_json(self._service().optimizer.approve(chosen))

    def reject(self, proposal: Any) -> Any:
        """Drop a proposal queued in advise mode (its id)."""
        return rpc.proposal_json(self._service().optimizer.reject(parse_proposal_id(proposal)))

    def rollback(self, target: Any, dryrun: Any = True) -> Any:
        """Restore the fees before a change (its id, e.g. 42), a batch (b7), a channel's latest
        change (its short channel id) or the last batch (last). A dry run (the default) shows
        what would be restored; dryrun=false changes the node."""
        chosen, dry = read_rollback_target(target), read_bool("dryrun", dryrun)
        return rpc.batch_json(self._service().optimizer.rollback(chosen, dryrun=dry))

    def history(self, channel: Any = None, since: Any = None, limit: Any = 100) -> Any:
        """Decisions and fee changes, newest first, of one channel or all, since a unix time."""
        found = self._service().optimizer.history(
            read_channel(channel),
            since_s=read_time("since", since),
            limit=read_int("limit", limit, minimum=1, maximum=HISTORY_LIMIT_MAX),
        )
        return rpc.history_json(found)

    def status(self) -> Any:
        """Mode, schedule, last and next run, the scheduler, counts, store, graph freshness,
        guard limits, the backend's limits and health, and the channels lnopt leaves alone."""
        service = self._service()
        answer = rpc.status_json(
            service.optimizer.status(), now_s=self._clock(), scheduler=service.scheduler_state()
        )
        return answer | {"hands_off": rpc.hands_off_json(service.optimizer.hands_off())}

    def report(self, days: Any = 7, png: Any = None) -> Any:
        """The shadow report over the last days: what lnopt would have changed and why, the
        activity it saw, and fee income before and after the changes it made. png=PATH also
        draws fee income per day with lnopt's changes and each channel's local share."""
        optimizer = self._service().optimizer
        chosen = read_int("days", days, minimum=1, maximum=REPORT_DAYS_MAX)
        answer = rpc.report_json(optimizer.report(chosen))
        picture = read_path("png", png)
        if picture is not None:
            answer["png"] = str(optimizer.report_picture(picture, chosen))
        return answer

    def charts(self, days: Any = 30) -> Any:
        """The report's pictures as data, for the LNbits extension's pages (not one of
        :data:`VERBS`): fee income and lnopt's fee changes, and each channel's local balance,
        over the last days."""
        chosen = read_int("days", days, minimum=1, maximum=REPORT_DAYS_MAX)
        return charts_json(self._service().store, days=chosen, now_s=self._clock())

    def alerts(self, limit: Any = 20) -> Any:
        """The alerts lnopt delivered lately, newest first: kind, channel or peer, message."""
        chosen = read_int("limit", limit, minimum=1, maximum=ALERTS_MAX)
        return rpc.alerts_json(self._service().optimizer.alerts(chosen))

    def release(self, channel: Any) -> Any:
        """Hand a channel lnopt left alone (its fee was changed outside lnopt) back to lnopt,
        which takes the node's fees now as its own."""
        chosen = read_short_channel_id("channel", channel)
        return rpc.released_json(self._service().optimizer.release(chosen))

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
    "alerts",
    "release",
)
