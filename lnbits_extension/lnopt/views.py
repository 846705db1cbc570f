"""The extension's page, for LNbits' admin accounts (node data is theirs to see)."""

from http import HTTPStatus

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from lnbits.core.models import User
from lnbits.decorators import check_user_exists
from lnbits.helpers import template_renderer

lnopt_ext_generic = APIRouter()


@lnopt_ext_generic.get("/", response_class=HTMLResponse)
async def index(request: Request, user: User = Depends(check_user_exists)):
    if not user.admin:
        raise HTTPException(
            HTTPStatus.FORBIDDEN, "lnopt shows the node's channels: admin accounts only."
        )
    return template_renderer(["lnopt/templates"]).TemplateResponse(
        request,
        "lnopt/index.html",
        {"user": user.json(), "super_user": user.super_user},
    )
