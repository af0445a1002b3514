"""The negotiate endpoint's contract, both ends of it: a client URL for a user, and what ``connect``
may trust of it.

A browser first asks the app for a client URL (``GET /api/negotiate``); the app decides who the
user is (``identity.resolve_user``) and answers with a short-lived URL signed for that user id
(the token's ``sub``). The display name rides in the same URL as ``name`` with a signature
for this user id (``nameSig``): the service passes the query to ``connect``, where
``signed_name`` accepts the name only with a valid signature. A fork's negotiate is then::

    @blueprint.route(route="negotiate", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    async def negotiate(req: func.HttpRequest) -> func.HttpResponse:
        return await negotiate_response(req, "poll", allow_guests=True, groups=["voters"])

Answers: 200 ``{"url", "userId", "name", "guest", "expiresInMinutes", ...extra}`` (guests also
get their id cookie), 400 ``{"error"}`` for an unacceptable display name, 401 ``{"error",
"loginUrl"?}`` when sign-in is required (``loginUrl`` when App Service Authentication is on).
All are ``Cache-Control: no-store``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

import azure.functions as func

from . import signing
from .events import ConnectEvent
from .identity import (
    DEFAULT_GUEST_COOKIE,
    GuestCookie,
    Identity,
    NotAuthenticated,
    Resolved,
    platform_auth_enabled,
    resolve_user,
    set_cookie_header,
)
from .names import InvalidName, normalize_name
from .service import get_service_client

NAME_PARAM = "name"
NAME_SIGNATURE_PARAM = "nameSig"
NAME_PURPOSE = "display name in a client URL v1"
DEFAULT_LOGIN_URL = "/.auth/login/aad"
DEFAULT_TOKEN_MINUTES = 10


# -- the display name, from negotiate to connect ---------------------------------------------
def name_signature(user_id: str, name: str) -> str | None:
    """What negotiate adds to the client URL so that ``connect`` can trust ``?name=``."""
    return signing.sign(NAME_PURPOSE, f"{user_id}\n{name}")


def signed_name(event: ConnectEvent, user_id: str) -> str | None:
    """The display name of the client URL, if negotiate signed it for ``user_id``; else ``None``."""
    name = (event.query.get(NAME_PARAM) or [""])[0]
    signature = (event.query.get(NAME_SIGNATURE_PARAM) or [""])[0]
    if not (name and signature and signing.verify(NAME_PURPOSE, f"{user_id}\n{name}", signature)):
        return None
    try:
        return normalize_name(name)
    except InvalidName:  # signed under older rules
        return None


# -- HTTP helpers ------------------------------------------------------------------------------
def json_response(
    status: int, body: Mapping[str, Any], *, set_cookie: str | None = None
) -> func.HttpResponse:
    """A JSON answer that no cache keeps (it holds a token or is about the user)."""
    headers = {"Cache-Control": "no-store"}
    if set_cookie is not None:
        headers["Set-Cookie"] = set_cookie
    return func.HttpResponse(
        json.dumps(body).encode(), status_code=status, mimetype="application/json", headers=headers
    )


def is_https(req: func.HttpRequest) -> bool:
    """Whether the browser used https (behind the platform's front end: ``X-Forwarded-Proto``)."""
    forwarded = (req.headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
    return forwarded == "https" or req.url.lower().startswith("https://")


# -- the two steps, and both together ----------------------------------------------------------
def identify(
    req: func.HttpRequest,
    *,
    allow_guests: bool,
    cookie: GuestCookie = DEFAULT_GUEST_COOKIE,
    login_url: str = DEFAULT_LOGIN_URL,
) -> Resolved | func.HttpResponse:
    """Who ``req`` is for (``identity.resolve_user`` with the ``name`` query parameter), or the
    401/400 answer to send instead."""
    try:
        return resolve_user(req.headers, req.params.get(NAME_PARAM), allow_guests=allow_guests, cookie=cookie)
    except NotAuthenticated:
        body: dict[str, object] = {"error": "sign in first"}
        if platform_auth_enabled():  # App Service Authentication is on: say where to sign in
            body["loginUrl"] = login_url
        return json_response(401, body)
    except InvalidName as invalid:
        return json_response(400, {"error": str(invalid)})


async def client_url(
    hub: str,
    identity: Identity,
    *,
    roles: Iterable[str] = (),
    groups: Iterable[str] = (),
    minutes: int = DEFAULT_TOKEN_MINUTES,
    params: Mapping[str, str] | None = None,
) -> str:
    """A client access URL of ``hub`` for ``identity``: the token (user id, ``roles``, initial
    ``groups``, lifetime) plus ``params`` and the signed display name in the query."""
    token = await get_service_client(hub).get_client_access_token(
        user_id=identity.user_id,
        roles=list(roles) or None,
        groups=list(groups) or None,
        minutes_to_expire=minutes,
    )
    query = dict(params or {})
    signature = name_signature(identity.user_id, identity.name)
    if signature is not None:
        query.update({NAME_PARAM: identity.name, NAME_SIGNATURE_PARAM: signature})
    url: str = token["url"]
    return f"{url}&{urlencode(query)}" if query else url


async def respond(
    req: func.HttpRequest,
    hub: str,
    resolved: Resolved,
    *,
    cookie: GuestCookie = DEFAULT_GUEST_COOKIE,
    roles: Iterable[str] = (),
    groups: Iterable[str] = (),
    minutes: int = DEFAULT_TOKEN_MINUTES,
    params: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> func.HttpResponse:
    """The 200 answer for ``resolved``: the client URL (see ``client_url``), who it is for, the
    token lifetime, ``extra`` fields, and the guest's cookie (``Secure`` over https)."""
    identity = resolved.identity
    url = await client_url(hub, identity, roles=roles, groups=groups, minutes=minutes, params=params)
    body = {
        "url": url,
        "userId": identity.user_id,
        "name": identity.name,
        "guest": identity.guest,
        **(extra or {}),
        "expiresInMinutes": minutes,
    }
    set_cookie = None
    if resolved.set_cookie is not None:
        set_cookie = set_cookie_header(resolved.set_cookie, cookie, secure=is_https(req))
    return json_response(200, body, set_cookie=set_cookie)


async def negotiate_response(
    req: func.HttpRequest,
    hub: str,
    *,
    allow_guests: bool,
    cookie: GuestCookie = DEFAULT_GUEST_COOKIE,
    roles: Iterable[str] = (),
    groups: Iterable[str] = (),
    minutes: int = DEFAULT_TOKEN_MINUTES,
    login_url: str = DEFAULT_LOGIN_URL,
) -> func.HttpResponse:
    """``identify`` then ``respond``: a whole negotiate endpoint in one call."""
    resolved = identify(req, allow_guests=allow_guests, cookie=cookie, login_url=login_url)
    if isinstance(resolved, func.HttpResponse):
        return resolved
    return await respond(req, hub, resolved, cookie=cookie, roles=roles, groups=groups, minutes=minutes)
