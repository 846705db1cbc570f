"""What LNbits' refusals mean for an operator, and what lnopt's token can do there.

LNbits (1.6) guards its node API twice: ``/node/api/v1`` reads need an admin user or the super
user, a fee change (``PUT /channels/{id}``) the super user; a token made from an access-control
list (ACL) can further only reach the endpoint groups of its list, reads with ``read`` and writes
with ``write``. lnopt needs the ACL token of the super user with ``Node`` (``/node/api/v1``)
read and write, and nothing else.

A token is a JWT whose claims LNbits signs; lnopt reads them without checking the signature
(it has no key, and only LNbits' answers decide), to tell an ACL token (claim ``api_token_id``)
from a login token, which can do everything its user can.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from lnopt.backends.http import HttpProblem, server_detail

NODE_ACL_PATH = "/node/api/v1"
NODE_API_FUNDING_SOURCES = (
    "CoreLightningWallet, LndRestWallet and PhoenixdWallet (which refuses fee changes)"
)
# GET routes outside lnopt's ACL whose answer tells that the token can do more than it needs;
# chosen because they answer nothing secret (the settings or wallets routes would)
PROBES = (
    ("/admin/api/v1/monitor", "reach LNbits' admin API (server settings, restarts, backups)"),
    ("/api/v1/auth/acl", "reach the user's account (its access-control lists and tokens)"),
)
_README = "see the README, 'Running lnopt for an LNbits node'"


def describe_refusal(problem: HttpProblem) -> str:
    """An operator's message for an LNbits error answer: what is wrong and what to do."""
    detail = server_detail(problem.body)
    where = f"{problem.method} {problem.path}"
    writes = problem.method != "GET"
    right = "write" if writes else "read"
    if problem.status == 401:
        return (
            f"LNbits refused the token for {where} (HTTP 401: {detail}): it is wrong, expired "
            f"or revoked; make a new ACL token with Node ({NODE_ACL_PATH}) read and write, "
            f"{_README}"
        )
    if problem.status == 403:
        if "super user" in detail:
            return (
                f"LNbits refused {where} (HTTP 403: {detail}): LNbits lets only the super user "
                f"change channel fees; make the ACL token as the super user, {_README}"
            )
        if "admin" in detail.lower():
            return (
                f"LNbits refused {where} (HTTP 403: {detail}): the node API needs an admin "
                f"user or the super user; make the ACL token as the super user, {_README}"
            )
        return (
            f"LNbits refused {where} (HTTP 403: {detail}): the token lacks the {right} right "
            f"on Node ({NODE_ACL_PATH}) in its access-control list; give the ACL Node read "
            f"and write, {_README}"
        )
    if problem.status == 501:
        return (
            f"LNbits answered {where} with HTTP 501 ({detail}): its funding source has no "
            f"node API; only {NODE_API_FUNDING_SOURCES} have one"
        )
    if problem.status == 503:
        return (
            f"LNbits answered {where} with HTTP 503 ({detail}): its node UI is off; turn it "
            "on in the Admin UI (Settings, Server, Node UI) or with PATCH "
            '/admin/api/v1/settings {"lnbits_node_ui": true} (LNBITS_NODE_UI=true in '
            "LNbits' .env counts only on a fresh install: the saved setting wins)"
        )
    return f"LNbits refused {where}: HTTP {problem.status}: {detail}"


def token_claims(token: str) -> Mapping[str, Any] | None:
    """The claims of a JWT, unverified; None where the token is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, Mapping) else None


def claims_warnings(claims: Mapping[str, Any] | None) -> tuple[str, ...]:
    """What the token's own claims say it can do beyond lnopt's needs."""
    if claims is None or claims.get("api_token_id"):
        return ()
    user = claims.get("sub") or claims.get("usr") or "its user"
    return (
        f"lnopt's LNbits token is a login token of {user!s}, not an ACL token: it can do "
        f"everything {user!s} can; make an ACL token with Node ({NODE_ACL_PATH}) read and "
        f"write only, {_README}",
    )


def probe_warning(path: str, can: str) -> str:
    return (
        f"lnopt's LNbits token can {can} (GET {path} answered): it can do more than lnopt "
        f"needs; give its ACL Node ({NODE_ACL_PATH}) read and write only, {_README}"
    )
