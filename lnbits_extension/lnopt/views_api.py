"""The extension's API: lnopt's methods (:class:`lnopt.methods.Methods`, the handlers the Core
Lightning plugin and the command line answer with), behind LNbits' auth.

Reads need an admin account (``check_admin``, as LNbits' node routes read node data); every
change needs the super user (``check_super_user``, as LNbits' own fee changes do). A wallet's
API key is refused by both (401), an account without the rights gets 403, each with LNbits'
message. lnopt's refusals are answered with their message: 400 for a bad parameter or setting,
502 where the node failed, 503 while lnopt starts. No answer carries a secret: the engine
holds none (it reaches the node in-process).
"""

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException
from lnbits.decorators import check_admin, check_super_user

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


async def _answer(work) -> Any:
    """``work()`` in a worker thread; lnopt's refusals as HTTP errors with their message."""
    try:
        return await engine.call(work)
    except (LnoptError, EngineNotReady) as exc:
        raise HTTPException(_status_of(exc), str(exc)) from exc


# --- reads -----------------------------------------------------------------------------------


@lnopt_ext_api.get("/status", dependencies=read)
async def api_status():
    return await _answer(engine.methods.status)


@lnopt_ext_api.get("/score", dependencies=read)
async def api_score(channel: str | None = None):
    return await _answer(lambda: engine.methods.score(channel))


@lnopt_ext_api.get("/recommend", dependencies=read)
async def api_recommend(channel: str | None = None):
    return await _answer(lambda: engine.methods.recommend(channel))


@lnopt_ext_api.get("/history", dependencies=read)
async def api_history(channel: str | None = None, since: str | None = None, limit: str = "100"):
    return await _answer(lambda: engine.methods.history(channel, since, limit))


@lnopt_ext_api.get("/report", dependencies=read)
async def api_report(days: str = "7"):
    return await _answer(lambda: engine.methods.report(days))


@lnopt_ext_api.get("/charts", dependencies=read)
async def api_charts(days: str = "30"):
    return await _answer(lambda: engine.methods.charts(days))


@lnopt_ext_api.get("/settings", dependencies=read)
async def api_settings():
    try:
        return document_of(engine.settings)
    except EngineNotReady as exc:
        raise HTTPException(_status_of(exc), str(exc)) from exc


# --- changes ---------------------------------------------------------------------------------


@lnopt_ext_api.post("/run", dependencies=change)
async def api_run():
    try:
        return await engine.run_once()
    except (LnoptError, EngineNotReady) as exc:
        raise HTTPException(_status_of(exc), str(exc)) from exc


@lnopt_ext_api.post("/apply", dependencies=change)
async def api_apply(data: ApplyRequest):
    return await _answer(lambda: engine.methods.apply(data.channel, data.dryrun))


@lnopt_ext_api.post("/approve", dependencies=change)
async def api_approve(data: ProposalRequest):
    return await _answer(lambda: engine.methods.approve(data.proposal))


@lnopt_ext_api.post("/reject", dependencies=change)
async def api_reject(data: ProposalRequest):
    return await _answer(lambda: engine.methods.reject(data.proposal))


@lnopt_ext_api.post("/rollback", dependencies=change)
async def api_rollback(data: RollbackRequest):
    return await _answer(lambda: engine.methods.rollback(data.target, data.dryrun))


@lnopt_ext_api.post("/release", dependencies=change)
async def api_release(data: ReleaseRequest):
    return await _answer(lambda: engine.methods.release(data.channel))


@lnopt_ext_api.put("/settings", dependencies=change)
async def api_change_settings(document: Annotated[Any, Body()]):
    """Checked by lnopt's readers, applied to the running service, then saved."""
    try:
        chosen = await engine.change_settings(document)
    except (LnoptError, EngineNotReady) as exc:
        raise HTTPException(_status_of(exc), str(exc)) from exc
    shown = document_of(chosen)
    await save_settings_document(shown)
    return shown
