"""``GET /api/negotiate?room=<room>&name=<display name>``: a short-lived client access URL.

200: ``{"url", "userId", "name", "guest", "room", "rooms", "expiresInMinutes"}``; ``rooms``
is the server's ``ChatRooms`` list in order. Guests also get the ``chat_guest`` cookie that
keeps their id (``shared.identity``). 400 ``{"error"}`` for a bad name or room; 401
``{"error", "loginUrl"?}`` when sign-in is required (``loginUrl`` when App Service
Authentication is on). The contract itself is ``shared.negotiate``'s.

The token carries the user id (``sub``) and only the room's join/leave role: clients cannot
publish to groups themselves; every chat message goes through the server's ``chat`` event,
which decides the sender and checks the text. The display name rides in the URL with a
signature for this user id, which ``connect`` checks (``shared.negotiate.signed_name``).
"""

from __future__ import annotations

import azure.functions as func

from shared.identity import GuestCookie
from shared.negotiate import identify, json_response, respond

from .app import HUB, blueprint
from .config import allow_guests, allowed_rooms, default_room, token_minutes

GUEST_COOKIE = GuestCookie(name="chat_guest", purpose="chat guest cookie v2")
LOGIN_URL = "/.auth/login/aad?post_login_redirect_uri=/api/index"


@blueprint.function_name("negotiate")
@blueprint.route(route="negotiate", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    resolved = identify(req, allow_guests=allow_guests(), cookie=GUEST_COOKIE, login_url=LOGIN_URL)
    if isinstance(resolved, func.HttpResponse):
        return resolved
    rooms = allowed_rooms()
    room = req.params.get("room") or default_room()
    if room not in rooms:
        return json_response(400, {"error": "unknown room", "rooms": list(rooms)})
    return await respond(
        req,
        HUB,
        resolved,
        cookie=GUEST_COOKIE,
        roles=[f"webpubsub.joinLeaveGroup.{room}"],
        minutes=token_minutes(),
        params={"room": room},
        extra={"room": room, "rooms": list(rooms)},
    )
