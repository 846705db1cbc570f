"""lnopt's engine inside LNbits: one :class:`~lnopt.service.Service` for the funding source's
node, opened when the extension starts and closed when it stops.

The engine is the installed ``lnopt`` package (the Optimizer the Core Lightning plugin and the
standalone runner drive); its backend is :class:`~lnopt.backends.lnbits.LnbitsNodeBackend` over
LNbits' own ``Node`` object (:class:`~lnopt.backends.lnbits_node.InProcessNodeApi`). lnopt is
synchronous and LNbits' node is async: every call of the engine runs in a worker thread
(:meth:`Engine.call`), the scheduler in its own thread, and each node call is sent back to
LNbits' event loop (see :mod:`lnopt.backends.lnbits_node`).
"""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lnbits.core.views.node_api import require_node
from lnbits.settings import settings as lnbits_settings
from loguru import logger

from lnopt import rpc
from lnopt.backends.lnbits import LnbitsNodeBackend
from lnopt.backends.lnbits_node import InProcessNodeApi
from lnopt.methods import Methods
from lnopt.service import Service

from .settings import ExtensionSettings, read_document

NODE_POLL_S = 2.0  # how often the start waits for LNbits' funding source to have a node
CLOSE_TIMEOUT_S = 10.0


class EngineNotReady(Exception):
    """The service is not open (the extension is starting or stopped)."""


class Engine:
    """The running lnopt of this LNbits process."""

    def __init__(self) -> None:
        self._service: Service | None = None
        self._settings: ExtensionSettings | None = None
        self.methods = Methods(self._current)

    @property
    def data_folder(self) -> Path:
        return Path(lnbits_settings.lnbits_data_folder)

    @property
    def settings(self) -> ExtensionSettings:
        if self._settings is None:
            raise EngineNotReady("lnopt is starting; try again in a few seconds")
        return self._settings

    def _current(self) -> Service:
        if self._service is None:
            raise EngineNotReady("lnopt is starting; try again in a few seconds")
        return self._service

    async def open(self, document: dict) -> None:
        """Open the store and the optimizer; the scheduler starts once the node answers."""
        chosen = read_document(document, self.data_folder)
        loop = asyncio.get_running_loop()
        backend = LnbitsNodeBackend(
            InProcessNodeApi(require_node, loop), graph_file=chosen.graph_file
        )
        self._service = await asyncio.to_thread(Service.open, backend, chosen.service)
        self._settings = chosen
        logger.info(
            f"lnopt: store {chosen.service.db_path}, mode {chosen.service.mode.value}, "
            f"every {chosen.service.interval_s} s"
        )
        await self._start_when_node_answers(backend)

    async def _start_when_node_answers(self, backend: LnbitsNodeBackend) -> None:
        """Recovery and scheduled runs need the node: wait for LNbits' funding source."""
        told = False
        while True:
            try:
                await asyncio.to_thread(backend.node_info)
                break
            except Exception as exc:  # the node is not there yet: say so once, keep waiting
                if not told:
                    logger.warning(f"lnopt: waiting for LNbits' node: {exc}")
                    told = True
                await asyncio.sleep(NODE_POLL_S)
        self._current().start()
        logger.info("lnopt: scheduler started")

    async def close(self) -> None:
        service, self._service = self._service, None
        if service is not None:
            await asyncio.to_thread(service.close, CLOSE_TIMEOUT_S)

    async def call(self, work: Callable[[], Any]) -> Any:
        """``work()`` (a method of :attr:`methods`) in a worker thread."""
        self._current()
        return await asyncio.to_thread(work)

    async def run_once(self) -> Any:
        """One run now (as the scheduler's): score, decide, queue proposals in advise mode,
        apply within the guard in auto mode."""
        service = self._current()
        return rpc.run_json(await asyncio.to_thread(service.optimizer.run_once))

    async def change_settings(self, document: dict) -> ExtensionSettings:
        """Apply new settings to the running service; a new graph file reopens it."""
        chosen = read_document(document, self.data_folder)
        if self._settings is not None and chosen.graph_file != self._settings.graph_file:
            await self.close()
            await self.open(document)
            return chosen
        service = self._current()
        optimizer = service.optimizer
        optimizer.set_mode(chosen.service.mode)
        optimizer.set_interval(chosen.service.interval_s)
        optimizer.set_config(chosen.service.config)
        service.scheduler.wake()
        self._settings = chosen
        return chosen


engine = Engine()
