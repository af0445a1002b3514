"""Unread counts: how many messages of a room came after a user's read marker.

Nothing is counted up front: a count is read when needed, from the room's descending
message rows (``history.py``) newer than the marker, skipping the user's own messages and
deleted ones, capped at ``UNREAD_CAP`` (a client shows "99+"). One range read serves every
user of a room at once, since all their markers point into the same rows.

* A member's marker is their read marker (``read``), else the moment they were added.
* Public rooms count only once the user has a marker (``read``); before that, 0.
* After a message in a private room or DM, every member with no connection viewing the room
  gets ``{"kind":"unread","room","unread":n}`` on all their connections (send-to-user).
"""

from __future__ import annotations

import asyncio
from typing import Any

from shared.tables import Table

from . import groups
from .history import REVERSED
from .ids import is_message_id, reverse_key
from .store import Member, RoomStore

UNREAD_CAP = 100
_SCAN = 300  # rows read newest first; own messages beyond that many are not looked past


def marker_at(now_ms: int) -> str:
    """A marker for "now": every message id of a later millisecond sorts after it."""
    return f"{now_ms:013d}ffffffff"


def notice(room: str, unread: int) -> dict[str, Any]:
    return {"kind": "unread", "room": room, "unread": unread}


async def counts(
    table: Table, room: str, markers: dict[str, str], extra: tuple[str, str] | None = None
) -> dict[str, int]:
    """Unread counts of ``room`` for each ``{user id: marker}``.

    ``extra``: a message ``(id, sender)`` that may not be readable yet (just broadcast, its
    rows being written meanwhile): counted for everyone but its sender.
    """
    valid = {user: marker for user, marker in markers.items() if is_message_id(marker)}
    found = {user: 0 for user in markers}
    if not valid:
        return found
    oldest = min(valid.values())
    query = "PartitionKey eq @room and RowKey gt @low and RowKey lt @high"
    parameters = {"room": room, "low": REVERSED, "high": REVERSED + reverse_key(oldest)}
    rows = await table.query(query, parameters, limit=_SCAN, select=["id", "userId", "deleted"])
    seen = [(row.get("id") or "", row.get("userId") or "") for row in rows if not row.get("deleted")]
    if extra is not None and extra[0] not in {message_id for message_id, _ in seen}:
        seen.append(extra)
    for user, marker in valid.items():
        mine = sum(1 for message_id, sender in seen if message_id > marker and sender != user)
        found[user] = min(mine, UNREAD_CAP)
    return found


def member_marker(member: Member, markers: dict[str, str]) -> str:
    return max(markers.get(member.user_id) or "", member.added)


async def notify_members(store: RoomStore, room: str, sender: str, message_id: str) -> None:
    """After a message in a private room or DM: unread notices to members not viewing it."""
    members, markers, connections = await asyncio.gather(
        store.members(room), store.markers(room), groups.connections_in(room)
    )
    viewing = {connection.user_id for connection in connections}
    away = {
        m.user_id: member_marker(m, markers)
        for m in members
        if m.user_id != sender and m.user_id not in viewing
    }
    if not away:
        return
    found = await counts(store.table, room, away, extra=(message_id, sender))
    await asyncio.gather(*(groups.to_user(user, notice(room, n)) for user, n in found.items()))
