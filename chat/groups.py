"""What the chat asks of Web PubSub (REST, through the pooled service client).

Only the server moves connections between groups (client tokens carry no roles):
``move`` takes a connection out of one room's group and into another's, ``evict`` takes
every connection of a user out of a room's group at once, ``close`` ends a connection (one
whose state still names a room its user was removed from). ``to_room`` broadcasts to a
room, ``to_user`` reaches every connection of one user (all their tabs and devices).
"""

from __future__ import annotations

import logging
from typing import Any

from shared import get_service_client
from shared.logsafe import log_safe

from .app import HUB

LOGGER = logging.getLogger(__name__)
JSON = "application/json"


async def to_room(room: str, message: dict[str, Any], excluded: list[str] | None = None) -> None:
    await get_service_client(HUB).send_to_group(room, message, content_type=JSON, excluded=excluded)


async def to_user(user_id: str, message: dict[str, Any]) -> None:
    await get_service_client(HUB).send_to_user(user_id, message, content_type=JSON)


async def move(connection_id: str, old: str, new: str) -> None:
    """Out of ``old``'s group, then into ``new``'s: never in two rooms at once.

    Raises:
        azure.core.exceptions.AzureError: a REST call failed; if the second did, the
        connection is put back into ``old`` (best effort) before the error propagates.
    """
    from azure.core.exceptions import AzureError

    client = get_service_client(HUB)
    if old != new:
        await client.remove_connection_from_group(old, connection_id)
    try:
        await client.add_connection_to_group(new, connection_id)
    except AzureError:
        if old != new:
            try:
                await client.add_connection_to_group(old, connection_id)
            except AzureError:
                LOGGER.warning("could not put connection=%s back into its room", log_safe(connection_id))
        raise


async def leave(connection_id: str, room: str) -> None:
    await get_service_client(HUB).remove_connection_from_group(room, connection_id)


async def evict(user_id: str, room: str) -> None:
    """Every connection of ``user_id`` leaves ``room``'s group (one REST call)."""
    await get_service_client(HUB).remove_user_from_group(room, user_id)


async def close(connection_id: str, reason: str) -> None:
    await get_service_client(HUB).close_connection(connection_id, reason=reason)


async def connections_in(room: str) -> list[Any]:
    """The connections in ``room``'s group (``connection_id``, ``user_id``)."""
    return [c async for c in get_service_client(HUB).list_connections(group=room)]
