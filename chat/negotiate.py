"""``GET /api/negotiate?room=<room>&name=<display name>``: a short-lived client access URL.

200: ``{"url", "userId", "name", "guest", "room", "rooms", "expiresInMinutes"}``; ``rooms``
is the server's ``ChatRooms`` list in order (the public rooms). Guests also get the
``chat_guest`` cookie that keeps their id (``shared.identity``). 400 ``{"error"}`` for a bad
name or a room id of no kind; 403 ``{"error", "rooms"}`` for a private room or DM the user
may not open (missing, or not a member: the same answer); 401 ``{"error", "loginUrl"?}``
when sign-in is required (``loginUrl`` when App Service Authentication is on). The contract itself is
``shared.negotiate``'s; the chat adds its own name rule (``display_names.py``).

The token carries the user id (``sub``) and **no roles**: clients cannot join, leave or
publish to groups themselves. ``connect`` puts the connection in its room's group after
checking access again (the room in the URL is not signed: it is only a wish), and every
later move is the server's (``open``). The display name rides in the URL with a signature
for this user id, which ``connect`` checks (``shared.negotiate.signed_name``).
"""

from __future__ import annotations

import azure.functions as func
from azure.core.exceptions import AzureError

from shared.identity import GuestCookie
from shared.negotiate import identify, json_response, respond

from . import access
from .app import HUB, blueprint
from .config import allow_guests, allowed_rooms, default_room, token_minutes
from .display_names import ReservedName, check_chat_name
from .replies import stores
from .rooms import kind_of_id

GUEST_COOKIE = GuestCookie(name="chat_guest", purpose="chat guest cookie v2")
LOGIN_URL = "/.auth/login/aad?post_login_redirect_uri=/api/index"


@blueprint.function_name("negotiate")
@blueprint.route(route="negotiate", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    resolved = identify(req, allow_guests=allow_guests(), cookie=GUEST_COOKIE, login_url=LOGIN_URL)
    if isinstance(resolved, func.HttpResponse):
        return resolved
    identity = resolved.identity
    try:
        check_chat_name(identity.name)
    except ReservedName as reserved:
        if identity.guest:
            return json_response(400, {"error": str(reserved)})
        resolved = resolved._replace(identity=identity._replace(name=identity.user_id))
    rooms = list(allowed_rooms())
    room = req.params.get("room") or default_room()
    _, room_store = stores()
    try:
        allowed = await access.check(room_store, room, identity.user_id)
    except AzureError:
        return json_response(503, {"error": "rooms are unavailable, try again"})
    if allowed is None and kind_of_id(room) is None:
        return json_response(400, {"error": "unknown room", "rooms": rooms})
    if allowed is None:
        return json_response(403, {"error": "no such room, or you are not a member", "rooms": rooms})
    return await respond(
        req,
        HUB,
        resolved,
        cookie=GUEST_COOKIE,
        minutes=token_minutes(),
        params={"room": room},
        extra={"room": room, "rooms": rooms},
    )
