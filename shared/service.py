"""One pooled async ``WebPubSubServiceClient`` per hub, created on first use.

Modes, chosen from the settings (Azure Functions conventions):

* key mode: ``WebPubSubConnectionString`` (``Endpoint=...;AccessKey=...``);
* keyless mode: ``WebPubSubConnectionString__serviceUri`` with ``DefaultAzureCredential``,
  or ``ManagedIdentityCredential`` when ``WebPubSubConnectionString__clientId`` names a
  user-assigned identity. ``azure.identity`` is imported only in this mode.

The SDK (and aiohttp under it) is imported on the first call, not at cold start. A
client's HTTP session belongs to the event loop that created it, so the cache is keyed
by hub and loop: the Functions worker has one loop, so in Azure this is one client per hub.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import closing
from .settings import CONNECTION_STRING, load_settings

if TYPE_CHECKING:
    from azure.messaging.webpubsubservice.aio import WebPubSubServiceClient

_clients: dict[tuple[str, int], tuple[asyncio.AbstractEventLoop, WebPubSubServiceClient]] = {}


class ServiceNotConfigured(RuntimeError):
    """Neither a connection string nor a service URI is configured."""


def create_service_client(hub: str, env: Mapping[str, str]) -> WebPubSubServiceClient:
    """A new client for ``hub`` built from ``env`` (prefer ``get_service_client``)."""
    from azure.messaging.webpubsubservice.aio import WebPubSubServiceClient

    settings = load_settings(env)
    if settings.connection is not None:
        return WebPubSubServiceClient.from_connection_string(env[CONNECTION_STRING], hub=hub)
    if settings.service_uri:
        credential: Any
        if settings.client_id:
            from azure.identity.aio import ManagedIdentityCredential

            credential = ManagedIdentityCredential(client_id=settings.client_id)
        else:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return WebPubSubServiceClient(endpoint=settings.service_uri, hub=hub, credential=credential)
    raise ServiceNotConfigured(
        "set WebPubSubConnectionString (key mode) or WebPubSubConnectionString__serviceUri (keyless)"
    )


def get_service_client(hub: str, env: Mapping[str, str] | None = None) -> WebPubSubServiceClient:
    """The cached client for ``hub`` on the running event loop."""
    loop = asyncio.get_running_loop()
    key = (hub.lower(), id(loop))
    cached = _clients.get(key)
    if cached is not None and cached[0] is loop:
        return cached[1]
    client = create_service_client(hub, os.environ if env is None else env)
    _clients[key] = (loop, client)
    return client


@closing.register
async def close_service_clients() -> None:
    """Close the clients created on the running loop (tests and dev-host shutdown)."""
    loop = asyncio.get_running_loop()
    for key, (owner, client) in list(_clients.items()):
        if owner is loop:
            del _clients[key]
            await client.close()
