"""Hub ``chat`` event handlers, served at ``/api/chat/{event}``: connections and messages.

Identity and room always come from the verified connection (``ce-userId``, the connection
state), never from a payload. The contract: docs/chat-protocol.md.

* ``connect``: the user id comes from the verified token (``ce-userId`` / ``sub``); a guest
  is refused when ``ChatAllowGuests`` is off (a token issued before still cannot connect);
  the room from ``?room=``, checked like ``open`` (``access.py``; 403 if not allowed); the
  display name from ``?name=`` **only** with the signature negotiate added for this user id
  (``nameSig``), else the user id is shown. The connection joins the room's group through
  the connect reply, with no roles: clients cannot join, leave or publish to groups.
* ``connected`` / ``disconnected``: tell the room who joined or left; keep the presence row
  that ``members`` reads names from, and the user's profile (``dm``/``invite`` look it up).
* ``message`` (simple clients) and ``chat`` (subprotocol clients): check the text and the
  per-connection rate limit, claim the event in storage (the proof that it was handled: a
  retried event is neither stored nor broadcast twice), broadcast, then write the history
  rows and, in private rooms and DMs, send unread notices to members elsewhere. No access
  read: the state says the room was checked, and a removed member's connections that view
  the room are closed (``room_events.remove``), so no state outlives a membership.
* ``history``, ``members``, ``typing``: the room the connection views.

Rooms (``rooms``, ``open``, ``create``, ``dm``, ``invite``, ``remove``, ``role``):
``room_events.py``. Message changes (``edit``, ``delete``, ``react``, ``read``):
``message_events.py``.
"""

from __future__ import annotations

import asyncio
import logging
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
)
from shared.identity import is_guest
from shared.logsafe import log_safe
from shared.negotiate import signed_name

from . import access, groups, history, limits, unread
from .access import Viewing, viewing
from .app import hub
from .config import allow_guests, rate_limit
from .display_names import is_reserved
from .ids import new_message_id
from .messages import ChatMessage, InvalidText, extract_text, iso_time
from .replies import error, name_of, now_ms, stores, take
from .requests import BadRequest, fields
from .store import RoomStore

LOGGER = logging.getLogger(__name__)

# Subprotocols the page and the official client SDKs offer, in order of preference.
PREFERRED_SUBPROTOCOLS = ("json.webpubsub.azure.v1", "json.reliable.webpubsub.azure.v1")
HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 100
NOT_ALLOWED = "no such room, or you are not a member"
NO_LONGER = "you are no longer a member of this room"
REMOVED_REASON = "you were removed from the room"
MAX_USER_ID_LENGTH = 256  # negotiate's ids are at most 145 characters (a provider and a principal id)


def room_of(context: ConnectionContext) -> str:
    return viewing(context).room_id


async def broadcast(room: str, message: dict[str, Any], excluded: list[str] | None = None) -> None:
    await groups.to_room(room, message, excluded)


# -- connection lifecycle -----------------------------------------------------------------------
@hub.on_connect
async def connect(event: ConnectEvent) -> ConnectResponse | ConnectErrorResponse:
    user_id = event.context.user_id or event.claim("sub")
    if not user_id:
        return ConnectErrorResponse(status=401, detail="sign in first")
    if len(user_id) > MAX_USER_ID_LENGTH:  # it may become the name in the state (4 KiB at most)
        return ConnectErrorResponse(status=400, detail="user id too long")
    if is_guest(user_id) and not allow_guests():
        return ConnectErrorResponse(status=401, detail="sign in first")
    requested = (event.query.get("room") or [viewing(event.context).room_id])[0]
    _, rooms = stores()
    try:
        allowed = await access.check(rooms, requested, user_id)
    except AzureError:
        LOGGER.warning("access check failed at connect connection=%s", log_safe(event.context.connection_id))
        return ConnectErrorResponse(status=500, detail="try again")
    if allowed is None:
        return ConnectErrorResponse(status=403, detail=NOT_ALLOWED)
    name = signed_name(event, user_id)
    if name is None or is_reserved(name):
        name = user_id
    subprotocol = next((p for p in PREFERRED_SUBPROTOCOLS if p in event.subprotocols), None)
    return ConnectResponse(
        user_id=user_id,
        groups=[allowed.room.id],
        roles=[],  # none: tokens from before this rule carried join/leave roles
        subprotocol=subprotocol,
        state=access.viewing_state({"name": name}, allowed),
    )


def _presence(kind: Literal["joined", "left"], context: ConnectionContext, room: str) -> dict[str, Any]:
    user_id = context.user_id or ""
    return ChatMessage(
        kind=kind, sender=user_id, name=name_of(context), guest=is_guest(user_id), room=room, time=iso_time()
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


async def enter(
    context: ConnectionContext, room: str, store: history.HistoryStore | None, *writes: Any
) -> None:
    """The connection's presence row (and ``writes``) first, then the room hears "joined": by
    then ``members`` shows its name (and ``dm``/``invite`` know the user)."""
    steps = list(writes)
    if store is not None:
        member = history.Member(context.connection_id, context.user_id or "", name_of(context))
        steps.append(store.add_member(room, member))
    await _quietly("joined", context, *steps)
    await _quietly("joined", context, broadcast(room, _presence("joined", context, room)))


async def exit_room(context: ConnectionContext, room: str, store: history.HistoryStore | None) -> None:
    steps = [broadcast(room, _presence("left", context, room))]
    if store is not None:
        steps.append(store.remove_member(room, context.connection_id))
    await _quietly("left", context, *steps)


@hub.on_connected
async def connected(event: ConnectedEvent) -> None:
    context = event.context
    where = viewing(context)
    store, rooms = stores()
    if rooms is not None and where.has_members:
        # Membership may have ended between connect's check and the service adding the
        # connection to the group: check again now that it is in (see open).
        try:
            member = await rooms.member(where.room_id, context.user_id or "")
        except AzureError:
            member = None
        if member is None:  # its state names the room: the connection must end (see remove)
            await _quietly("closing", context, groups.close(context.connection_id, REMOVED_REASON))
            return
    profile = []
    if rooms is not None and context.user_id:
        profile.append(rooms.save_profile(context.user_id, name_of(context)))
    await enter(context, where.room_id, store, *profile)


@hub.on_disconnected
async def disconnected(event: DisconnectedEvent) -> None:
    store, _ = stores()
    await exit_room(event.context, room_of(event.context), store)


# -- chat messages --------------------------------------------------------------------------------
async def _after_broadcast(
    store: history.HistoryStore, rooms: RoomStore, message: history.StoredMessage, where: Viewing
) -> None:
    """The history rows, and in rooms with members the unread notices (side by side)."""
    if not where.has_members:
        await store.save(message)
        return
    notify = unread.notify_members(rooms, message.room, message.user_id, message.id)
    saved, notified = await asyncio.gather(store.save(message), notify, return_exceptions=True)
    if isinstance(notified, AzureError):  # notices are a convenience: log, do not retry
        LOGGER.warning("unread notices failed for message=%s", message.id)
    elif isinstance(notified, BaseException):
        raise notified
    if isinstance(saved, BaseException):
        raise saved


async def _chat(event: UserEvent) -> EventResponse | None:
    context = event.context
    try:
        text = extract_text(event.data)
    except InvalidText as invalid:
        return error(str(invalid))
    stamp = now_ms()
    messages, seconds = rate_limit()
    next_state = limits.take_message(context.state, stamp, messages, seconds)
    if next_state is None:
        return error(f"slow down: at most {messages} messages in {seconds} s")
    where = viewing(context)
    user_id = context.user_id or ""
    message = history.StoredMessage(
        id=new_message_id(stamp),
        user_id=user_id,
        name=name_of(context),
        room=where.room_id,
        text=text,
        time=iso_time(stamp),
    )
    store, rooms = stores()
    if store is not None:
        try:
            earlier = await store.claim(message, context)
        except AzureError:
            LOGGER.warning(
                "storing a message failed connection=%s", log_safe(context.connection_id), exc_info=True
            )
            return error("message not saved, try again")
        if earlier is not None:  # the service retried an event we handled: nothing more to do
            LOGGER.info("duplicate event, not sent again: connection=%s", log_safe(context.connection_id))
            return None
    elif where.has_members:
        return error(NO_LONGER)
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
        return error("message not delivered, try again")
    if store is not None and rooms is not None:
        # After the broadcast, so the room is not kept waiting for it. If the history write
        # fails, the 500 makes the service retry, and the retry (finding the claim) writes it
        # without sending.
        await _after_broadcast(store, rooms, message, where)
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
def _history_request(data: Any) -> tuple[str | None, str | None, int]:
    request = fields(data, '{"before": id|null, "after": id|null, "limit": n}')
    before, after = request.get("before"), request.get("after")
    if not (history.valid_cursor(before) and history.valid_cursor(after)):
        raise BadRequest("before and after must be message ids or null")
    limit = request.get("limit", HISTORY_DEFAULT_LIMIT)
    if limit is None:
        limit = HISTORY_DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= HISTORY_MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {HISTORY_MAX_LIMIT}")
    return before, after, limit


@hub.on_event("history")
async def history_event(event: UserEvent) -> EventResponse:
    """``{"before", "after", "limit"}`` -> ``{"kind": "history", "room", "messages", "more"}``."""
    context = event.context
    try:
        before, after, limit = _history_request(event.data)
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "history")
    if refused is not None:
        return refused
    where = viewing(context)
    store, rooms = stores()
    messages: list[dict[str, Any]] = []
    more = False
    if store is not None:
        try:
            page, allowed = await asyncio.gather(
                store.page(where.room_id, before=before, after=after, limit=limit),
                access.still_member(rooms, where, context.user_id or ""),
            )
        except AzureError:
            LOGGER.warning(
                "reading history failed connection=%s", log_safe(context.connection_id), exc_info=True
            )
            return error("history is unavailable, try again", next_state)
        if not allowed:
            return error(NO_LONGER, next_state)
        messages, more = [m.to_json() for m in page.messages], page.more
    elif where.has_members:
        return error(NO_LONGER, next_state)
    reply = {"kind": "history", "room": where.room_id, "messages": messages, "more": more}
    return EventResponse(data=reply, state=next_state)


async def _public_members(
    context: ConnectionContext, room: str, store: history.HistoryStore | None
) -> list[dict[str, Any]]:
    """Web PubSub's group membership is who is connected; presence rows give their names."""

    async def presence_rows() -> dict[str, history.Member]:
        return await store.members(room) if store is not None else {}

    in_group, names = await asyncio.gather(groups.connections_in(room), presence_rows())
    users: dict[str, str] = {}  # user id -> display name, in the service's order
    for connection in in_group:
        user_id = connection.user_id
        if user_id and not users.get(user_id):
            row = names.get(connection.connection_id)
            users[user_id] = row.name if row is not None else ""
    if context.user_id in users and not users[context.user_id]:
        users[context.user_id] = name_of(context)
    return [
        {"userId": user_id, "name": name or user_id, "guest": is_guest(user_id)}
        for user_id, name in users.items()
    ]


async def _room_members(
    context: ConnectionContext, room: str, store: history.HistoryStore, rooms: RoomStore
) -> list[dict[str, Any]] | None:
    """Every member with role and whether they view the room now; ``None`` if the caller is no
    longer one of them."""
    members, in_group, names = await asyncio.gather(
        rooms.members(room), groups.connections_in(room), store.members(room)
    )
    if not any(member.user_id == context.user_id for member in members):
        return None
    connected = {c.user_id for c in in_group if c.user_id}
    current = {row.user_id: row.name for row in names.values() if row.name}
    return [
        {
            "userId": m.user_id,
            "name": current.get(m.user_id) or m.name,
            "guest": is_guest(m.user_id),
            "role": m.role.value,
            "connected": m.user_id in connected,
        }
        for m in members
    ]


@hub.on_event("members")
async def members_event(event: UserEvent) -> EventResponse:
    context = event.context
    next_state, refused = take(context, "members")
    if refused is not None:
        return refused
    where = viewing(context)
    store, rooms = stores()
    try:
        if not where.has_members:
            members = await _public_members(context, where.room_id, store)
        elif store is None or rooms is None:
            return error(NO_LONGER, next_state)
        else:
            found = await _room_members(context, where.room_id, store, rooms)
            if found is None:
                return error(NO_LONGER, next_state)
            members = found
    except AzureError:
        LOGGER.warning("listing members failed connection=%s", log_safe(context.connection_id), exc_info=True)
        return error("members are unavailable, try again", next_state)
    return EventResponse(
        data={"kind": "members", "room": where.room_id, "members": members}, state=next_state
    )


@hub.on_event("typing")
async def typing_event(event: UserEvent) -> EventResponse | None:
    context = event.context
    next_state = limits.take_typing(context.state, now_ms())
    if next_state is None:
        return None
    where = viewing(context)
    sender = context.user_id or ""
    _, rooms = stores()
    notice = ChatMessage(
        kind="typing", sender=sender, name=name_of(context), guest=is_guest(sender), room=where.room_id
    )
    try:
        if not await access.still_member(rooms, where, sender):
            return error(NO_LONGER, next_state)
        await broadcast(notice.room, notice.to_json(), excluded=[context.connection_id])
    except AzureError:
        LOGGER.warning("typing notice failed connection=%s", log_safe(context.connection_id))
        return None
    return EventResponse(state=next_state)
