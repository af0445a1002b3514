"""Chat history and presence in Azure Table Storage (``shared.tables``).

One table (``ChatHistoryTable``), one partition per room, four kinds of rows told apart by
the first letter of the RowKey:

=====================  =========================================================  ==========
RowKey                 what                                                        written by
=====================  =========================================================  ==========
``m<id>``              a chat message, ascending: "after id X" is one range read   ``save``
``r<reverse_key(id)>`` the same message, descending: "the page before X"           ``save``
``e<event hash>``      the claim of event (connection id, ce-id), with the message  ``claim``
``p<connection hash>`` who is connected under which display name (members)         ``connected``
=====================  =========================================================  ==========

Sending a message costs one storage round trip before the broadcast: ``claim`` inserts the
event's claim row (``shared.claims``), holding the whole message. A retried event finds it
there, so the caller knows it has seen the event and does not broadcast it again. The two
history rows are written by ``save`` after the broadcast (upserts: a retry may write them
again, e.g. when the first attempt failed between its claim and its save).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any, NamedTuple

from shared import claims
from shared.events import ConnectionContext
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

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "chat",
            "id": self.id,
            "from": self.user_id,
            "name": self.name,
            "room": self.room,
            "text": self.text,
            "time": self.time,
        }


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
    return {
        "id": message.id,
        "userId": message.user_id,
        "name": message.name,
        "text": message.text,
        "time": message.time,
    }


def _from_entity(room: str, entity: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        id=entity["id"],
        user_id=entity["userId"],
        name=entity.get("name") or entity["userId"],
        room=room,
        text=entity["text"],
        time=entity["time"],
    )


class HistoryStore:
    """History and presence rows of every room, in one ``Table``."""

    def __init__(self, table: Table) -> None:
        self.table = table

    # -- messages ------------------------------------------------------------------------------
    async def claim(self, message: StoredMessage, context: ConnectionContext) -> StoredMessage | None:
        """Claim the event of ``context`` as ``message`` (``shared.claims``): one insert.

        Returns ``None`` the first time. For an event seen before (the service retried it)
        nothing is inserted: the message stored then is returned, after its history rows
        have been written again (idempotent), in case the first attempt failed after its claim.
        """
        outcome = await claims.claim(self.table, message.room, context, _message_fields(message))
        if outcome.first:
            return None
        earlier = _from_entity(message.room, outcome.record)
        await self.save(earlier)
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
