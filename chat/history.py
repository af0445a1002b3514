"""Chat history and presence in Azure Table Storage, through the async ``azure-data-tables`` SDK.

One table (``ChatHistoryTable``), one partition per room, four kinds of rows told apart by
the first letter of the RowKey:

=====================  =========================================================  ==========
RowKey                 what                                                        written by
=====================  =========================================================  ==========
``m<id>``              a chat message, ascending: "after id X" is one range read   ``save``
``r<reverse_key(id)>`` the same message, descending: "the page before X"           ``save``
``e<event hash>``      "event (connection id, ce-id) is message <id>" (+ its text)  ``claim``
``p<connection hash>`` who is connected under which display name (members)         ``connected``
=====================  =========================================================  ==========

Sending a message costs one storage round trip before the broadcast: ``claim`` inserts the
event row (one entity, holding the whole message). A retried event (same ``ce-id`` from the
same connection: the service's retry) finds it there (``EntityAlreadyExists``), so the
caller knows it has seen the event and does not broadcast it again. The two history rows
are written by ``save`` after the broadcast (``upsert``: a retry may write them again, e.g.
when the first attempt failed between its claim and its save).

The SDK (and its aiohttp transport) is imported on first use, not at cold start. Clients
are cached per event loop like the Web PubSub client (``shared/service.py``). Locally the
table is created on first use; in Azure, Bicep creates it (the app's role is scoped to it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
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


class HistoryStore:
    """History and presence rows of every room, over one ``TableClient``."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._table_ready = False
        self._table_lock = asyncio.Lock()

    async def close(self) -> None:
        await self._table.close()

    async def _with_table(self, operation: Any) -> Any:
        """Run ``operation()``; if the table does not exist yet (a fresh Azurite), create it once."""
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        try:
            return await operation()
        except ResourceNotFoundError:
            # every operation passed here inserts, upserts or queries: "not found" is the table
            async with self._table_lock:  # concurrent first events create it once
                if not self._table_ready:
                    try:
                        await self._table.create_table()
                    except ResourceExistsError:
                        pass
                    self._table_ready = True
            return await operation()

    # -- messages ------------------------------------------------------------------------------
    async def claim(self, message: StoredMessage, event: str) -> StoredMessage | None:
        """Record that ``event`` (see ``event_key``) is ``message``: one single-entity insert.

        Returns ``None`` the first time. For an event seen before (the service retried it)
        nothing is inserted: the message stored then is returned, after its history rows
        have been written again (idempotent), in case the first attempt failed after its claim.
        """
        from azure.core.exceptions import ResourceExistsError

        entity = {"PartitionKey": message.room, "RowKey": event, **_message_fields(message)}
        try:
            await self._with_table(
                lambda: self._table.create_entity(entity, response_preference="return-no-content")
            )
        except ResourceExistsError:
            earlier = _from_entity(message.room, await self._table.get_entity(message.room, event))
            await self.save(earlier)
            return earlier
        return None

    async def save(self, message: StoredMessage) -> None:
        """Write the history rows of ``message``, both orders (upserts: repeatable).

        Two single-entity upserts side by side cost the emulator and the SDK less than one
        entity-group transaction (``python -m bench.table_ops``: the SDK builds a batch's
        multipart body in Python); a failure of either raises, and a retry writes both again.
        """
        from azure.data.tables import UpdateMode

        fields, room = _message_fields(message), message.room
        rows = (
            {"PartitionKey": room, "RowKey": MESSAGE + message.id, **fields},
            {"PartitionKey": room, "RowKey": REVERSED + reverse_key(message.id), **fields},
        )
        await asyncio.gather(
            *(
                self._with_table(lambda row=row: self._table.upsert_entity(row, mode=UpdateMode.REPLACE))
                for row in rows
            )
        )

    async def forget(self, message: StoredMessage, event: str | None) -> None:
        """Undo ``claim`` and ``save`` (the broadcast failed and the sender is told to try again)."""
        keys = [MESSAGE + message.id, REVERSED + reverse_key(message.id)]
        if event is not None:
            keys.append(event)
        for key in keys:  # each may be absent: delete_entity does not raise for that
            await self._table.delete_entity(message.room, key)

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


_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def _transport() -> Any:
    """The SDK's aiohttp transport, reading proxy settings from the environment only if any
    is set: by default it looks for them (and for ~/.netrc) in a worker thread on *every*
    request, two thread hops that add milliseconds to each message under load."""
    from azure.core.pipeline.transport import AioHttpTransport

    proxied = any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)
    return AioHttpTransport(use_env_settings=proxied)


def _create(settings: StorageSettings) -> HistoryStore:
    from azure.data.tables.aio import TableClient

    if settings.connection_string is not None:
        table = TableClient.from_connection_string(
            settings.connection_string, table_name=settings.table, transport=_transport()
        )
        return HistoryStore(table)
    credential: Any
    if settings.client_id:
        from azure.identity.aio import ManagedIdentityCredential

        credential = ManagedIdentityCredential(client_id=settings.client_id)
    else:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()
    assert settings.table_service_uri is not None
    table = TableClient(
        settings.table_service_uri, settings.table, credential=credential, transport=_transport()
    )
    return HistoryStore(table)


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
