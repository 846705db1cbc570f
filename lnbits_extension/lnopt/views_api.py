"""The extension's API: lnopt's methods (:class:`lnopt.methods.Methods`, the handlers the Core
Lightning plugin and the command line answer with), behind LNbits' auth.

Reads need an admin account (``check_admin``, as LNbits' node routes read node data); every
change needs the super user (``check_super_user``, as LNbits' own fee changes do). A wallet's
API key is refused by both (401), an account without the rights gets 403, each with LNbits'
message. lnopt's refusals are answered with their message: 400 for a bad parameter or setting,
502 where the node failed, 503 while lnopt starts. No answer carries a secret: the engine
holds none (it reaches the node in-process).
"""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException
from lnbits.decorators import check_admin, check_super_user
from pydantic import BaseModel

from lnopt.errors import BackendError, ConfigError, InvalidRequest, LnoptError

from .crud import save_settings_document
from .engine import EngineNotReady, engine
from .models import ApplyRequest, ProposalRequest, ReleaseRequest, RollbackRequest
from .settings import document_of

lnopt_ext_api = APIRouter(prefix="/api/v1")
read = [Depends(check_admin)]
change = [Depends(check_super_user)]


def _status_of(exc: Exception) -> HTTPStatus:
    if isinstance(exc, EngineNotReady):
        return HTTPStatus.SERVICE_UNAVAILABLE
    if isinstance(exc, ConfigError | InvalidRequest):
        return HTTPStatus.BAD_REQUEST
    if isinstance(exc, BackendError):
        return HTTPStatus.BAD_GATEWAY
    return HTTPStatus.INTERNAL_SERVER_ERROR


@contextmanager
def _refusals() -> Iterator[None]:
    """lnopt's refusals as HTTP errors with their message."""
    try:
        yield
    except (LnoptError, EngineNotReady) as exc:
        raise HTTPException(_status_of(exc), str(exc)) from exc


async def _answer(pending: Awaitable[Any]) -> Any:
    with _refusals():
        return await pending


def _in_thread(work: Callable[[], Any]) -> Awaitable[Any]:
    """``work()`` (a call of lnopt's methods) answered from a worker thread."""
    return _answer(engine.call(work))


# --- reads -----------------------------------------------------------------------------------


@lnopt_ext_api.get("/status", dependencies=read)
async def api_status():
    return await _in_thread(engine.methods.status)


@lnopt_ext_api.get("/score", dependencies=read)
async def api_score(channel: str | None = None):
    return await _in_thread(lambda: engine.methods.score(channel))


@lnopt_ext_api.get("/recommend", dependencies=read)
async def api_recommend(channel: str | None = None):
    return await _in_thread(lambda: engine.methods.recommend(channel))


@lnopt_ext_api.get("/history", dependencies=read)
async def api_history(channel: str | None = None, since: str | None = None, limit: str = "100"):
    return await _in_thread(lambda: engine.methods.history(channel, since, limit))


@lnopt_ext_api.get("/report", dependencies=read)
async def api_report(days: str = "7"):
    return await _in_thread(lambda: engine.methods.report(days))


@lnopt_ext_api.get("/charts", dependencies=read)
async def api_charts(days: str = "30"):
    return await _in_thread(lambda: engine.methods.charts(days))


@lnopt_ext_api.get("/settings", dependencies=read)
async def api_settings():
    with _refusals():
        return document_of(engine.settings)


# --- changes ---------------------------------------------------------------------------------


@lnopt_ext_api.post("/run", dependencies=change)
async def api_run():
    return await _answer(engine.run_once())


def _post_change(path: str, model: type[BaseModel], work: Callable[[Any], Any]) -> None:
    """``POST path`` for the super user: its body read as ``model``, answered by
    ``work(body)`` in a worker thread."""

    async def route(data: model):  # type: ignore[valid-type]
        return await _in_thread(lambda: work(data))

    lnopt_ext_api.add_api_route(
        path, route, methods=["POST"], dependencies=change, name=f"api{path.replace('/', '_')}"
    )


_post_change("/apply", ApplyRequest, lambda data: engine.methods.apply(data.channel, data.dryrun))
_post_change("/approve", ProposalRequest, lambda data: engine.methods.approve(data.proposal))
_post_change("/reject", ProposalRequest, lambda data: engine.methods.reject(data.proposal))
_post_change(
    "/rollback", RollbackRequest, lambda data: engine.methods.rollback(data.target, data.dryrun)
)
_post_change("/release", ReleaseRequest, lambda data: engine.methods.release(data.channel))


@lnopt_ext_api.put("/settings", dependencies=change)
async def api_change_settings(document: Annotated[Any, Body()]):
    """Checked by lnopt's readers, applied to the running service, then saved."""
    chosen = await _answer(engine.change_settings(document))
    shown = document_of(chosen)
    await save_settings_document(shown)
    return shown
