"""Rooms, members, read markers and user profiles in Table Storage (the history's table).

Every room has its own partition (the room id), shared with its messages (``history.py``);
every user has one too. RowKeys tell the rows apart by their first letter:

=====================  =================================================================  ============
PartitionKey / RowKey  what                                                               written by
=====================  =================================================================  ============
``<room>`` / ``i``     the room: ``{id, name, kind, createdBy, topic?, created}``          create, dm
``<room>`` / ``q<u>``  a member (private rooms, DMs): ``{userId, name, role, added}``.     create, dm,
                       **The** access rule: no row, no access                              invite, role
``<room>`` / ``k<u>``  a read marker: ``{userId, lastRead}`` (any room)                   read
``~u<u>`` / ``profile`` a user's last display name ``{userId, name}`` (invite and DM      connected
                       look users up here)
``~u<u>`` / ``r<room>`` the user's rooms, for ``rooms`` (an index: access is decided by    with ``q``
                       the room's ``q`` row, never by this one)
``~u<u>`` / ``e<…>``   claims of the user's room events (``shared.claims``)               create, …
=====================  =================================================================  ============

``<u>`` is a hash of the user id (ids may hold characters keys refuse). A membership is
written room side first and removed room side first, so the index can only lag behind
the truth, never grant anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any, NamedTuple

from shared import claims
from shared.events import ConnectionContext
from shared.tables import Table

from .rooms import Kind, Peer, Role, Room

INFO = "i"
MEMBER = "q"
MARKER = "k"
PROFILE = "profile"
INDEX = "r"
USER_PARTITION = "~u"


def user_hash(user_id: str) -> str:
    return hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def user_partition(user_id: str) -> str:
    return USER_PARTITION + user_hash(user_id)


def member_key(user_id: str) -> str:
    return MEMBER + user_hash(user_id)


def marker_key(user_id: str) -> str:
    return MARKER + user_hash(user_id)


class Member(NamedTuple):
    user_id: str
    name: str
    role: Role
    added: str  # a message-id-shaped marker: messages after it are unread for a new member


class IndexEntry(NamedTuple):
    """A room in a user's list (display data only)."""

    room_id: str
    kind: Kind
    name: str
    peer: Peer | None


def _role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        return Role.MEMBER


def _member(entity: dict[str, Any]) -> Member:
    return Member(
        entity["userId"],
        entity.get("name") or entity["userId"],
        _role(entity.get("role")),
        entity.get("added") or "",
    )


def _peers(raw: object) -> tuple[Peer, ...]:
    try:
        decoded = json.loads(raw) if isinstance(raw, str) else []
        return tuple(Peer(str(user), str(name)) for user, name in decoded)
    except (ValueError, TypeError):
        return ()


def _room(entity: dict[str, Any]) -> Room:
    return Room(
        id=entity["id"],
        name=entity.get("name") or "",
        kind=Kind(entity["kind"]),
        created_by=entity.get("createdBy") or "",
        topic=entity.get("topic") or None,
        users=_peers(entity.get("users")),
    )


def _range(prefix: str) -> dict[str, str]:
    return {"low": prefix, "high": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


class RoomStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- reading ---------------------------------------------------------------------------------
    async def room(self, room_id: str) -> Room | None:
        entity = await self.table.get(room_id, INFO)
        return _room(entity) if entity is not None else None

    async def member(self, room_id: str, user_id: str) -> Member | None:
        entity = await self.table.get(room_id, member_key(user_id))
        return _member(entity) if entity is not None else None

    async def room_and_member(self, room_id: str, user_id: str) -> tuple[Room | None, Member | None]:
        """Both point reads at once: the access check of a private room or DM."""
        room, member = await asyncio.gather(self.room(room_id), self.member(room_id, user_id))
        return room, member

    async def members(self, room_id: str) -> list[Member]:
        query = "PartitionKey eq @room and RowKey gt @low and RowKey lt @high"
        entities = await self.table.query(query, {"room": room_id, **_range(MEMBER)})
        return [_member(entity) for entity in entities]

    async def markers(self, room_id: str) -> dict[str, str]:
        """Read markers of ``room_id`` by user id."""
        query = "PartitionKey eq @room and RowKey gt @low and RowKey lt @high"
        entities = await self.table.query(query, {"room": room_id, **_range(MARKER)})
        return {e["userId"]: e.get("lastRead") or "" for e in entities}

    async def marker(self, room_id: str, user_id: str) -> str | None:
        entity = await self.table.get(room_id, marker_key(user_id))
        return (entity.get("lastRead") or None) if entity is not None else None

    async def profile(self, user_id: str) -> str | None:
        """The display name ``user_id`` last connected with, or ``None`` for a user never seen."""
        entity = await self.table.get(user_partition(user_id), PROFILE)
        return (entity.get("name") or user_id) if entity is not None else None

    async def index(self, user_id: str) -> list[IndexEntry]:
        query = "PartitionKey eq @user and RowKey gt @low and RowKey lt @high"
        entities = await self.table.query(query, {"user": user_partition(user_id), **_range(INDEX)})
        entries = []
        for entity in entities:
            peer = None
            if entity.get("peerId"):
                peer = Peer(entity["peerId"], entity.get("peerName") or entity["peerId"])
            entries.append(IndexEntry(entity["room"], Kind(entity["kind"]), entity.get("name") or "", peer))
        return entries

    # -- writing ---------------------------------------------------------------------------------
    async def save_profile(self, user_id: str, name: str) -> None:
        await self.table.upsert(
            {"PartitionKey": user_partition(user_id), "RowKey": PROFILE, "userId": user_id, "name": name}
        )

    async def add_room(self, room: Room) -> bool:
        """Insert the room's row unless it exists: ``True`` if this call created it."""
        entity: dict[str, Any] = {
            "PartitionKey": room.id,
            "RowKey": INFO,
            "id": room.id,
            "name": room.name,
            "kind": room.kind.value,
            "createdBy": room.created_by,
        }
        if room.topic:
            entity["topic"] = room.topic
        if room.users:
            entity["users"] = json.dumps([list(peer) for peer in room.users], ensure_ascii=False)
        return await self.table.insert(entity)

    async def add_member(self, room: Room, member: Member, peer: Peer | None = None) -> bool:
        """Make ``member`` a member (room side first, then the user's index): ``True`` if new.

        An existing member keeps their role (a repeated invite changes nothing)."""
        inserted = await self.table.insert(
            {
                "PartitionKey": room.id,
                "RowKey": member_key(member.user_id),
                "userId": member.user_id,
                "name": member.name,
                "role": member.role.value,
                "added": member.added,
            }
        )
        index: dict[str, Any] = {
            "PartitionKey": user_partition(member.user_id),
            "RowKey": INDEX + room.id,
            "room": room.id,
            "kind": room.kind.value,
            "name": room.name,
        }
        if peer is not None:
            index.update(peerId=peer.user_id, peerName=peer.name)
        await self.table.upsert(index)
        return inserted

    async def remove_member(self, room_id: str, user_id: str) -> None:
        """Room side first (that ends access), then the index and the read marker."""
        await self.table.delete(room_id, member_key(user_id))
        await asyncio.gather(
            self.table.delete(user_partition(user_id), INDEX + room_id),
            self.table.delete(room_id, marker_key(user_id)),
        )

    async def set_role(self, room_id: str, user_id: str, role: Role) -> bool:
        """Change a member's role: ``False`` if they are (no longer) a member."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        entity = {"PartitionKey": room_id, "RowKey": member_key(user_id), "role": role.value}
        try:
            await self.table.client.update_entity(entity, mode=UpdateMode.MERGE)
        except ResourceNotFoundError:
            return False
        return True

    async def set_marker(self, room_id: str, user_id: str, last_read: str) -> None:
        entity = {
            "PartitionKey": room_id,
            "RowKey": marker_key(user_id),
            "userId": user_id,
            "lastRead": last_read,
        }
        await self.table.upsert(entity)

    # -- claims ----------------------------------------------------------------------------------
    async def claim_for_user(
        self, context: ConnectionContext, record: dict[str, Any] | None = None
    ) -> claims.Claim:
        """Claim a room-management event in the caller's own partition (``shared.claims``)."""
        return await claims.claim(self.table, user_partition(context.user_id or ""), context, record)

    async def claim_as_member(
        self, room_id: str, context: ConnectionContext, record: dict[str, Any]
    ) -> claims.Claim | None:
        """Claim an event in ``room_id``'s partition *and* check that the caller is still a
        member, in one round trip (an entity-group transaction: a merge that needs the member
        row to exist, and the claim's insert). ``None``: not a member (nothing written)."""
        from azure.data.tables import TableTransactionError, UpdateMode

        user_id = context.user_id or ""
        touch = (
            "update",
            {"PartitionKey": room_id, "RowKey": member_key(user_id)},
            {"mode": UpdateMode.MERGE},
        )
        if not context.event_id:
            operations: list[Any] = [touch]
        else:
            key = claims.claim_key(context.connection_id, context.event_id)
            operations = [touch, ("create", {"PartitionKey": room_id, "RowKey": key, **record})]
        try:
            await self.table.client.submit_transaction(operations)
        except TableTransactionError as failed:
            code = str(getattr(failed, "error_code", None) or "")  # set by the SDK, not typed
            if code == "EntityAlreadyExists" and len(operations) == 2:
                earlier = await self.table.get(room_id, operations[1][1]["RowKey"])
                if earlier is not None:
                    return claims.Claim(
                        False, {k: v for k, v in earlier.items() if k not in ("PartitionKey", "RowKey")}
                    )
                return claims.Claim(False, dict(record))
            if code == "ResourceNotFound":
                return None
            raise
        return claims.Claim(True, dict(record))
