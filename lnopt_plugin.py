#!/usr/bin/env python3
"""lnopt as a Core Lightning plugin: options, RPC methods, ``forward_event``, background work.

Glue only. Every method drives the :class:`~lnopt.service.Optimizer`; parameters are read and
results rendered by :mod:`lnopt.rpc`; the options are declared and read by
:mod:`lnopt.plugin_options`. pyln-client dispatches every call and notification in one loop, so
nothing slow runs there: ``forward_event`` hands the event to the recorder's bounded queue,
method calls run on worker threads and answer when done, and recovery, backfill and the
scheduled runs run in the scheduler's thread. Requests are read and answered by
:class:`~lnopt.plugin_protocol.LnoptPlugin`: parameters are checked against each method's
signature, an ``lnopt.errors`` error becomes a JSON-RPC error whose message says what to do,
anything else is logged with its traceback and answered with a short message, and no answer
carries a traceback. Parameters are read by :mod:`lnopt.params` and the service's targets.
"""

from __future__ import annotations

import inspect
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pyln.client import Plugin
from pyln.client.plugin import Request

from lnopt import rpc
from lnopt.backends.cln import ClnBackend
from lnopt.errors import InvalidRequest, LnoptError
from lnopt.params import read_bool, read_int, read_time
from lnopt.plugin_options import (
    GuardOption,
    add_options,
    read_interval,
    read_settings,
    with_guard_option,
)
from lnopt.plugin_protocol import LnoptPlugin
from lnopt.recorder import ForwardRecorder
from lnopt.service import ALL, Optimizer, Scheduler, SchedulerState, parse_mode
from lnopt.service.targets import (
    parse_proposal_id,
    read_channel,
    read_channel_or_all,
    read_proposal_target,
    read_rollback_target,
)
from lnopt.store import Store

logger = logging.getLogger("lnopt.plugin")

WORKER_THREADS = 2
HISTORY_LIMIT_MAX = 10_000
REPORT_DAYS_MAX = 3650


class LnoptApp:
    """Everything the running plugin holds; set up by ``init``, torn down at exit."""

    def __init__(self) -> None:
        self._optimizer: Optimizer | None = None
        self._store: Store | None = None
        self._recorder: ForwardRecorder | None = None
        self._scheduler: Scheduler | None = None
        self._jobs: queue.SimpleQueue[tuple[Request, Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._workers: list[threading.Thread] = []

    @property
    def optimizer(self) -> Optimizer:
        if self._optimizer is None:
            raise InvalidRequest("lnopt is not initialised (it was disabled at start-up)")
        return self._optimizer

    # --- life cycle ------------------------------------------------------------------------

    def init(self, options: Mapping[str, Any], configuration: Mapping[str, Any]) -> Any:
        lightning_dir = str(configuration["lightning-dir"])
        try:
            settings = read_settings(options, lightning_dir)
            store = Store(settings.db_path, retention_days=settings.config.store.retention_days)
        except LnoptError as exc:
            logger.warning("event=disabled reason=%r", str(exc))
            return {"disable": f"lnopt: {exc}"}
        except Exception as exc:  # a start-up lnopt did not foresee still disables it cleanly
            logger.exception("event=disabled (unexpected)")
            return {"disable": f"lnopt could not start ({type(exc).__name__}); see the log"}
        backend = ClnBackend.from_socket(
            Path(lightning_dir) / str(configuration["rpc-file"]),
            graph_refresh_s=settings.config.graph.refresh_s,
        )
        self._store = store
        self._optimizer = Optimizer(
            backend, store, settings.config, mode=settings.mode, interval_s=settings.interval_s
        )
        self._recorder = ForwardRecorder(store)
        self._recorder.start()
        self._scheduler = Scheduler(self._optimizer)
        self._scheduler.start()
        for n in range(WORKER_THREADS):
            worker = threading.Thread(target=self._work, name=f"lnopt-rpc-{n}", daemon=True)
            worker.start()
            self._workers.append(worker)
        logger.info(
            "event=started mode=%s interval_s=%d db=%s",
            settings.mode.value,
            settings.interval_s,
            settings.db_path,
        )
        return None

    def scheduler_state(self) -> SchedulerState | None:
        return None if self._scheduler is None else self._scheduler.state()

    def stop(self) -> None:
        """Finish what is queued and close the store (idempotent)."""
        if self._scheduler is not None:
            self._scheduler.stop()
        if self._recorder is not None:
            self._recorder.stop()
        for _ in self._workers:
            self._jobs.put(None)
        self._workers.clear()
        if self._store is not None:
            self._store.close()
        self._scheduler = self._recorder = self._store = None

    # --- events and calls ------------------------------------------------------------------

    def record_forward(self, event: Any) -> None:
        """Constant work: hand the event to the recorder's queue (none before init)."""
        recorder = self._recorder
        if recorder is not None:
            recorder.submit_event(event)

    def submit(self, request: Request, work: Callable[[], Any]) -> None:
        """Answer ``request`` with ``work()``'s result from a worker thread."""
        self._jobs.put((request, work))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            request, work = job
            answer(request, work)

    # --- dynamic options -------------------------------------------------------------------

    def set_mode(self, value: Any) -> None:
        self.optimizer.set_mode(parse_mode(value, what="lnopt-mode"))

    def set_interval(self, value: Any) -> None:
        self.optimizer.set_interval(read_interval(value))
        if self._scheduler is not None:
            self._scheduler.wake()

    def set_guard(self, spec: GuardOption, value: Any) -> None:
        optimizer = self.optimizer
        optimizer.set_config(with_guard_option(optimizer.config, spec, value))


def answer(request: Request, work: Callable[[], Any]) -> None:
    """Run ``work`` and answer ``request``: its result, or (through the request's one error
    path, :class:`~lnopt.plugin_protocol.LnoptRequest`) an error an operator can act on."""
    try:
        result = work()
    except Exception as exc:
        request.set_exception(exc)
    else:
        request.set_result(result)


def build_plugin(app: LnoptApp) -> Plugin:
    """A pyln Plugin with lnopt's options, methods and subscriptions, bound to ``app``."""
    plugin = LnoptPlugin()
    add_options(plugin, app)
    _add_methods(plugin, app)

    def on_forward_event(forward_event: Any = None, **kwargs: Any) -> None:
        app.record_forward(forward_event)

    def on_shutdown(**kwargs: Any) -> None:
        app.stop()
        raise SystemExit(0)

    def on_init(options: dict[str, Any], configuration: dict[str, Any], **kwargs: Any) -> Any:
        return app.init(options, configuration)

    plugin.add_subscription("forward_event", on_forward_event)
    plugin.add_subscription("shutdown", on_shutdown)
    plugin.init()(on_init)
    return plugin


def background_method(app: LnoptApp, handler: Callable[..., Any]) -> Callable[..., None]:
    """The pyln method for ``handler``: ``request`` and then ``handler``'s own parameters (so
    pyln writes the usage and :class:`~lnopt.plugin_protocol.LnoptPlugin` checks a call against
    them); it queues the call for a worker thread, which answers with ``handler``'s result."""

    def method(request: Request, *args: Any, **kwargs: Any) -> None:
        app.submit(request, lambda: handler(*args, **kwargs))

    accepted = inspect.signature(handler)
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__signature__ = accepted.replace(  # type: ignore[attr-defined]
        parameters=[request, *accepted.parameters.values()]
    )
    method.__doc__ = handler.__doc__
    return method


def _add_methods(plugin: Plugin, app: LnoptApp) -> None:
    def score(channel: Any = None) -> Any:
        """Score our channels (or one): the score, its confidence and the eight parts, each
        with its score, confidence, explanation and raw values; and how fresh the graph is."""
        found = app.optimizer.score(read_channel(channel))
        return rpc.score_report_json(found, now_s=time.time())

    def recommend(channel: Any = None) -> Any:
        """What lnopt would do with each channel (or one), and why: the decision, its reasons
        and confidence, the proposed policy, the expected impact and the guard's verdict; and
        the proposals queued for lnopt-approve."""
        found = app.optimizer.recommend(read_channel(channel))
        return rpc.recommendations_json(found, app.optimizer.proposals())

    def apply(channel: Any = ALL, dryrun: Any = True) -> Any:
        """Apply the recommended fee changes of one channel or all, within the guard's limits.
        A dry run (the default) shows what would change; dryrun=false changes the node."""
        target, dry = read_channel_or_all(channel), read_bool("dryrun", dryrun)
        return rpc.batch_json(app.optimizer.apply(target, dryrun=dry))

    def approve(proposal: Any) -> Any:
        """Apply a proposal queued in advise mode (its id), or all of them (all)."""
        return rpc.batch_json(app.optimizer.approve(read_proposal_target(proposal)))

    def reject(proposal: Any) -> Any:
        """Drop a proposal queued in advise mode (its id)."""
        return rpc.proposal_json(app.optimizer.reject(parse_proposal_id(proposal)))

    def rollback(target: Any, dryrun: Any = True) -> Any:
        """Restore the fees before a change (its id, e.g. 42), a batch (b7), a channel's latest
        change (its short channel id) or the last batch (last). A dry run (the default) shows
        what would be restored; dryrun=false changes the node."""
        chosen, dry = read_rollback_target(target), read_bool("dryrun", dryrun)
        return rpc.batch_json(app.optimizer.rollback(chosen, dryrun=dry))

    def history(channel: Any = None, since: Any = None, limit: Any = 100) -> Any:
        """Decisions and fee changes, newest first, of one channel or all, since a unix time."""
        found = app.optimizer.history(
            read_channel(channel),
            since_s=read_time("since", since),
            limit=read_int("limit", limit, minimum=1, maximum=HISTORY_LIMIT_MAX),
        )
        return rpc.history_json(found)

    def status() -> Any:
        """Mode, schedule, last and next run, counts, store, graph freshness, guard limits."""
        return rpc.status_json(
            app.optimizer.status(), now_s=time.time(), scheduler=app.scheduler_state()
        )

    def report(days: Any = 7) -> Any:
        """The shadow report over the last days: what lnopt would have changed and why, the
        activity it saw, and fee income before and after the changes it made."""
        chosen = read_int("days", days, minimum=1, maximum=REPORT_DAYS_MAX)
        return rpc.report_json(app.optimizer.report(chosen))

    for name, handler in (
        ("lnopt-score", score),
        ("lnopt-recommend", recommend),
        ("lnopt-apply", apply),
        ("lnopt-approve", approve),
        ("lnopt-reject", reject),
        ("lnopt-rollback", rollback),
        ("lnopt-history", history),
        ("lnopt-status", status),
        ("lnopt-report", report),
    ):
        method = background_method(app, handler)
        plugin.add_method(name, method, background=True, description=handler.__doc__)


def main() -> None:
    logging.getLogger("lnopt").setLevel(logging.INFO)
    app = LnoptApp()
    plugin = build_plugin(app)
    try:
        plugin.run()
    finally:
        app.stop()


if __name__ == "__main__":
    main()
