"""Chat history and presence in Azure Table Storage (``shared.tables``).

One table (``ChatHistoryTable``), one partition per room (shared with the room's own rows,
``store.py``), rows told apart by the first letter of the RowKey:

=====================  =========================================================  ==========
RowKey                 what                                                        written by
=====================  =========================================================  ==========
``m<id>``              a chat message, ascending: "after id X" is one range read   ``save``
``r<reverse_key(id)>`` the same message, descending: "the page before X"           ``save``
``e<event hash>``      the claim of event (connection id, ce-id): ``{id, time}``    ``claim``
``p<connection hash>`` who is connected under which display name (members)         ``connected``
``x<id>``              the message's reactions (``reactions.py``)                  ``react``
=====================  =========================================================  ==========

A message row is ``{id, userId, name, text, time, editedAt?}``; a deleted one is only
``{id, deleted: true}`` (text, name and author gone). Claims hold no text, so deleting a
message leaves no copy of it behind.

Sending a message costs one storage round trip before the broadcast: ``claim`` inserts the
event's claim row (``shared.claims``) with the id and time given to the message. A
retried event finds it there, so the caller knows it has seen the event and does not
broadcast it again. The two history rows are written by ``save`` after the broadcast
(upserts: a retry may write them again, e.g. when the first attempt failed between its
claim and its save).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any, NamedTuple

from shared import claims
from shared.events import ConnectionContext
from shared.identity import is_guest
from shared.tables import Table, get_table

from .config import STORAGE_SETTING, history_table
from .ids import is_message_id, reverse_key

LOGGER = logging.getLogger(__name__)

MESSAGE, REVERSED, PRESENCE = "m", "r", "p"  # and claims.CLAIM_PREFIX ("e") for claim rows
_warned = False


class StoredMessage(NamedTuple):
    id: str
    user_id: str
    name: str
    room: str
    text: str
    time: str
    edited_at: str | None = None
    deleted: bool = False
    reactions: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        if self.deleted:
            return {"kind": "chat", "id": self.id, "room": self.room, "deleted": True}
        out = {
            "kind": "chat",
            "id": self.id,
            "from": self.user_id,
            "name": self.name,
            "guest": is_guest(self.user_id),
            "room": self.room,
            "text": self.text,
            "time": self.time,
        }
        if self.edited_at:
            out["editedAt"] = self.edited_at
        if self.reactions:
            out["reactions"] = self.reactions
        return out


class Member(NamedTuple):
    connection_id: str
    user_id: str
    name: str


class Page(NamedTuple):
    messages: list[StoredMessage]  # oldest first
    more: bool  # more messages exist in the requested direction


def _hash(*parts: str) -> str:
    joined = "\n".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:40]


def presence_key(connection_id: str) -> str:
    return PRESENCE + _hash(connection_id)


def _message_fields(message: StoredMessage) -> dict[str, Any]:
    fields = {
        "id": message.id,
        "userId": message.user_id,
        "name": message.name,
        "text": message.text,
        "time": message.time,
    }
    if message.edited_at:
        fields["editedAt"] = message.edited_at
    return fields


def _from_entity(room: str, entity: dict[str, Any]) -> StoredMessage:
    if entity.get("deleted"):
        return StoredMessage(id=entity["id"], user_id="", name="", room=room, text="", time="", deleted=True)
    return StoredMessage(
        id=entity["id"],
        user_id=entity["userId"],
        name=entity.get("name") or entity["userId"],
        room=room,
        text=entity["text"],
        time=entity["time"],
        edited_at=entity.get("editedAt") or None,
    )


class HistoryStore:
    """History and presence rows of every room, in one ``Table``."""

    def __init__(self, table: Table) -> None:
        self.table = table

    # -- messages ------------------------------------------------------------------------------
    async def claim(self, message: StoredMessage, context: ConnectionContext) -> StoredMessage | None:
        """Claim the event of ``context`` for ``message`` (``shared.claims``): one round trip.

        Returns ``None`` the first time. For an event seen before (the service retried it)
        nothing is inserted: the message as the first attempt stored it (its id and time,
        the retried event's text) is returned, after its history rows have been written
        again (idempotent), in case the first attempt failed after its claim.
        """
        record = {"id": message.id, "time": message.time}
        outcome = await claims.claim(self.table, message.room, context, record)
        if outcome.first:
            return None
        earlier_id, earlier_time = outcome.record.get("id"), outcome.record.get("time")
        if not (is_message_id(earlier_id) and isinstance(earlier_time, str)):
            return message  # a claim of an older format: nothing to repair from
        earlier = message._replace(id=earlier_id, time=earlier_time)
        current = await self.table.get(message.room, MESSAGE + earlier.id)
        if current is None:  # never saved (or the save failed): write it now
            await self.save(earlier)
        else:  # saved, maybe edited or deleted since: keep that, make the other row match
            fields = {k: v for k, v in current.items() if k not in ("PartitionKey", "RowKey")}
            row = {"PartitionKey": message.room, "RowKey": REVERSED + reverse_key(earlier.id), **fields}
            await self.table.upsert(row)
        return earlier

    async def save(self, message: StoredMessage) -> None:
        """Write the history rows of ``message``, both orders (upserts: repeatable).

        Two single-entity upserts side by side cost the emulator and the SDK less than one
        entity-group transaction (``python -m bench.table_ops``: the SDK builds a batch's
        multipart body in Python); a failure of either raises, and a retry writes both again.
        """
        fields, room = _message_fields(message), message.room
        rows = (
            {"PartitionKey": room, "RowKey": MESSAGE + message.id, **fields},
            {"PartitionKey": room, "RowKey": REVERSED + reverse_key(message.id), **fields},
        )
        await asyncio.gather(*(self.table.upsert(row) for row in rows))

    async def forget(self, message: StoredMessage, context: ConnectionContext) -> None:
        """Undo ``claim`` and ``save`` (the broadcast failed and the sender is told to try again)."""
        for key in (MESSAGE + message.id, REVERSED + reverse_key(message.id)):
            await self.table.delete(message.room, key)
        await claims.release(self.table, message.room, context)

    async def message(self, room: str, message_id: str) -> StoredMessage | None:
        entity = await self.table.get(room, MESSAGE + message_id)
        return _from_entity(room, entity) if entity is not None else None

    async def edit(self, message: StoredMessage, text: str, edited_at: str) -> StoredMessage:
        """Replace the text of ``message`` in both rows (the descending one first: the ascending
        one is what ``message`` reads, so a half-done edit is redone by a retry)."""
        edited = message._replace(text=text, edited_at=edited_at)
        fields = _message_fields(edited)
        await self.table.upsert(
            {"PartitionKey": message.room, "RowKey": REVERSED + reverse_key(message.id), **fields}
        )
        await self.table.upsert({"PartitionKey": message.room, "RowKey": MESSAGE + message.id, **fields})
        return edited

    async def tombstone(self, room: str, message_id: str) -> None:
        """Delete a message: both rows become ``{id, deleted}`` (no text, name or author left) and
        its reactions go; the ascending row last, as in ``edit``."""
        from .reactions import REACTIONS

        stone = {"id": message_id, "deleted": True}
        await self.table.upsert({"PartitionKey": room, "RowKey": REVERSED + reverse_key(message_id), **stone})
        await self.table.delete(room, REACTIONS + message_id)
        await self.table.upsert({"PartitionKey": room, "RowKey": MESSAGE + message_id, **stone})

    async def page(self, room: str, *, before: str | None, after: str | None, limit: int) -> Page:
        """Up to ``limit`` messages strictly between ``after`` and ``before`` (ids; None: open).

        With ``after``: the oldest ones after it (filling a gap, in order). Without: the
        newest ones before ``before`` (or the latest). One key-range read either way.
        """
        if after is not None:
            low, high, newest_first = MESSAGE + after, MESSAGE + before if before else "n", False
        else:
            low = REVERSED + reverse_key(before) if before else REVERSED
            high, newest_first = "s", True
        query = "PartitionKey eq @room and RowKey gt @low and RowKey lt @high"
        parameters = {"room": room, "low": low, "high": high}
        entities = await self.table.query(query, parameters, limit=limit + 1)
        messages = [_from_entity(room, entity) for entity in entities[:limit]]
        if newest_first:
            messages.reverse()
        if messages:
            from . import reactions

            found = await reactions.tallies(self.table, room, messages[0].id, messages[-1].id)
            messages = [
                m._replace(reactions=found[m.id].to_json()) if m.id in found and not m.deleted else m
                for m in messages
            ]
        return Page(messages, more=len(entities) > limit)

    # -- presence --------------------------------------------------------------------------------
    async def add_member(self, room: str, member: Member) -> None:
        entity = {
            "PartitionKey": room,
            "RowKey": presence_key(member.connection_id),
            "connectionId": member.connection_id,
            "userId": member.user_id,
            "name": member.name,
        }
        await self.table.upsert(entity)

    async def remove_member(self, room: str, connection_id: str) -> None:
        await self.table.delete(room, presence_key(connection_id))

    async def members(self, room: str) -> dict[str, Member]:
        """Presence rows of ``room`` by connection id."""
        query = "PartitionKey eq @room and RowKey gt @low and RowKey lt @high"
        entities = await self.table.query(query, {"room": room, "low": PRESENCE, "high": "q"})
        rows = (Member(e["connectionId"], e["userId"], e.get("name") or "") for e in entities)
        return {member.connection_id: member for member in rows}


def get_store() -> HistoryStore | None:
    """The store for the current settings on the running loop, or ``None`` when none is set."""
    global _warned
    table = get_table(STORAGE_SETTING, history_table())
    if table is None:
        if not _warned:
            _warned = True
            LOGGER.warning("ChatStorage is not set: no chat history, and retried events cannot be recognised")
        return None
    return HistoryStore(table)


def valid_cursor(value: object) -> bool:
    return value is None or is_message_id(value)
