"""``GET /api/negotiate?room=<room>&name=<display name>``: a short-lived client access URL.

200: ``{"url", "userId", "name", "guest", "room", "rooms", "expiresInMinutes"}``; ``rooms``
is the server's ``ChatRooms`` list in order. Guests also get the ``chat_guest`` cookie that
keeps their id (``identity.py``). 400 ``{"error"}`` for a bad name or room; 401
``{"error", "loginUrl"?}`` when sign-in is required (``loginUrl`` when App Service
Authentication is on).

The token carries the user id (``sub``) and only the room's join/leave role: clients cannot
publish to groups themselves; every chat message goes through the server's ``chat`` event,
which decides the sender and checks the text. The display name rides in the URL with a
signature for this user id (``nameSig``), which ``connect`` checks.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import azure.functions as func

from shared import get_service_client

from .app import HUB, blueprint
from .config import allowed_rooms, default_room, token_minutes
from .handlers import name_signature
from .identity import (
    GUEST_COOKIE,
    GUEST_COOKIE_MAX_AGE,
    NotAuthenticated,
    platform_auth_enabled,
    resolve_user,
)
from .names import InvalidName

LOGIN_URL = "/.auth/login/aad?post_login_redirect_uri=/api/index"


def _json(status: int, body: dict[str, object], cookie: str | None = None) -> func.HttpResponse:
    headers = {"Cache-Control": "no-store"}
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    body_bytes = json.dumps(body).encode()
    return func.HttpResponse(body_bytes, status_code=status, mimetype="application/json", headers=headers)


def _is_https(req: func.HttpRequest) -> bool:
    forwarded = (req.headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
    return forwarded == "https" or req.url.lower().startswith("https://")


def guest_cookie_header(value: str, secure: bool) -> str:
    attributes = f"Path=/; Max-Age={GUEST_COOKIE_MAX_AGE}; HttpOnly; SameSite=Strict"
    return f"{GUEST_COOKIE}={value}; {attributes}{'; Secure' if secure else ''}"


@blueprint.function_name("negotiate")
@blueprint.route(route="negotiate", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    try:
        identity, cookie = resolve_user(req.headers, req.params)
    except NotAuthenticated:
        body: dict[str, object] = {"error": "sign in to chat"}
        if platform_auth_enabled():  # App Service Authentication is on: tell the page where to sign in
            body["loginUrl"] = LOGIN_URL
        return _json(401, body)
    except InvalidName as invalid:
        return _json(400, {"error": str(invalid)})
    rooms = allowed_rooms()
    room = req.params.get("room") or default_room()
    if room not in rooms:
        return _json(400, {"error": "unknown room", "rooms": list(rooms)})
    minutes = token_minutes()
    token = await get_service_client(HUB).get_client_access_token(
        user_id=identity.user_id, roles=[f"webpubsub.joinLeaveGroup.{room}"], minutes_to_expire=minutes
    )
    extra = {"room": room}
    signature = name_signature(identity.user_id, identity.name)
    if signature is not None:
        extra.update(name=identity.name, nameSig=signature)
    body = {
        "url": f"{token['url']}&{urlencode(extra)}",
        "userId": identity.user_id,
        "name": identity.name,
        "guest": identity.guest,
        "room": room,
        "rooms": list(rooms),
        "expiresInMinutes": minutes,
    }
    set_cookie = guest_cookie_header(cookie, _is_https(req)) if cookie is not None else None
    return _json(200, body, set_cookie)
