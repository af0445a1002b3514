"""``GET /api/negotiate?room=<room>``: a short-lived client access URL for the signed-in user.

Response: ``{"url", "userId", "room", "expiresInMinutes"}``; 401 ``{"error", "loginUrl"?}``
(``loginUrl`` when App Service Authentication is on). The token carries the user id
(``sub``) and only the room's join/leave role: clients cannot publish to groups
themselves; every chat message goes through the server's ``chat`` event, which decides
the sender and checks the text.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import azure.functions as func

from shared import get_service_client

from .app import HUB, blueprint
from .config import DEFAULT_ROOM, allowed_rooms, token_minutes
from .identity import InvalidUserName, NotAuthenticated, platform_auth_enabled, resolve_user

LOGIN_URL = "/.auth/login/aad?post_login_redirect_uri=/api/index"


def _json(status: int, body: dict[str, object]) -> func.HttpResponse:
    headers = {"Cache-Control": "no-store"}
    body_bytes = json.dumps(body).encode()
    return func.HttpResponse(body_bytes, status_code=status, mimetype="application/json", headers=headers)


@blueprint.function_name("negotiate")
@blueprint.route(route="negotiate", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    try:
        user_id = resolve_user(req.headers, req.params)
    except NotAuthenticated:
        body: dict[str, object] = {"error": "sign in to chat"}
        if platform_auth_enabled():  # App Service Authentication is on: tell the page where to sign in
            body["loginUrl"] = LOGIN_URL
        return _json(401, body)
    except InvalidUserName as invalid:
        return _json(400, {"error": str(invalid)})
    room = req.params.get("room") or DEFAULT_ROOM
    if room not in allowed_rooms():
        return _json(400, {"error": "unknown room", "rooms": sorted(allowed_rooms())})
    minutes = token_minutes()
    token = await get_service_client(HUB).get_client_access_token(
        user_id=user_id, roles=[f"webpubsub.joinLeaveGroup.{room}"], minutes_to_expire=minutes
    )
    url = f"{token['url']}&room={quote(room)}"
    return _json(200, {"url": url, "userId": user_id, "room": room, "expiresInMinutes": minutes})
