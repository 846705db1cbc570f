"""The extension's page, for LNbits' admin accounts (node data is theirs to see). The page
needs no wallet key (it calls the API with the login cookie), so the user it is given has
its wallets' keys left out."""

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from lnbits.core.models import User
from lnbits.decorators import check_user_exists
from lnbits.helpers import template_renderer

lnopt_ext_generic = APIRouter()
WALLET_KEYS = {"adminkey", "inkey"}


@lnopt_ext_generic.get("/", response_class=HTMLResponse)
async def index(request: Request, user: Annotated[User, Depends(check_user_exists)]):
    if not user.admin:
        raise HTTPException(
            HTTPStatus.FORBIDDEN, "lnopt shows the node's channels: admin accounts only."
        )
    return template_renderer(["lnopt/templates"]).TemplateResponse(
        request,
        "lnopt/index.html",
        {
            "user": user.json(exclude={"wallets": {"__all__": WALLET_KEYS}}),
            "super_user": user.super_user,
        },
    )
