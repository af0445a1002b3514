"""Chat history and presence in Azure Table Storage, through the async ``azure-data-tables`` SDK.

One table (``ChatHistoryTable``), one partition per room, four kinds of rows told apart by
the first letter of the RowKey:

=====================  =========================================================  ==========
RowKey                 what                                                        written by
=====================  =========================================================  ==========
``m<id>``              a chat message, ascending: "after id X" is one range read   ``store``
``r<reverse_key(id)>`` the same message, descending: "the page before X"           ``store``
``e<event hash>``      "event (connection id, ce-id) stored message <id>"          ``store``
``p<connection hash>`` who is connected under which display name (members)         ``connected``
=====================  =========================================================  ==========

``store`` writes the three message rows in **one** entity-group transaction, so a message
is either fully stored or not at all, and the event row makes a retried event (same
``ce-id`` from the same connection: the service's retry) fail as a whole with
``EntityAlreadyExists``: the caller then knows it has seen the event and does not
broadcast it again.

The SDK (and its aiohttp transport) is imported on first use, not at cold start. Clients
are cached per event loop like the Web PubSub client (``shared/service.py``). Locally the
table is created on first use; in Azure, Bicep creates it (the app's role is scoped to it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from .config import StorageSettings, storage_settings
from .ids import is_message_id, reverse_key

if TYPE_CHECKING:
    from azure.data.tables.aio import TableClient

LOGGER = logging.getLogger(__name__)

MESSAGE, REVERSED, EVENT, PRESENCE = "m", "r", "e", "p"
_clients: dict[tuple[StorageSettings, int], tuple[asyncio.AbstractEventLoop, HistoryStore]] = {}
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


def event_key(connection_id: str, event_id: str) -> str:
    return EVENT + _hash(connection_id, event_id)


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


def _from_entity(room: str, entity: Any) -> StoredMessage:
    return StoredMessage(
        id=entity["id"],
        user_id=entity["userId"],
        name=entity.get("name") or entity["userId"],
        room=room,
        text=entity["text"],
        time=entity["time"],
    )


def _error_code(error: Exception) -> str:
    return str(getattr(error, "error_code", "") or "")


class HistoryStore:
    """History and presence rows of every room, over one ``TableClient``."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._checked_table = False

    async def close(self) -> None:
        await self._table.close()

    async def _with_table(self, operation: Any) -> Any:
        """Run ``operation()``; if the table does not exist yet (a fresh Azurite), create it once."""
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
        from azure.data.tables import TableTransactionError

        try:
            return await operation()
        except (ResourceNotFoundError, TableTransactionError) as missing:
            if self._checked_table or _error_code(missing) != "TableNotFound":
                raise
            self._checked_table = True
            try:
                await self._table.create_table()
            except ResourceExistsError:
                pass
            return await operation()

    # -- messages ------------------------------------------------------------------------------
    async def store(self, message: StoredMessage, event: str | None) -> StoredMessage | None:
        """Store ``message``; return ``None`` if stored now, or the message stored earlier for
        the same ``event`` (see ``event_key``: the event was delivered twice)."""
        from azure.data.tables import TableTransactionError

        fields, room = _message_fields(message), message.room
        operations: list[Any] = [
            ("create", {"PartitionKey": room, "RowKey": MESSAGE + message.id, **fields}),
            ("create", {"PartitionKey": room, "RowKey": REVERSED + reverse_key(message.id), **fields}),
        ]
        if event is not None:
            operations.append(("create", {"PartitionKey": room, "RowKey": event, "messageId": message.id}))
        try:
            await self._with_table(lambda: self._table.submit_transaction(operations))
        except TableTransactionError as failed:
            if event is None or _error_code(failed) != "EntityAlreadyExists":
                raise
            return await self._earlier(message.room, event)
        return None

    async def _earlier(self, room: str, event: str) -> StoredMessage:
        marker = await self._table.get_entity(room, event)
        entity = await self._table.get_entity(room, MESSAGE + marker["messageId"])
        return _from_entity(room, entity)

    async def forget(self, message: StoredMessage, event: str | None) -> None:
        """Undo ``store`` (the broadcast failed and the sender is told to try again)."""
        keys = [MESSAGE + message.id, REVERSED + reverse_key(message.id)]
        if event is not None:
            keys.append(event)
        await self._table.submit_transaction(
            [("delete", {"PartitionKey": message.room, "RowKey": key}) for key in keys]
        )

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

        async def read() -> list[Any]:
            found: list[Any] = []
            pages = self._table.query_entities(query, parameters=parameters, results_per_page=limit + 1)
            async for entity in pages:
                found.append(entity)
                if len(found) > limit:
                    break
            return found

        entities = await self._with_table(read)
        messages = [_from_entity(room, entity) for entity in entities[:limit]]
        if newest_first:
            messages.reverse()
        return Page(messages, more=len(entities) > limit)

    # -- presence --------------------------------------------------------------------------------
    async def add_member(self, room: str, member: Member) -> None:
        from azure.data.tables import UpdateMode

        entity = {
            "PartitionKey": room,
            "RowKey": presence_key(member.connection_id),
            "connectionId": member.connection_id,
            "userId": member.user_id,
            "name": member.name,
        }
        await self._with_table(lambda: self._table.upsert_entity(entity, mode=UpdateMode.REPLACE))

    async def remove_member(self, room: str, connection_id: str) -> None:
        await self._table.delete_entity(room, presence_key(connection_id))  # absent: no error

    async def members(self, room: str) -> dict[str, Member]:
        """Presence rows of ``room`` by connection id."""
        query = "PartitionKey eq @room and RowKey gt @low and RowKey lt @high"
        parameters = {"room": room, "low": PRESENCE, "high": "q"}

        async def read() -> dict[str, Member]:
            rows: dict[str, Member] = {}
            async for entity in self._table.query_entities(query, parameters=parameters):
                member = Member(entity["connectionId"], entity["userId"], entity.get("name") or "")
                rows[member.connection_id] = member
            return rows

        result: dict[str, Member] = await self._with_table(read)
        return result


def _create(settings: StorageSettings) -> HistoryStore:
    from azure.data.tables.aio import TableClient

    if settings.connection_string is not None:
        table = TableClient.from_connection_string(settings.connection_string, table_name=settings.table)
        return HistoryStore(table)
    credential: Any
    if settings.client_id:
        from azure.identity.aio import ManagedIdentityCredential

        credential = ManagedIdentityCredential(client_id=settings.client_id)
    else:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()
    assert settings.table_service_uri is not None
    return HistoryStore(TableClient(settings.table_service_uri, settings.table, credential=credential))


def get_store() -> HistoryStore | None:
    """The store for the current settings on the running loop, or ``None`` when none is set."""
    global _warned
    settings = storage_settings()
    if settings is None:
        if not _warned:
            _warned = True
            LOGGER.warning("ChatStorage is not set: no chat history, and retried events cannot be recognised")
        return None
    loop = asyncio.get_running_loop()
    key = (settings, id(loop))
    cached = _clients.get(key)
    if cached is not None and cached[0] is loop:
        return cached[1]
    store = _create(settings)
    _clients[key] = (loop, store)
    return store


async def close_stores() -> None:
    """Close the stores created on the running loop (tests and dev-host shutdown)."""
    loop = asyncio.get_running_loop()
    for key, (owner, store) in list(_clients.items()):
        if owner is loop:
            del _clients[key]
            await store.close()


def valid_cursor(value: object) -> bool:
    return value is None or is_message_id(value)
