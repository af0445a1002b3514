"""Who may open which room, and what a connection's state remembers of that check.

The rule: a public room (``ChatRooms``) is open to every user; a private room or DM only to
its members, i.e. to users with a member row in the room's partition (``store.py``).

``connect`` (for ``?room=``) and ``open`` check it, put the connection in the room's group
and keep the outcome in the connection state: ``{"room", "kind", "role"}``. The service
holds that state and sends it with every later event of the connection; only our own
replies set it (a client cannot), so a chat message costs no storage read at all, in any
room. Membership can end while a connection views the room: ``remove`` then closes the
removed user's connections in the room (after evicting them from its group and telling
them), so no state outlives the membership it records; ``connect`` and ``open`` check again
once the connection is in the group (a removal racing them wins). Events that can afford
it still check on their own: ``edit``/``delete``/``react`` in one storage transaction with
their claim, ``members`` from the member list it reads anyway, ``history`` and ``typing``
with one point read beside their own work. Moderation (``delete`` of another's message,
``invite``, ``remove``, ``role``) always reads the caller's role afresh: the cached role is
only what the client was told.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.events import ConnectionContext

from .config import allowed_rooms, default_room
from .rooms import Kind, Role, Room, kind_of_id, public_room
from .store import Member, RoomStore

ROOM_KEY, KIND_KEY, ROLE_KEY = "room", "kind", "role"
_ROLES = frozenset(role.value for role in Role)


class Viewing(NamedTuple):
    """The room a connection views, as the state remembers it."""

    room_id: str
    kind: Kind
    role: Role

    @property
    def has_members(self) -> bool:
        return self.kind is not Kind.PUBLIC


class Access(NamedTuple):
    room: Room
    role: Role
    member: Member | None  # None for public rooms


def viewing(context: ConnectionContext) -> Viewing:
    """The room in the connection state; anything we could not have written means the default room."""
    state = context.state
    room, kind = state.get(ROOM_KEY), state.get(KIND_KEY)
    if isinstance(room, str):
        if kind in (Kind.PRIVATE.value, Kind.DM.value) and kind_of_id(room) is Kind(kind):
            role = state.get(ROLE_KEY)
            known = Role(role) if isinstance(role, str) and role in _ROLES else Role.MEMBER
            return Viewing(room, Kind(kind), known)
        if room in allowed_rooms():
            return Viewing(room, Kind.PUBLIC, Role.MEMBER)
    return Viewing(default_room(), Kind.PUBLIC, Role.MEMBER)


def viewing_state(state: Mapping[str, Any], access: Access) -> dict[str, Any]:
    """``state`` with the connection now viewing ``access.room``."""
    return {**state, ROOM_KEY: access.room.id, KIND_KEY: access.room.kind.value, ROLE_KEY: access.role.value}


async def check(store: RoomStore | None, room_id: str, user_id: str) -> Access | None:
    """May ``user_id`` open ``room_id``? ``None`` for no (or no such room: the same answer, so
    that a refusal does not tell whether a private room exists)."""
    public = public_room(room_id)
    if public is not None:
        return Access(public, Role.MEMBER, None)
    kind = kind_of_id(room_id)
    if kind is None or store is None:
        return None
    room, member = await store.room_and_member(room_id, user_id)
    if room is None or member is None or room.kind is not kind:
        return None
    return Access(room, member.role, member)


async def still_member(store: RoomStore | None, where: Viewing, user_id: str) -> bool:
    """For a connection viewing ``where``: is its user still allowed there? (Public: yes.)"""
    if not where.has_members:
        return True
    if store is None:
        return False
    return await store.member(where.room_id, user_id) is not None
