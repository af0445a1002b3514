"""Azure Table Storage for handlers: one pooled async ``TableClient`` per table and event loop.

Where a table lives is read from app settings that share a name prefix, the Azure Functions
convention for connections (``<prefix>`` below is your choice, e.g. ``PollStorage``):

=================================  ===================================================================
``<prefix>``                       key mode: a storage connection string (``UseDevelopmentStorage=true``
                                   is Azurite on its default port; ``python -m devhost`` sets its own)
``<prefix>__tableServiceUri``      identity mode (Azure): ``https://<account>.table.core.windows.net``
``<prefix>__clientId``             identity mode: client id of a user-assigned managed identity
                                   (without it: ``DefaultAzureCredential``)
=================================  ===================================================================

``get_table(prefix, name)`` returns ``None`` when neither is set, so an app can run without
storage and say so. The table is created on first use when it does not exist (a fresh
Azurite); in Azure, Bicep creates it and the app's role is scoped to it.

The SDK (and its aiohttp transport) is imported on first use, not at cold start. A client's
HTTP session belongs to the event loop that created it, so clients are cached per settings
and loop (the Functions worker has one loop: one client per table), and closed by
``shared.closing.close_all()``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from . import closing

if TYPE_CHECKING:
    from azure.data.tables.aio import TableClient

T = TypeVar("T")

URI_SUFFIX = "__tableServiceUri"
CLIENT_ID_SUFFIX = "__clientId"
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


class TableSettings(NamedTuple):
    """Where one table lives. Exactly one of ``connection_string`` and ``table_service_uri`` is set."""

    connection_string: str | None
    table_service_uri: str | None
    client_id: str | None
    table: str

    def __repr__(self) -> str:  # a connection string may hold an account key
        return f"TableSettings(table={self.table!r}, identity={self.table_service_uri is not None})"


def table_settings(prefix: str, table: str, env: Mapping[str, str] | None = None) -> TableSettings | None:
    """The settings of ``table`` under ``prefix`` (see the module docstring), or ``None`` if unset."""
    env = os.environ if env is None else env
    connection_string = env.get(prefix, "").strip() or None
    uri = env.get(prefix + URI_SUFFIX, "").strip() or None
    if connection_string is None and uri is None:
        return None
    return TableSettings(
        connection_string=connection_string if uri is None else None,
        table_service_uri=uri,
        client_id=env.get(prefix + CLIENT_ID_SUFFIX, "").strip() or None,
        table=table,
    )


class Table:
    """One table, through an async ``TableClient``; creates the table on first use if missing.

    The helpers cover what handlers need most; ``client`` is the SDK's own client for the rest
    (every call through it that may meet a missing table should go through ``run``).
    SDK errors (``azure.core.exceptions.AzureError``) propagate, except as documented.
    """

    def __init__(self, client: TableClient) -> None:
        self.client = client
        self._created = False
        self._create_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.client.close()

    async def run(self, operation: Callable[[], Awaitable[T]]) -> T:
        """``await operation()``; if the table does not exist yet, create it once and try again.

        Only for operations whose "not found" can only mean the table (inserts, upserts,
        queries); a point read's "not found" is the entity's, see ``get``.
        """
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        try:
            return await operation()
        except ResourceNotFoundError:
            async with self._create_lock:  # concurrent first requests create it once
                if not self._created:
                    try:
                        await self.client.create_table()
                    except ResourceExistsError:
                        pass
                    self._created = True
            return await operation()

    async def insert(self, entity: Mapping[str, Any]) -> bool:
        """Insert ``entity`` unless its keys exist: ``True`` if inserted, ``False`` if already there."""
        from azure.core.exceptions import ResourceExistsError

        try:
            await self.run(lambda: self.client.create_entity(entity, response_preference="return-no-content"))
        except ResourceExistsError:
            return False
        return True

    async def upsert(self, entity: Mapping[str, Any]) -> None:
        """Write ``entity`` whole, replacing any entity with its keys (repeatable)."""
        from azure.data.tables import UpdateMode

        await self.run(lambda: self.client.upsert_entity(entity, mode=UpdateMode.REPLACE))

    async def get(self, partition: str, row: str) -> dict[str, Any] | None:
        """The entity with these keys, or ``None`` if there is none (or no table yet)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = await self.client.get_entity(partition, row)
        except ResourceNotFoundError:
            return None
        return dict(entity)

    async def delete(self, partition: str, row: str) -> None:
        """Delete the entity with these keys; nothing happens if there is none."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            await self.client.delete_entity(partition, row)
        except ResourceNotFoundError:  # no table yet: nothing to delete either
            pass

    async def query(
        self,
        filter: str,  # noqa: A002 - the SDK's name for it
        parameters: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        select: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Entities matching the OData ``filter`` (``@name`` placeholders filled from
        ``parameters``), in key order, at most ``limit`` of them (``None``: all)."""

        async def read() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            pages = self.client.query_entities(
                filter, parameters=dict(parameters or {}), results_per_page=limit, select=select
            )
            async for entity in pages:
                found.append(dict(entity))
                if limit is not None and len(found) >= limit:
                    break
            return found

        return await self.run(read)


_tables: dict[tuple[TableSettings, int], tuple[asyncio.AbstractEventLoop, Table]] = {}


def _transport() -> Any:
    """The SDK's aiohttp transport, reading proxy settings from the environment only if any
    is set: by default it looks for them (and for ~/.netrc) in a worker thread on *every*
    request, two thread hops that add milliseconds to each call under load."""
    from azure.core.pipeline.transport import AioHttpTransport

    proxied = any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)
    return AioHttpTransport(use_env_settings=proxied)


def create_table_client(settings: TableSettings) -> TableClient:
    """A new SDK client for ``settings`` (prefer ``get_table``, which pools them)."""
    from azure.data.tables.aio import TableClient

    if settings.connection_string is not None:
        return TableClient.from_connection_string(
            settings.connection_string, table_name=settings.table, transport=_transport()
        )
    credential: Any
    if settings.client_id:
        from azure.identity.aio import ManagedIdentityCredential

        credential = ManagedIdentityCredential(client_id=settings.client_id)
    else:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()
    assert settings.table_service_uri is not None
    return TableClient(
        settings.table_service_uri, settings.table, credential=credential, transport=_transport()
    )


def get_table(prefix: str, table: str, env: Mapping[str, str] | None = None) -> Table | None:
    """The pooled ``Table`` for ``table`` under the settings ``prefix`` on the running loop,
    or ``None`` when no storage is configured under that prefix."""
    settings = table_settings(prefix, table, env)
    if settings is None:
        return None
    loop = asyncio.get_running_loop()
    key = (settings, id(loop))
    cached = _tables.get(key)
    if cached is not None and cached[0] is loop:
        return cached[1]
    pooled = Table(create_table_client(settings))
    _tables[key] = (loop, pooled)
    return pooled


@closing.register
async def close_tables() -> None:
    """Close the tables opened on the running loop (tests and dev-host shutdown)."""
    loop = asyncio.get_running_loop()
    for key, (owner, pooled) in list(_tables.items()):
        if owner is loop:
            del _tables[key]
            await pooled.close()
