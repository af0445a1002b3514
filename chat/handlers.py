"""Hub ``chat`` event handlers, served at ``/api/chat/{event}``.

Identity and room always come from the verified connection (``ce-userId``, the connection
state), never from a payload.

* ``connect``: the user id comes from the verified token (``ce-userId`` / ``sub``); the room
  from ``?room=`` (allowed rooms only); the display name from ``?name=`` **only** with the
  signature negotiate added for this user id (``nameSig``), else the user id is shown. Room
  and name are kept in the connection state.
* ``connected`` / ``disconnected``: tell the room who joined or left; keep the presence row
  that ``members`` reads names from.
* ``message`` (simple clients) and ``chat`` (subprotocol clients): check the text and the
  per-connection rate limit, claim the event in storage (the proof that it was handled: a
  retried event is neither stored nor broadcast twice), broadcast
  ``{kind, id, from, name, room, text, time}`` to the room, then write the history rows.
* ``history``: ``{"before": id|null, "after": id|null, "limit": n}`` -> a page of the room.
* ``members``: who is in the room (Web PubSub's group membership), one entry per user.
* ``typing``: ``{kind: "typing", from, name, room}`` to the room except the sender, at most
  one per 2 s per connection.

State lives in Web PubSub (groups, connection state) and Table Storage, so the app is
stateless and scales out. Message shapes: ``messages.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Literal

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
from shared.identity import is_guest
from shared.logsafe import log_safe
from shared.negotiate import signed_name

from . import history, limits
from .app import HUB, hub
from .config import allowed_rooms, default_room, rate_limit
from .ids import new_message_id
from .messages import ChatMessage, InvalidText, error_reply, extract_text, iso_time

LOGGER = logging.getLogger(__name__)

# Subprotocols the page and the official client SDKs offer, in order of preference.
PREFERRED_SUBPROTOCOLS = ("json.webpubsub.azure.v1", "json.reliable.webpubsub.azure.v1")
HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 100
MAX_USER_ID_LENGTH = 256  # negotiate's ids are at most 145 characters (a provider and a principal id)


def room_of(context: ConnectionContext) -> str:
    room = context.state.get("room")
    return room if isinstance(room, str) and room in allowed_rooms() else default_room()


def name_of(context: ConnectionContext) -> str:
    name = context.state.get("name")
    return name if isinstance(name, str) and name else (context.user_id or "")


async def broadcast(room: str, message: dict[str, Any], excluded: list[str] | None = None) -> None:
    client = get_service_client(HUB)
    await client.send_to_group(room, message, content_type="application/json", excluded=excluded)


# -- connection lifecycle -----------------------------------------------------------------------
@hub.on_connect
def connect(event: ConnectEvent) -> ConnectResponse | ConnectErrorResponse:
    user_id = event.context.user_id or event.claim("sub")
    if not user_id:
        return ConnectErrorResponse(status=401, detail="sign in first")
    if len(user_id) > MAX_USER_ID_LENGTH:  # it may become the name in the state (4 KiB at most)
        return ConnectErrorResponse(status=400, detail="user id too long")
    requested = (event.query.get("room") or [default_room()])[0]
    if requested not in allowed_rooms():
        return ConnectErrorResponse(status=403, detail="unknown room")
    subprotocol = next((p for p in PREFERRED_SUBPROTOCOLS if p in event.subprotocols), None)
    return ConnectResponse(
        user_id=user_id,
        groups=[requested],
        subprotocol=subprotocol,
        state={"room": requested, "name": signed_name(event, user_id) or user_id},
    )


def _presence(kind: Literal["joined", "left"], context: ConnectionContext) -> dict[str, Any]:
    return ChatMessage(
        kind=kind, sender=context.user_id or "", name=name_of(context), room=room_of(context), time=iso_time()
    ).to_json()


async def _quietly(what: str, context: ConnectionContext, *steps: Any) -> None:
    """Run non-blocking-event work; a failure is logged (the service ignores our answer)."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    for result in results:
        if isinstance(result, AzureError):
            LOGGER.warning(
                "%s failed connection=%s: %s", what, log_safe(context.connection_id), type(result).__name__
            )
        elif isinstance(result, BaseException):
            raise result


@hub.on_connected
async def connected(event: ConnectedEvent) -> None:
    context = event.context
    room = room_of(context)
    steps = [broadcast(room, _presence("joined", context))]
    store = history.get_store()
    if store is not None:
        member = history.Member(context.connection_id, context.user_id or "", name_of(context))
        steps.append(store.add_member(room, member))
    await _quietly("joined", context, *steps)


@hub.on_disconnected
async def disconnected(event: DisconnectedEvent) -> None:
    context = event.context
    room = room_of(context)
    steps = [broadcast(room, _presence("left", context))]
    store = history.get_store()
    if store is not None:
        steps.append(store.remove_member(room, context.connection_id))
    await _quietly("left", context, *steps)


# -- chat messages --------------------------------------------------------------------------------
async def _chat(event: UserEvent) -> EventResponse | None:
    context = event.context
    try:
        text = extract_text(event.data)
    except InvalidText as invalid:
        return EventResponse(data=error_reply(str(invalid)))
    now_ms = int(time.time() * 1000)
    messages, seconds = rate_limit()
    next_state = limits.take_message(context.state, now_ms, messages, seconds)
    if next_state is None:
        return EventResponse(data=error_reply(f"slow down: at most {messages} messages in {seconds} s"))
    message = history.StoredMessage(
        id=new_message_id(now_ms),
        user_id=context.user_id or "",
        name=name_of(context),
        room=room_of(context),
        text=text,
        time=iso_time(now_ms),
    )
    store = history.get_store()
    if store is not None:
        try:
            earlier = await store.claim(message, context)
        except AzureError:
            LOGGER.warning(
                "storing a message failed connection=%s", log_safe(context.connection_id), exc_info=True
            )
            return EventResponse(data=error_reply("message not saved, try again"))
        if earlier is not None:  # the service retried an event we handled: nothing more to do
            LOGGER.info("duplicate event, not sent again: connection=%s", log_safe(context.connection_id))
            return None
    try:
        await broadcast(message.room, message.to_json())
    except AzureError:
        LOGGER.warning("broadcast failed connection=%s", log_safe(context.connection_id), exc_info=True)
        if store is not None:
            try:
                await store.forget(message, context)
            except AzureError:
                LOGGER.warning(
                    "could not remove an undelivered message connection=%s", log_safe(context.connection_id)
                )
        return EventResponse(data=error_reply("message not delivered, try again"))
    if store is not None:
        # After the broadcast, so the room is not kept waiting for it. If it fails, the 500
        # makes the service retry, and the retry (finding the claim) writes it without sending.
        await store.save(message)
    return EventResponse(state=next_state)


@hub.on_event("message")
async def message(event: UserEvent) -> EventResponse | None:
    """Simple WebSocket clients: every frame is a ``message`` event."""
    return await _chat(event)


@hub.on_event("chat")
async def chat(event: UserEvent) -> EventResponse | None:
    """Subprotocol clients: ``{"type":"event","event":"chat","data":{"text":"..."}}``."""
    return await _chat(event)


# -- history, members, typing -----------------------------------------------------------------------
class _BadRequest(ValueError):
    pass


def _history_request(data: Any) -> tuple[str | None, str | None, int]:
    if data is None or data == "":
        data = {}
    if not isinstance(data, dict):
        raise _BadRequest('send JSON {"before": id|null, "after": id|null, "limit": n}')
    before, after = data.get("before"), data.get("after")
    if not (history.valid_cursor(before) and history.valid_cursor(after)):
        raise _BadRequest("before and after must be message ids or null")
    limit = data.get("limit", HISTORY_DEFAULT_LIMIT)
    if limit is None:
        limit = HISTORY_DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= HISTORY_MAX_LIMIT:
        raise _BadRequest(f"limit must be a whole number from 1 to {HISTORY_MAX_LIMIT}")
    return before, after, limit


@hub.on_event("history")
async def history_event(event: UserEvent) -> EventResponse:
    """``{"before", "after", "limit"}`` -> ``{"kind": "history", "room", "messages", "more"}``."""
    try:
        before, after, limit = _history_request(event.data)
    except _BadRequest as bad:
        return EventResponse(data=error_reply(str(bad)))
    room = room_of(event.context)
    store = history.get_store()
    messages: list[dict[str, Any]] = []
    more = False
    if store is not None:
        try:
            page = await store.page(room, before=before, after=after, limit=limit)
        except AzureError:
            LOGGER.warning(
                "reading history failed connection=%s", log_safe(event.context.connection_id), exc_info=True
            )
            return EventResponse(data=error_reply("history is unavailable, try again"))
        messages, more = [m.to_json() for m in page.messages], page.more
    return EventResponse(data={"kind": "history", "room": room, "messages": messages, "more": more})


@hub.on_event("members")
async def members_event(event: UserEvent) -> EventResponse:
    """Web PubSub's group membership is who is connected; presence rows give their names."""
    context = event.context
    room = room_of(context)
    store = history.get_store()

    async def connections() -> list[Any]:
        return [c async for c in get_service_client(HUB).list_connections(group=room)]

    async def presence_rows() -> dict[str, history.Member]:
        return await store.members(room) if store is not None else {}

    try:
        in_group, names = await asyncio.gather(connections(), presence_rows())
    except AzureError:
        LOGGER.warning("listing members failed connection=%s", log_safe(context.connection_id), exc_info=True)
        return EventResponse(data=error_reply("members are unavailable, try again"))
    users: dict[str, str] = {}  # user id -> display name, in the service's order
    for connection in in_group:
        user_id = connection.user_id
        if user_id and not users.get(user_id):
            row = names.get(connection.connection_id)
            users[user_id] = row.name if row is not None else ""
    if context.user_id in users and not users[context.user_id]:
        users[context.user_id] = name_of(context)
    members = [
        {"userId": user_id, "name": name or user_id, "guest": is_guest(user_id)}
        for user_id, name in users.items()
    ]
    return EventResponse(data={"kind": "members", "room": room, "members": members})


@hub.on_event("typing")
async def typing_event(event: UserEvent) -> EventResponse | None:
    context = event.context
    next_state = limits.take_typing(context.state, int(time.time() * 1000))
    if next_state is None:
        return None
    sender, room = context.user_id or "", room_of(context)
    notice = ChatMessage(kind="typing", sender=sender, name=name_of(context), room=room)
    try:
        await broadcast(notice.room, notice.to_json(), excluded=[context.connection_id])
    except AzureError:
        LOGGER.warning("typing notice failed connection=%s", log_safe(context.connection_id))
        return None
    return EventResponse(state=next_state)
