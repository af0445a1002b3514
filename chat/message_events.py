"""Changing messages and read markers: ``edit``, ``delete``, ``react``, ``read``.

``edit``, ``delete`` and ``react`` act on a message of the room the connection views (the
room never comes from the payload). Each is claimed first (``shared.claims``, in the room's
partition; in a private room or DM one transaction also checks that the caller is still a
member). A retried event redoes its idempotent writes, in case the first attempt stopped
half way, and broadcasts nothing again: one effect. ``read`` needs no claim: a marker only
moves forward, and the notice it sends is the current count, the same however often.
"""

from __future__ import annotations

import logging
from typing import Any

from azure.core.exceptions import AzureError

from shared import ConnectionContext, EventResponse, UserEvent, claims
from shared.logsafe import log_safe

from . import access, groups, history, reactions, unread
from .access import Viewing, viewing
from .app import hub
from .handlers import NO_LONGER, NOT_ALLOWED
from .messages import iso_time
from .replies import error, now_ms, stores, take
from .requests import BadRequest, bool_field, fields, message_id_field, room_field, text_field
from .rooms import MODERATING
from .store import RoomStore

LOGGER = logging.getLogger(__name__)
NO_MESSAGE = "no such message in this room"


class _NotMember(Exception):
    pass


async def _claim(
    store: history.HistoryStore,
    rooms: RoomStore,
    where: Viewing,
    context: ConnectionContext,
    record: dict[str, Any],
) -> claims.Claim:
    """The event's claim in the room's partition (with the membership check in private rooms)."""
    if where.has_members:
        outcome = await rooms.claim_as_member(where.room_id, context, record)
        if outcome is None:
            raise _NotMember()
        return outcome
    return await claims.claim(store.table, where.room_id, context, record)


@hub.on_event("edit")
async def edit_event(event: UserEvent) -> EventResponse | None:
    context = event.context
    try:
        request = fields(event.data, '{"id": message id, "text": text}')
        message_id, text = message_id_field(request), text_field(request)
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "edit")
    if refused is not None:
        return refused
    where = viewing(context)
    store, rooms = stores()
    if store is None or rooms is None:
        return error(NO_MESSAGE, next_state)
    try:
        claim = await _claim(store, rooms, where, context, {"editedAt": iso_time(now_ms())})
        edited_at = str(claim.record.get("editedAt") or iso_time(now_ms()))
        message = await store.message(where.room_id, message_id)
        if message is None or message.deleted:
            return error(NO_MESSAGE, next_state)
        if message.user_id != context.user_id:
            return error("only its author can edit a message", next_state)
        if not (message.edited_at and message.edited_at >= edited_at):  # else done already, or edited since
            await store.edit(message, text, edited_at)
    except _NotMember:
        return error(NO_LONGER, next_state)
    except AzureError:
        LOGGER.warning("editing failed connection=%s", log_safe(context.connection_id), exc_info=True)
        raise  # a 500: the service retries, and the retry finishes the edit
    if claim.first:
        notice = {
            "kind": "edited",
            "id": message_id,
            "room": where.room_id,
            "text": text,
            "editedAt": edited_at,
        }
        await groups.to_room(where.room_id, notice)
    return EventResponse(state=next_state)


@hub.on_event("delete")
async def delete_event(event: UserEvent) -> EventResponse | None:
    context = event.context
    try:
        message_id = message_id_field(fields(event.data, '{"id": message id}'))
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "delete")
    if refused is not None:
        return refused
    where = viewing(context)
    store, rooms = stores()
    if store is None or rooms is None:
        return error(NO_MESSAGE, next_state)
    user_id = context.user_id or ""
    try:
        claim = await _claim(store, rooms, where, context, {})
        message = await store.message(where.room_id, message_id)
        if message is None or (message.deleted and claim.first):
            return error(NO_MESSAGE, next_state)
        if not message.deleted:
            if message.user_id != user_id:
                # Moderation: the caller's role now, not the one cached when the room was opened.
                member = await rooms.member(where.room_id, user_id) if where.has_members else None
                if member is None or member.role not in MODERATING:
                    return error(
                        "only its author, or an owner or moderator of the room, can delete a message",
                        next_state,
                    )
            await store.tombstone(where.room_id, message_id)
    except _NotMember:
        return error(NO_LONGER, next_state)
    except AzureError:
        LOGGER.warning("deleting failed connection=%s", log_safe(context.connection_id), exc_info=True)
        raise
    if claim.first:
        await groups.to_room(where.room_id, {"kind": "deleted", "id": message_id, "room": where.room_id})
    return EventResponse(state=next_state)


@hub.on_event("react")
async def react_event(event: UserEvent) -> EventResponse | None:
    context = event.context
    try:
        request = fields(event.data, '{"id": message id, "emoji": emoji, "on": true|false}')
        message_id = message_id_field(request)
        emoji = reactions.check_emoji(request.get("emoji"))
        on = bool_field(request, "on", default=True)
    except (BadRequest, reactions.InvalidEmoji) as bad:
        return error(str(bad))
    next_state, refused = take(context, "react")
    if refused is not None:
        return refused
    where = viewing(context)
    store, rooms = stores()
    if store is None or rooms is None:
        return error(NO_MESSAGE, next_state)
    try:
        claim = await _claim(store, rooms, where, context, {})
        message = await store.message(where.room_id, message_id)
        if message is None or message.deleted:
            return error(NO_MESSAGE, next_state)
        tally, changed = await reactions.react(
            store.table, where.room_id, message_id, emoji, context.user_id or "", on
        )
    except _NotMember:
        return error(NO_LONGER, next_state)
    except (reactions.TooManyReactions, reactions.Busy) as refusal:
        return error(str(refusal), next_state)
    except AzureError:
        LOGGER.warning("reacting failed connection=%s", log_safe(context.connection_id), exc_info=True)
        raise
    if claim.first and changed:
        notice = {
            "kind": "reactions",
            "id": message_id,
            "room": where.room_id,
            "reactions": tally.to_json(),
            "version": tally.version,
        }
        await groups.to_room(where.room_id, notice)
    return EventResponse(state=next_state)


@hub.on_event("read")
async def read_event(event: UserEvent) -> EventResponse | None:
    context = event.context
    try:
        request = fields(event.data, '{"room": id, "id": message id}')
        room_id, message_id = room_field(request), message_id_field(request)
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "read")
    if refused is not None:
        return refused
    _, rooms = stores()
    if rooms is None:
        return error(NOT_ALLOWED, next_state)
    user_id = context.user_id or ""
    try:
        allowed = await access.check(rooms, room_id, user_id)
        if allowed is None:
            return error(NOT_ALLOWED, next_state)
        current = await rooms.marker(room_id, user_id) or ""
        if message_id > current:
            await rooms.set_marker(room_id, user_id, message_id)
        marker = max(current, message_id, allowed.member.added if allowed.member else "")
        count = (await unread.counts(rooms.table, room_id, {user_id: marker}))[user_id]
        await groups.to_user(user_id, unread.notice(room_id, count))
    except AzureError:
        LOGGER.warning("marking read failed connection=%s", log_safe(context.connection_id), exc_info=True)
        return error("could not mark as read, try again", next_state)
    return EventResponse(state=next_state)
