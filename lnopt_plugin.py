#!/usr/bin/env python3
"""lnopt as a Core Lightning plugin: options, RPC methods, ``forward_event``, background work.

Glue only. The methods are :mod:`lnopt.methods`' (shared with the command line): each drives
the :class:`~lnopt.service.Optimizer`, its parameters read and results rendered by
:mod:`lnopt.rpc`; the store, optimizer and scheduler are a :class:`~lnopt.service.Service`
(shared with the standalone runner); the options are declared and read by
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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pyln.client import LightningRpc, Plugin
from pyln.client.plugin import Request

from lnopt.alerts.delivery import NOTIFICATION_TOPIC
from lnopt.backends.cln import ClnBackend
from lnopt.errors import InvalidRequest, LnoptError
from lnopt.methods import Methods
from lnopt.operations import Operations
from lnopt.plugin_options import (
    GuardOption,
    add_operations_options,
    add_options,
    read_interval,
    read_operations,
    read_settings,
    with_alert_cap,
    with_guard_option,
    with_operations,
)
from lnopt.plugin_protocol import LnoptPlugin
from lnopt.recorder import ForwardRecorder
from lnopt.service import Optimizer, Service, parse_mode
from lnopt.service.simulation_job import SimulationJobs

logger = logging.getLogger("lnopt.plugin")

WORKER_THREADS = 2
SIMULATION_FOLDER = "lnopt-simulate"  # beside the store: the node's answers and the last answer
SHUTDOWN_WAIT_S = 5.0  # how long a scheduled run in progress may hold up the node's shutdown


class LnoptApp:
    """Everything the running plugin holds; set up by ``init``, torn down at exit."""

    def __init__(self) -> None:
        self._service: Service | None = None
        self.simulations = SimulationJobs()  # attached to the node at init
        self._recorder: ForwardRecorder | None = None
        self._operations: Operations | None = None
        self._notify: Callable[[str, dict[str, Any]], None] | None = None
        self._log: Callable[[str, str], None] | None = None
        self._jobs: queue.SimpleQueue[tuple[Request, Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._workers: list[threading.Thread] = []

    @property
    def service(self) -> Service:
        if self._service is None:
            raise InvalidRequest("lnopt is not initialised (it was disabled at start-up)")
        return self._service

    @property
    def optimizer(self) -> Optimizer:
        return self.service.optimizer

    def deliver_alerts_with(
        self, notify: Callable[[str, dict[str, Any]], None], log: Callable[[str, str], None]
    ) -> None:
        """How alerts reach other plugins (custom notifications) and the node's log."""
        self._notify, self._log = notify, log

    # --- life cycle ------------------------------------------------------------------------

    def init(self, options: Mapping[str, Any], configuration: Mapping[str, Any]) -> Any:
        lightning_dir = str(configuration["lightning-dir"])
        try:
            settings = read_settings(options, lightning_dir)
            operations = read_operations(options)
            settings = with_operations(settings, operations)
            rpc = LightningRpc(str(Path(lightning_dir) / str(configuration["rpc-file"])))
            backend = ClnBackend(rpc, graph_refresh_s=settings.config.graph.refresh_s)
            service = Service.open(backend, settings)
        except LnoptError as exc:
            logger.warning("event=disabled reason=%r", str(exc))
            return {"disable": f"lnopt: {exc}"}
        except Exception as exc:  # a start-up lnopt did not foresee still disables it cleanly
            logger.exception("event=disabled (unexpected)")
            return {"disable": f"lnopt could not start ({type(exc).__name__}); see the log"}
        try:
            self._operations = Operations(
                service.optimizer, service.store, operations, notify=self._notify, log=self._log
            )
        except LnoptError as exc:
            service.close()
            logger.warning("event=disabled reason=%r", str(exc))
            return {"disable": f"lnopt: {exc}"}
        self._service = service
        self.simulations.attach(
            settings.db_path.parent / SIMULATION_FOLDER,
            rpc.call,
            config=lambda: service.optimizer.config,
        )
        self._recorder = ForwardRecorder(service.store, listener=self._operations.watch)
        self._operations.watch_recorder(self._recorder)
        self._recorder.start()
        service.start()
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

    def stop(self) -> None:
        """Finish what is queued and close the store (idempotent)."""
        if self._recorder is not None:
            self._recorder.stop()
        self.simulations.stop()
        if self._operations is not None:
            self._operations.close()
            self._operations = None
        for _ in self._workers:
            self._jobs.put(None)
        self._workers.clear()
        if self._service is not None:
            self._service.close(SHUTDOWN_WAIT_S)
        self._recorder = None

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
        if self._service is not None:
            self._service.scheduler.wake()

    def set_guard(self, spec: GuardOption, value: Any) -> None:
        optimizer = self.optimizer
        optimizer.set_config(with_guard_option(optimizer.config, spec, value))

    def set_alert_cap(self, value: Any) -> None:
        optimizer = self.optimizer
        optimizer.set_config(with_alert_cap(optimizer.config, value))


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
    add_operations_options(plugin, app)
    plugin.add_notification_topic(NOTIFICATION_TOPIC)
    app.deliver_alerts_with(plugin.notify, plugin.log)
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
    methods = Methods(lambda: app.service)
    for verb, handler in methods.by_name().items():
        name = f"lnopt-{verb}"
        method = background_method(app, handler)
        plugin.add_method(name, method, background=True, description=handler.__doc__)

    plugin.add_method(
        "lnopt-simulate",
        background_method(app, app.simulations.simulate),
        background=True,
        description=SimulationJobs.simulate.__doc__,
    )


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
