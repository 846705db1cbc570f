"""lnopt for LNbits: channel scores, fee decisions and safe fee changes for the node behind
LNbits' funding source (Core Lightning or LND), by lnopt's own engine (the installed ``lnopt``
package, imported, not copied).

LNbits imports this folder as ``lnbits.extensions.lnopt`` (its default extensions path); it
calls :func:`lnopt_start` once the extension is registered and :func:`lnopt_stop` when it is
deactivated, upgraded or uninstalled.
"""

import asyncio

from fastapi import APIRouter

try:
    import lnopt.service  # noqa: F401 - the engine this extension drives
except ImportError as exc:  # say what to install rather than a bare import error
    raise ImportError(
        "the lnopt extension needs the lnopt package in LNbits' Python environment: "
        "install it there (see README.md, The LNbits extension)"
    ) from exc

from .crud import db, get_settings_document
from .engine import engine
from .views import lnopt_ext_generic
from .views_api import lnopt_ext_api

lnopt_ext: APIRouter = APIRouter(prefix="/lnopt", tags=["lnopt"])
lnopt_ext.include_router(lnopt_ext_generic)
lnopt_ext.include_router(lnopt_ext_api)

lnopt_static_files = [{"path": "/lnopt/static", "name": "lnopt_static"}]

_tasks: list[asyncio.Task] = []


async def _run_engine() -> None:
    """Open lnopt's service and keep it open until this task is cancelled (LNbits cancels
    every task when it shuts down; :func:`lnopt_stop` cancels it too), then close it."""
    try:
        await engine.open(await get_settings_document())
        await asyncio.Event().wait()
    finally:
        await engine.close()


def lnopt_start() -> None:
    from lnbits.task_manager import task_manager

    _tasks.append(task_manager.create_task(_run_engine(), name="ext_lnopt").task)


def lnopt_stop() -> None:
    while _tasks:
        _tasks.pop().cancel()


__all__ = ["db", "lnopt_ext", "lnopt_start", "lnopt_static_files", "lnopt_stop"]
