"""Hub ``chat`` event handlers, served at ``/api/chat/{event}``.

* ``connect``: identity comes from the verified token (``ce-userId`` / ``sub``), never from
  the query; the room comes from ``?room=`` (allowed rooms only, default ``lobby``) and is
  joined through the connect response and remembered in the connection state.
* ``connected`` / ``disconnected``: tell the room who joined or left.
* ``message`` (simple WebSocket clients) and ``chat`` (subprotocol clients): broadcast
  ``{kind, from, room, text, time}`` to the room; bad text gets an error reply, not a crash.

State lives in Web PubSub (groups, connection state), so the app is stateless and scales out.
"""

from __future__ import annotations

import logging
from typing import Literal

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
    get_service_client,
)

from .app import HUB, hub
from .config import DEFAULT_ROOM, allowed_rooms
from .messages import ChatMessage, InvalidText, error_reply, extract_text, now

LOGGER = logging.getLogger(__name__)

# Subprotocols the page and the official client SDKs offer, in order of preference.
PREFERRED_SUBPROTOCOLS = ("json.webpubsub.azure.v1", "json.reliable.webpubsub.azure.v1")


def room_of(context: ConnectionContext) -> str:
    room = context.state.get("room")
    return room if isinstance(room, str) and room in allowed_rooms() else DEFAULT_ROOM


async def broadcast(message: ChatMessage) -> None:
    client = get_service_client(HUB)
    await client.send_to_group(message.room, message.to_json(), content_type="application/json")


@hub.on_connect
def connect(event: ConnectEvent) -> ConnectResponse | ConnectErrorResponse:
    user_id = event.context.user_id or event.claim("sub")
    if not user_id:
        return ConnectErrorResponse(status=401, detail="sign in first")
    requested = (event.query.get("room") or [DEFAULT_ROOM])[0]
    if requested not in allowed_rooms():
        return ConnectErrorResponse(status=403, detail="unknown room")
    subprotocol = next((p for p in PREFERRED_SUBPROTOCOLS if p in event.subprotocols), None)
    return ConnectResponse(
        user_id=user_id,
        groups=[requested],
        subprotocol=subprotocol,
        state={"room": requested},
    )


def _presence(kind: Literal["joined", "left"], context: ConnectionContext) -> ChatMessage:
    return ChatMessage(kind=kind, sender=context.user_id or "", room=room_of(context), time=now())


@hub.on_connected
async def connected(event: ConnectedEvent) -> None:
    await broadcast(_presence("joined", event.context))


@hub.on_disconnected
async def disconnected(event: DisconnectedEvent) -> None:
    await broadcast(_presence("left", event.context))


async def _chat(event: UserEvent) -> EventResponse | None:
    try:
        text = extract_text(event.data)
    except InvalidText as invalid:
        return EventResponse(data=error_reply(str(invalid)))
    message = ChatMessage(
        kind="chat", sender=event.context.user_id or "", room=room_of(event.context), text=text, time=now()
    )
    try:
        await broadcast(message)
    except AzureError:
        LOGGER.warning("broadcast failed connection=%s", event.context.connection_id, exc_info=True)
        return EventResponse(data=error_reply("message not delivered, try again"))
    return None


@hub.on_event("message")
async def message(event: UserEvent) -> EventResponse | None:
    """Simple WebSocket clients: every frame is a ``message`` event."""
    return await _chat(event)


@hub.on_event("chat")
async def chat(event: UserEvent) -> EventResponse | None:
    """Subprotocol clients: ``{"type":"event","event":"chat","data":{"text":"..."}}``."""
    return await _chat(event)
