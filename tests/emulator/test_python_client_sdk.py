"""The official Python client SDK (azure-messaging-webpubsubclient, reliable protocol by default)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from azure.messaging.webpubsubclient.aio import WebPubSubClient
from azure.messaging.webpubsubclient.models import (
    CallbackType,
    OnGroupDataMessageArgs,
    OnServerDataMessageArgs,
    WebPubSubDataType,
)
from azure.messaging.webpubsubservice.aio import WebPubSubServiceClient as AsyncServiceClient

from devhost.emulator import RunningEmulator
from shared.headers import CE_SUBPROTOCOL

from .conftest import HUB, Upstream, client_url

pytestmark = pytest.mark.e2e

ROLES = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_sdk_clients_join_send_receive_and_event_round_trip(
    emulator: RunningEmulator, upstream: Upstream
) -> None:
    alice = WebPubSubClient(client_url(emulator, user_id="alice", roles=ROLES))
    bob = WebPubSubClient(client_url(emulator, user_id="bob", roles=ROLES))
    group_messages: list[OnGroupDataMessageArgs] = []
    server_messages: list[OnServerDataMessageArgs] = []

    async def on_group(args: OnGroupDataMessageArgs) -> None:
        group_messages.append(args)

    async def on_server(args: OnServerDataMessageArgs) -> None:
        server_messages.append(args)

    await bob.subscribe(CallbackType.GROUP_MESSAGE, on_group)
    await alice.subscribe(CallbackType.SERVER_MESSAGE, on_server)
    async with alice, bob:
        await bob.join_group("room")
        await alice.join_group("room")
        await alice.send_to_group("room", "hello bob", WebPubSubDataType.TEXT)
        await eventually(lambda: len(group_messages) == 1)
        got = group_messages[0]
        assert (got.group, got.data, got.from_user_id) == ("room", "hello bob", "alice")
        assert got.sequence_id == 1  # the reliable protocol numbers messages

        await alice.send_event("echo", {"question": 42}, WebPubSubDataType.JSON)
        await eventually(lambda: len(server_messages) == 1)
        assert server_messages[0].data == {"question": 42}

    echo = upstream.recorder.of("echo")
    assert len(echo) == 1 and echo[0].json() == {"question": 42}
    assert echo[0].headers[CE_SUBPROTOCOL.lower()] == "json.reliable.webpubsub.azure.v1"
    assert upstream.recorder.bad_signatures == 0  # every POST passed SignatureVerifier


async def test_sdk_client_recovers_after_a_dropped_socket_without_losing_messages(
    emulator: RunningEmulator, upstream: Upstream
) -> None:
    client = WebPubSubClient(client_url(emulator, user_id="carol", roles=ROLES))
    received: list[str] = []
    connected: list[str] = []

    async def on_group(args: OnGroupDataMessageArgs) -> None:
        assert args.group == "news" and args.from_user_id is None
        received.append(args.data)  # REST sends to a group arrive as group messages

    async def on_connected(args: object) -> None:
        connected.append(getattr(args, "connection_id", ""))

    await client.subscribe(CallbackType.GROUP_MESSAGE, on_group)
    await client.subscribe(CallbackType.CONNECTED, on_connected)
    async with client, AsyncServiceClient.from_connection_string(emulator.connection_string, hub=HUB) as svc:
        await client.join_group("news")
        await eventually(lambda: len(connected) == 1)
        connection_id = connected[0]
        await svc.send_to_group("news", "before", content_type="text/plain")
        await eventually(lambda: received == ["before"])

        assert emulator.clients.drop_transport(connection_id)
        for i in range(5):  # sent while the client has no socket
            await svc.send_to_group("news", f"during-{i}", content_type="text/plain")
        await eventually(lambda: len(received) == 6, timeout=10)
        await svc.send_to_group("news", "after", content_type="text/plain")
        await eventually(lambda: len(received) == 7)
        assert received == ["before", *(f"during-{i}" for i in range(5)), "after"]
        assert await svc.connection_exists(connection_id)  # the same connection survived
    assert len(connected) == 1
    disconnected = await upstream.recorder.wait_for("disconnected")
    assert len(disconnected) == 1 and disconnected[0].headers["ce-connectionid"] == connection_id
