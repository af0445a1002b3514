"""Hub ``relay``: the smallest hub that uses every part of the template, for the template's tests.

* ``GET /api/negotiate?name=&room=``: a client URL for a guest or a signed-in user
  (``shared.negotiate``), joining ``room`` (default ``lobby``) on connect.
* ``connect``: refused (401) without a verified user id, (403) for a room name it cannot use;
  joins the room's group and keeps the room and the signed display name in the state.
* ``connected`` / ``disconnected``: ``{kind: "joined" | "left", from, name, room}`` to the room.
* ``say`` (``{"text": ...}``) and ``message`` (a simple client's text frame): the event is
  claimed in Table Storage when ``RelayStorage`` is set (``shared.claims``; the claim row keeps
  the text, so it is also the stored message), then ``{kind: "said", from, name, room, text}``
  goes to the room once, however often the service retries the event.
* ``echo``: replies ``{kind: "echo", data}`` to the sender alone.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import azure.functions as func
from azure.core.exceptions import AzureError

from shared import (
    ConnectedEvent,
    ConnectErrorResponse,
    ConnectEvent,
    ConnectionContext,
    ConnectResponse,
    DisconnectedEvent,
    EventResponse,
    UserEvent,
    WebPubSubHub,
    get_service_client,
)
from shared.claims import claim, release
from shared.negotiate import identify, respond, signed_name
from shared.tables import Table, get_table

HUB = "relay"
STORAGE = "RelayStorage"  # shared.tables settings prefix
TABLE_SETTING = "RelayTable"
DEFAULT_ROOM = "lobby"
SUBPROTOCOLS = ("json.webpubsub.azure.v1", "json.reliable.webpubsub.azure.v1")
_ROOM = re.compile(r"[A-Za-z0-9_-]{1,64}")
LOGGER = logging.getLogger(__name__)

blueprint = func.Blueprint()
hub = WebPubSubHub(HUB, blueprint)


def _room(context: ConnectionContext) -> str:
    room = context.state.get("room")
    return room if isinstance(room, str) else DEFAULT_ROOM


def _notice(kind: str, context: ConnectionContext, **fields: Any) -> dict[str, Any]:
    name = context.state.get("name") or context.user_id
    return {"kind": kind, "from": context.user_id, "name": name, "room": _room(context), **fields}


async def _to_room(message: dict[str, Any]) -> None:
    await get_service_client(HUB).send_to_group(message["room"], message, content_type="application/json")


def _table() -> Table | None:
    return get_table(STORAGE, os.environ.get(TABLE_SETTING, "").strip() or "relay")


@blueprint.function_name("negotiate")
@blueprint.route(route="negotiate", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    resolved = identify(req, allow_guests=True)
    if isinstance(resolved, func.HttpResponse):  # 400 (bad name) or 401
        return resolved
    room = req.params.get("room") or DEFAULT_ROOM
    return await respond(req, HUB, resolved, params={"room": room}, extra={"room": room})


@hub.on_connect
def connect(event: ConnectEvent) -> ConnectResponse | ConnectErrorResponse:
    user_id = event.context.user_id
    if not user_id:
        return ConnectErrorResponse(status=401, detail="sign in first")
    room = (event.query.get("room") or [DEFAULT_ROOM])[0]
    if not _ROOM.fullmatch(room):
        return ConnectErrorResponse(status=403, detail="unusable room name")
    return ConnectResponse(
        user_id=user_id,
        groups=[room],
        subprotocol=next((p for p in SUBPROTOCOLS if p in event.subprotocols), None),
        state={"room": room, "name": signed_name(event, user_id) or user_id},
    )


@hub.on_connected
async def connected(event: ConnectedEvent) -> None:
    await _to_room(_notice("joined", event.context))


@hub.on_disconnected
async def disconnected(event: DisconnectedEvent) -> None:
    await _to_room(_notice("left", event.context))


async def _say(context: ConnectionContext, text: object) -> EventResponse | None:
    if not isinstance(text, str) or not text.strip():
        return EventResponse(data={"kind": "error", "reason": "send some text"})
    message = _notice("said", context, text=text)
    table = _table()
    try:
        if table is not None and not (await claim(table, message["room"], context, {"text": text})).first:
            return None  # a retry of an event already handled: said once already
    except AzureError:
        LOGGER.warning("claim failed connection=%s", context.connection_id, exc_info=True)
        return EventResponse(data={"kind": "error", "reason": "not saved, try again"})
    try:
        await _to_room(message)
    except AzureError:
        LOGGER.warning("broadcast failed connection=%s", context.connection_id, exc_info=True)
        if table is not None:
            await release(table, message["room"], context)  # so that a retry says it
        return EventResponse(data={"kind": "error", "reason": "not delivered, try again"})
    return None


@hub.on_event("say")
async def say(event: UserEvent) -> EventResponse | None:
    data = event.data if isinstance(event.data, dict) else {}
    return await _say(event.context, data.get("text"))


@hub.on_event("message")
async def message(event: UserEvent) -> EventResponse | None:
    return await _say(event.context, event.data)


@hub.on_event("echo")
def echo(event: UserEvent) -> EventResponse:
    return EventResponse(data={"kind": "echo", "data": event.data})
