"""Rooms as data: kinds, roles, ids, and what a client is told about a room.

* **public** rooms are the ``ChatRooms`` setting: open to every user; their id is their name.
* **private** rooms have members, each with a role; id ``~r`` + 22 random URL-safe characters.
* a **DM** is the private room of exactly two users; its id ``~d`` + 40 hex digits is derived
  from both user ids (order does not matter), so it is the same room whoever starts it.

Room ids are Web PubSub group names and Table Storage partition keys as they are: no id
holds a character either refuses, and no public room name starts with ``~`` (``config``).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from enum import StrEnum
from typing import Any, NamedTuple

from .config import RESERVED_PREFIX, allowed_rooms

PRIVATE_PREFIX = RESERVED_PREFIX + "r"
DM_PREFIX = RESERVED_PREFIX + "d"
_PRIVATE_ID = re.compile(r"~r[A-Za-z0-9_-]{22}")
_DM_ID = re.compile(r"~d[0-9a-f]{40}")
MAX_ROOM_ID_LENGTH = 64


class Kind(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    DM = "dm"


class Role(StrEnum):
    OWNER = "owner"
    MODERATOR = "moderator"
    MEMBER = "member"


MODERATING = frozenset({Role.OWNER, Role.MODERATOR})


class Peer(NamedTuple):
    """A user as shown beside a room: the other user of a DM."""

    user_id: str
    name: str


class Room(NamedTuple):
    id: str
    name: str
    kind: Kind
    created_by: str
    topic: str | None = None
    users: tuple[Peer, ...] = ()  # DMs: both users, as they were known when it was created

    def peer_of(self, user_id: str) -> Peer | None:
        """The other user of a DM (``None`` for other kinds)."""
        if self.kind is not Kind.DM:
            return None
        return next((peer for peer in self.users if peer.user_id != user_id), None)

    @property
    def has_members(self) -> bool:
        """Private rooms and DMs: access is membership."""
        return self.kind is not Kind.PUBLIC


def new_private_id() -> str:
    return PRIVATE_PREFIX + secrets.token_urlsafe(16)


def dm_id(user_a: str, user_b: str) -> str:
    """The DM of two users: the same id from both sides (an unambiguous encoding of the pair)."""
    pair = json.dumps(sorted([user_a, user_b])).encode("utf-8", "surrogatepass")
    return DM_PREFIX + hashlib.sha256(pair).hexdigest()[:40]


def kind_of_id(room_id: str) -> Kind | None:
    """The kind an id names by its shape (public: any configured name), else ``None``."""
    if _PRIVATE_ID.fullmatch(room_id):
        return Kind.PRIVATE
    if _DM_ID.fullmatch(room_id):
        return Kind.DM
    if room_id in allowed_rooms():
        return Kind.PUBLIC
    return None


def public_room(room_id: str) -> Room | None:
    """The public room ``room_id`` (from ``ChatRooms``), or ``None``."""
    if room_id not in allowed_rooms():
        return None
    return Room(id=room_id, name=room_id, kind=Kind.PUBLIC, created_by="")


def describe(room: Room, role: Role, unread: int = 0, peer: Peer | None = None) -> dict[str, Any]:
    """What a client is told about ``room`` (docs/chat-protocol.md, "Rooms")."""
    out: dict[str, Any] = {
        "id": room.id,
        "name": peer.name if peer is not None else room.name,
        "kind": room.kind.value,
        "role": role.value,
        "unread": unread,
    }
    if room.topic:
        out["topic"] = room.topic
    if peer is not None:
        out["with"] = {"userId": peer.user_id, "name": peer.name}
    return out
