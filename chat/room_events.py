"""Room events: ``rooms``, ``open``, ``create``, ``dm``, ``invite``, ``remove``, ``role``.

Shapes: docs/chat-protocol.md. Access: ``access.py``. Storage: ``store.py``.

Every write is claimed first (``shared.claims``, in the caller's partition), so a retried
event has one effect: the retry redoes the (idempotent) writes, in case the first attempt
stopped half way, but sends no notice again, and answers as the first did. ``create``
keeps the id it chose in its claim, so its retry finishes the same room.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from azure.core.exceptions import AzureError

from shared import EventResponse, UserEvent
from shared.identity import is_guest
from shared.logsafe import log_safe
from shared.names import InvalidName, normalize_name

from . import access, groups, unread
from .access import viewing
from .app import hub
from .config import allowed_rooms
from .handlers import NOT_ALLOWED, REMOVED_REASON, enter, exit_room
from .replies import error, name_of, now_ms, stores, take
from .requests import BadRequest, fields, role_field, room_field, user_field, user_list_field
from .rooms import MODERATING, Kind, Peer, Role, Room, describe, dm_id, new_private_id, public_room
from .store import Member, RoomStore

LOGGER = logging.getLogger(__name__)

MAX_MEMBERS = 100
MAX_CREATE_MEMBERS = 49
MAX_TOPIC_LENGTH = 200
NO_STORAGE = "rooms need storage (ChatStorage), which this app does not have"


def _room_added(room: Room, role: Role, user_id: str) -> dict[str, Any]:
    return {"kind": "room-added", "room": describe(room, role, peer=room.peer_of(user_id))}


def _membership(room: str, member: Member | None, user_id: str, name: str, by: str) -> dict[str, Any]:
    return {
        "kind": "membership",
        "room": room,
        "userId": user_id,
        "name": name,
        "guest": is_guest(user_id),
        "role": member.role.value if member is not None else None,
        "by": by,
    }


def _member_reply(room: str, user_id: str, name: str, role: Role | None) -> dict[str, Any]:
    member = {"userId": user_id, "name": name, "role": role.value if role is not None else None}
    return {"kind": "member", "room": room, "member": member}


async def _send_all(*sends: Any) -> None:
    """Notices after a change is stored: a failed one is logged, the change stands."""
    for result in await asyncio.gather(*sends, return_exceptions=True):
        if isinstance(result, AzureError):
            LOGGER.warning("a room notice could not be sent: %s", type(result).__name__)
        elif isinstance(result, BaseException):
            raise result


# -- rooms -----------------------------------------------------------------------------------------
async def _unread(rooms: RoomStore, room: Room, user_id: str, member: Member | None) -> int:
    marker = await rooms.marker(room.id, user_id)
    if member is not None:
        marker = max(marker or "", member.added)
    if not marker:
        return 0
    found = await unread.counts(rooms.table, room.id, {user_id: marker})
    return found[user_id]


@hub.on_event("rooms")
async def rooms_event(event: UserEvent) -> EventResponse:
    context = event.context
    next_state, refused = take(context, "rooms")
    if refused is not None:
        return refused
    user_id = context.user_id or ""
    _, rooms = stores()
    public = [room for room in (public_room(name) for name in allowed_rooms()) if room is not None]
    if rooms is None:
        listed = [describe(room, Role.MEMBER) for room in public]
        return EventResponse(data={"kind": "rooms", "rooms": listed}, state=next_state)
    try:
        entries = await rooms.index(user_id)
        # The index only says where to look: the member row decides (and has the role).
        checked = await asyncio.gather(*(access.check(rooms, entry.room_id, user_id) for entry in entries))
        private = [allowed for allowed in checked if allowed is not None and allowed.member is not None]
        private.sort(
            key=lambda a: (a.room.kind is Kind.DM, (a.room.peer_of(user_id) or a.room).name.casefold())
        )
        everything = [access.Access(room, Role.MEMBER, None) for room in public] + private
        counts = await asyncio.gather(*(_unread(rooms, a.room, user_id, a.member) for a in everything))
    except AzureError:
        LOGGER.warning("listing rooms failed connection=%s", log_safe(context.connection_id), exc_info=True)
        return error("rooms are unavailable, try again", next_state)
    listed = [
        describe(a.room, a.role, count, peer=a.room.peer_of(user_id))
        for a, count in zip(everything, counts, strict=True)
    ]
    return EventResponse(data={"kind": "rooms", "rooms": listed}, state=next_state)


@hub.on_event("open")
async def open_event(event: UserEvent) -> EventResponse:
    """Check access, then move the connection from its room's group into the new room's."""
    context = event.context
    try:
        room_id = room_field(fields(event.data, '{"room": id}'))
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "open")
    if refused is not None:
        return refused
    user_id = context.user_id or ""
    store, rooms = stores()
    old = viewing(context).room_id
    try:
        allowed = await access.check(rooms, room_id, user_id)
        if allowed is None:
            return error(NOT_ALLOWED, next_state)
        if allowed.room.id != old:
            await groups.move(context.connection_id, old, allowed.room.id)
            if (
                allowed.member is not None
                and rooms is not None
                and await rooms.member(room_id, user_id) is None
            ):
                # Removed while we were moving it in: the remover's eviction may have come
                # first. Checked again once in the group, so one of the two always wins.
                await groups.move(context.connection_id, allowed.room.id, old)
                return error(NOT_ALLOWED, next_state)
        count = await _unread(rooms, allowed.room, user_id, allowed.member) if rooms is not None else 0
    except AzureError:
        LOGGER.warning("opening a room failed connection=%s", log_safe(context.connection_id), exc_info=True)
        return error("could not open the room, try again", next_state)
    if allowed.room.id != old:
        await asyncio.gather(exit_room(context, old, store), enter(context, allowed.room.id, store))
    room = describe(allowed.room, allowed.role, count, peer=allowed.room.peer_of(user_id))
    state = access.viewing_state(next_state or context.state, allowed)
    return EventResponse(data={"kind": "opened", "room": room}, state=state)


# -- creating rooms -------------------------------------------------------------------------------
def _create_request(data: Any) -> tuple[str, list[str], str | None]:
    request = fields(data, '{"name": text, "members": [userId, ...]}')
    raw_name = request.get("name")
    if not isinstance(raw_name, str):
        raise BadRequest("name must be text")
    try:
        name = normalize_name(raw_name)
    except InvalidName as invalid:
        raise BadRequest(str(invalid).replace("a display name", "a room name")) from None
    members = user_list_field(request, "members", MAX_CREATE_MEMBERS)
    topic = request.get("topic")
    if topic is not None:
        if not isinstance(topic, str) or len(topic) > MAX_TOPIC_LENGTH or not topic.isprintable():
            raise BadRequest(f"topic must be text of at most {MAX_TOPIC_LENGTH} characters")
        topic = topic.strip() or None
    return name, members, topic


@hub.on_event("create")
async def create_event(event: UserEvent) -> EventResponse:
    context = event.context
    try:
        name, invited, topic = _create_request(event.data)
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "create")
    if refused is not None:
        return refused
    _, rooms = stores()
    if rooms is None:
        return error(NO_STORAGE, next_state)
    user_id = context.user_id or ""
    invited = [user for user in invited if user != user_id]
    try:
        claim = await rooms.claim_for_user(context, {"room": new_private_id()})
        room_id = claim.record.get("room")
        if not isinstance(room_id, str) or public_room(room_id) is not None:
            return error("this request cannot be repeated, send a new one", next_state)
        names = await asyncio.gather(*(rooms.profile(user) for user in invited))
        unknown = [user for user, found in zip(invited, names, strict=True) if found is None]
        if unknown:
            return error(f"unknown user: {unknown[0]}", next_state)
        room = Room(id=room_id, name=name, kind=Kind.PRIVATE, created_by=user_id, topic=topic)
        added = unread.marker_at(now_ms())
        await rooms.add_room(room)
        await rooms.add_member(room, Member(user_id, name_of(context), Role.OWNER, added))
        await asyncio.gather(
            *(
                rooms.add_member(room, Member(user, found or user, Role.MEMBER, added))
                for user, found in zip(invited, names, strict=True)
            )
        )
    except AzureError:
        LOGGER.warning("creating a room failed connection=%s", log_safe(context.connection_id), exc_info=True)
        raise  # a 500: the service retries, and the retry finishes this room (its id is claimed)
    if claim.first:
        notices = [groups.to_user(user_id, _room_added(room, Role.OWNER, user_id))]
        notices += [groups.to_user(user, _room_added(room, Role.MEMBER, user)) for user in invited]
        await _send_all(*notices)
    return EventResponse(data={"kind": "room", "room": describe(room, Role.OWNER)}, state=next_state)


@hub.on_event("dm")
async def dm_event(event: UserEvent) -> EventResponse:
    context = event.context
    try:
        other = user_field(fields(event.data, '{"userId": id}'))
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "dm")
    if refused is not None:
        return refused
    _, rooms = stores()
    if rooms is None:
        return error(NO_STORAGE, next_state)
    user_id = context.user_id or ""
    if other == user_id:
        return error("a direct message needs another user", next_state)
    try:
        claim = await rooms.claim_for_user(context)
        other_name = await rooms.profile(other)
        if other_name is None:
            return error(f"unknown user: {other}", next_state)
        me, them = Peer(user_id, name_of(context)), Peer(other, other_name)
        room = Room(id=dm_id(user_id, other), name="", kind=Kind.DM, created_by=user_id, users=(me, them))
        created = await rooms.add_room(room)
        if not created:
            room = await rooms.room(room.id) or room
        me, them = room.peer_of(other) or me, room.peer_of(user_id) or them
        added = unread.marker_at(now_ms())
        await asyncio.gather(
            rooms.add_member(room, Member(user_id, me.name, Role.MEMBER, added), peer=them),
            rooms.add_member(room, Member(other, them.name, Role.MEMBER, added), peer=me),
        )
    except AzureError:
        LOGGER.warning("starting a DM failed connection=%s", log_safe(context.connection_id), exc_info=True)
        raise
    if created and claim.first:
        await _send_all(
            groups.to_user(user_id, _room_added(room, Role.MEMBER, user_id)),
            groups.to_user(other, _room_added(room, Role.MEMBER, other)),
        )
    return EventResponse(
        data={"kind": "room", "room": describe(room, Role.MEMBER, peer=them)}, state=next_state
    )


# -- membership -------------------------------------------------------------------------------------
def _target(data: Any) -> tuple[str, str]:
    request = fields(data, '{"room": id, "userId": id}')
    return room_field(request), user_field(request)


@hub.on_event("invite")
async def invite_event(event: UserEvent) -> EventResponse:
    context = event.context
    try:
        room_id, target = _target(event.data)
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "invite")
    if refused is not None:
        return refused
    _, rooms = stores()
    if rooms is None:
        return error(NO_STORAGE, next_state)
    user_id = context.user_id or ""
    try:
        claim = await rooms.claim_for_user(context)
        room, me = await rooms.room_and_member(room_id, user_id)
        if room is None or me is None:
            return error(NOT_ALLOWED, next_state)
        if room.kind is not Kind.PRIVATE:
            return error("nobody can be invited into a direct message (or a public room)", next_state)
        if me.role not in MODERATING:
            return error("only an owner or a moderator can invite", next_state)
        target_name, members = await asyncio.gather(rooms.profile(target), rooms.members(room_id))
        if target_name is None:
            return error(f"unknown user: {target}", next_state)
        existing = next((m for m in members if m.user_id == target), None)
        if existing is not None:
            return EventResponse(
                data=_member_reply(room_id, target, existing.name, existing.role), state=next_state
            )
        if len(members) >= MAX_MEMBERS:
            return error(f"a room has at most {MAX_MEMBERS} members", next_state)
        member = Member(target, target_name, Role.MEMBER, unread.marker_at(now_ms()))
        new = await rooms.add_member(room, member)
    except AzureError:
        LOGGER.warning("inviting failed connection=%s", log_safe(context.connection_id), exc_info=True)
        raise
    if new and claim.first:
        await _send_all(
            groups.to_user(target, _room_added(room, Role.MEMBER, target)),
            groups.to_room(room_id, _membership(room_id, member, target, target_name, user_id)),
        )
    return EventResponse(data=_member_reply(room_id, target, target_name, Role.MEMBER), state=next_state)


def _may_remove(me: Member, target: Member) -> bool:
    if me.user_id == target.user_id:
        return True  # leaving
    if me.role is Role.OWNER:
        return True
    return me.role is Role.MODERATOR and target.role is Role.MEMBER


@hub.on_event("remove")
async def remove_event(event: UserEvent) -> EventResponse:
    context = event.context
    try:
        room_id, target = _target(event.data)
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "remove")
    if refused is not None:
        return refused
    _, rooms = stores()
    if rooms is None:
        return error(NO_STORAGE, next_state)
    user_id = context.user_id or ""
    try:
        claim = await rooms.claim_for_user(context)
        room, me = await rooms.room_and_member(room_id, user_id)
        if claim.first or target != user_id:
            if room is None or me is None:
                return error(NOT_ALLOWED, next_state)
        if room is not None and room.kind is not Kind.PRIVATE:
            return error("nobody can be removed from a direct message", next_state)
        members = await rooms.members(room_id)
        them = next((m for m in members if m.user_id == target), None)
        if them is None:
            if claim.first:
                return error(f"{target} is not a member", next_state)
            await groups.evict(target, room_id)  # a retry: finish what the first attempt began
            return EventResponse(data=_member_reply(room_id, target, target, None), state=next_state)
        assert me is not None
        if not _may_remove(me, them):
            return error("only an owner, or a moderator for members, can remove someone", next_state)
        owners = [m for m in members if m.role is Role.OWNER]
        if them.role is Role.OWNER and len(owners) <= 1:
            return error("the last owner cannot leave: make someone else owner first", next_state)
        # The member row first: from then on every check refuses them; then the group, at once.
        await rooms.remove_member(room_id, target)
        viewing_now = [c.connection_id for c in await groups.connections_in(room_id) if c.user_id == target]
        await groups.evict(target, room_id)
    except AzureError:
        LOGGER.warning("removing failed connection=%s", log_safe(context.connection_id), exc_info=True)
        raise
    if claim.first:
        await _send_all(
            groups.to_user(target, {"kind": "room-removed", "room": room_id}),
            groups.to_room(room_id, _membership(room_id, None, target, them.name, user_id)),
        )
    # Those connections' state still names the room (chat messages trust it, with no read):
    # they end, after the notice. Their page reconnects, to a room it may open.
    await _send_all(*(groups.close(connection, REMOVED_REASON) for connection in viewing_now))
    return EventResponse(data=_member_reply(room_id, target, them.name, None), state=next_state)


@hub.on_event("role")
async def role_event(event: UserEvent) -> EventResponse:
    context = event.context
    try:
        request = fields(event.data, '{"room": id, "userId": id, "role": role}')
        room_id, target, role = room_field(request), user_field(request), role_field(request)
    except BadRequest as bad:
        return error(str(bad))
    next_state, refused = take(context, "role")
    if refused is not None:
        return refused
    _, rooms = stores()
    if rooms is None:
        return error(NO_STORAGE, next_state)
    user_id = context.user_id or ""
    try:
        claim = await rooms.claim_for_user(context)
        room, me = await rooms.room_and_member(room_id, user_id)
        if room is None or me is None:
            return error(NOT_ALLOWED, next_state)
        if room.kind is not Kind.PRIVATE:
            return error("a direct message has no roles", next_state)
        if me.role is not Role.OWNER:
            return error("only an owner can change roles", next_state)
        members = await rooms.members(room_id)
        them = next((m for m in members if m.user_id == target), None)
        if them is None:
            return error(f"{target} is not a member", next_state)
        owners = [m for m in members if m.role is Role.OWNER]
        if them.role is Role.OWNER and role is not Role.OWNER and len(owners) <= 1:
            return error("the last owner cannot step down: make someone else owner first", next_state)
        if them.role is not role and not await rooms.set_role(room_id, target, role):
            return error(f"{target} is not a member", next_state)
    except AzureError:
        LOGGER.warning("changing a role failed connection=%s", log_safe(context.connection_id), exc_info=True)
        raise
    if them.role is not role and claim.first:
        changed = them._replace(role=role)
        await _send_all(groups.to_room(room_id, _membership(room_id, changed, target, them.name, user_id)))
    return EventResponse(data=_member_reply(room_id, target, them.name, role), state=next_state)
