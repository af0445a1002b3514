"""Where the emulator now matches the service docs, checked with the official Python SDKs.

``azure-messaging-webpubsubclient`` (reliable JSON protocol) and
``azure-messaging-webpubsubservice`` talk to a real emulator; the JS SDK runs the same
scenarios in ``test_node_peers.py``. Each test failed before the matching emulator change.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import aiohttp
import pytest
from azure.messaging.webpubsubclient.aio import WebPubSubClient
from azure.messaging.webpubsubclient.models import (
    CallbackType,
    OnGroupDataMessageArgs,
    OnServerDataMessageArgs,
    SendMessageError,
    WebPubSubDataType,
)
from azure.messaging.webpubsubservice._operations._operations import (
    build_web_pub_sub_service_get_client_access_token_request,
)
from azure.messaging.webpubsubservice.aio import WebPubSubServiceClient as AsyncServiceClient

from devhost.emulator import EventHandler, RunningEmulator, start_emulator

from .conftest import HUB, Upstream, client_url, make_config, service
from .test_clients import _raw_upgrade, receive_json

pytestmark = pytest.mark.e2e

JSON_PROTOCOL = "json.webpubsub.azure.v1"


async def eventually(check: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def sdk_client(url: str) -> WebPubSubClient:
    # no client-side retries: every refusal reaches the test as it is
    return WebPubSubClient(url, message_retry_total=0)


async def connection_id_of(client: WebPubSubClient) -> str:
    await eventually(lambda: bool(getattr(client, "_connection_id", None)))
    return str(client._connection_id)  # noqa: SLF001 - the SDK exposes it only via the connected callback


# -- issue 14.1: a server-side group send is a group message --------------------------------------


async def test_rest_group_send_fires_the_sdk_group_callback_not_the_server_one(
    bare_emulator: RunningEmulator,
) -> None:
    client = sdk_client(client_url(bare_emulator, user_id="ann", roles=["webpubsub.joinLeaveGroup"]))
    groups: list[OnGroupDataMessageArgs] = []
    servers: list[OnServerDataMessageArgs] = []

    async def on_group(args: OnGroupDataMessageArgs) -> None:
        groups.append(args)

    async def on_server(args: OnServerDataMessageArgs) -> None:
        servers.append(args)

    await client.subscribe(CallbackType.GROUP_MESSAGE, on_group)
    await client.subscribe(CallbackType.SERVER_MESSAGE, on_server)
    async with (
        client,
        AsyncServiceClient.from_connection_string(bare_emulator.connection_string, hub=HUB) as svc,
    ):
        await client.join_group("news")
        await svc.send_to_group("news", {"headline": "hi"}, content_type="application/json")
        await svc.send_to_user("ann", "direct", content_type="text/plain")
        await eventually(lambda: len(groups) == 1 and len(servers) == 1)
    assert (groups[0].group, groups[0].data, groups[0].from_user_id) == ("news", {"headline": "hi"}, None)
    assert servers[0].data == "direct"


# -- issue 14.3: a refused send does not use up its ackId -----------------------------------------


async def test_a_send_refused_as_forbidden_can_be_retried_with_the_same_ack_id(
    bare_emulator: RunningEmulator,
) -> None:
    emu = bare_emulator
    sender = sdk_client(client_url(emu, user_id="sender"))  # no sendToGroup role yet
    reader = sdk_client(client_url(emu, user_id="reader", roles=["webpubsub.joinLeaveGroup"]))
    received: list[str] = []

    async def on_group(args: OnGroupDataMessageArgs) -> None:
        received.append(args.data)

    await reader.subscribe(CallbackType.GROUP_MESSAGE, on_group)
    async with (
        sender,
        reader,
        AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as svc,
    ):
        await reader.join_group("room")
        with pytest.raises(SendMessageError) as refused:
            await sender.send_to_group("room", "hello", WebPubSubDataType.TEXT, ack_id=5)
        assert refused.value.error_detail is not None and refused.value.error_detail.name == "Forbidden"
        await svc.grant_permission("sendToGroup", await connection_id_of(sender), target_name="room")
        await sender.send_to_group("room", "hello", WebPubSubDataType.TEXT, ack_id=5)  # the retry
        await eventually(lambda: received == ["hello"])
        # a second success with the same ackId is the duplicate (and is not delivered again)
        await sender.send_to_group("room", "hello", WebPubSubDataType.TEXT, ack_id=5)
        await asyncio.sleep(0.2)
    assert received == ["hello"]


# -- issue 14.4: wildcard group role patterns --------------------------------------------------------


async def test_wildcard_roles_in_client_tokens(bare_emulator: RunningEmulator) -> None:
    roles = ["webpubsub.joinLeaveGroups.news.*", "webpubsub.sendToGroups.news.**"]
    client = sdk_client(client_url(bare_emulator, user_id="w", roles=roles))
    received: list[tuple[str, str]] = []

    async def on_group(args: OnGroupDataMessageArgs) -> None:
        received.append((args.group, args.data))

    await client.subscribe(CallbackType.GROUP_MESSAGE, on_group)
    async with client:
        await client.join_group("news.sport")  # '*' matches one segment
        for group in ("news.sport.live", "newsroom", "other"):
            with pytest.raises(SendMessageError) as refused:
                await client.join_group(group)
            assert refused.value.error_detail is not None and refused.value.error_detail.name == "Forbidden"
        await client.send_to_group("news.sport", "goal", WebPubSubDataType.TEXT)  # '**' crosses segments
        await client.send_to_group("news.sport.live", "nobody listens", WebPubSubDataType.TEXT)
        with pytest.raises(SendMessageError):
            await client.send_to_group("sport", "no", WebPubSubDataType.TEXT)
        await eventually(lambda: received == [("news.sport", "goal")])


async def test_wildcard_roles_in_the_connect_response(emulator: RunningEmulator, upstream: Upstream) -> None:
    upstream.recorder.connect_answer = (200, {"roles": ["webpubsub.joinLeaveGroups.room-?"]}, {})
    client = sdk_client(client_url(emulator, user_id="c"))
    async with client:
        await client.join_group("room-1")
        with pytest.raises(SendMessageError):
            await client.join_group("room-12")


async def test_invalid_patterns_grant_nothing(bare_emulator: RunningEmulator) -> None:
    roles = ["webpubsub.joinLeaveGroups.a*b*c*d*e*f*", "webpubsub.joinLeaveGroups.x\\y"]
    client = sdk_client(client_url(bare_emulator, user_id="i", roles=roles))
    async with client:
        for group in ("abcdef", "xy", "x\\y"):
            with pytest.raises(SendMessageError):
                await client.join_group(group)


async def test_rest_permissions_take_group_names_not_patterns(bare_emulator: RunningEmulator) -> None:
    client = sdk_client(client_url(bare_emulator, user_id="p"))
    async with (
        client,
        AsyncServiceClient.from_connection_string(bare_emulator.connection_string, hub=HUB) as svc,
    ):
        cid = await connection_id_of(client)
        await svc.grant_permission("joinLeaveGroup", cid, target_name="team.*")
        assert await svc.has_permission("joinLeaveGroup", cid, target_name="team.*")
        assert not await svc.has_permission("joinLeaveGroup", cid, target_name="team.a")
        await client.join_group("team.*")  # the group literally named so
        with pytest.raises(SendMessageError):
            await client.join_group("team.a")


# -- issue 14.5: smaller differences -----------------------------------------------------------------


async def test_a_connect_answered_5xx_fails_the_handshake_within_a_second(upstream: Upstream) -> None:
    """The connect event is retried after short delays only: the client does not wait ~9 s."""
    config = make_config(upstream_retry_delays=(1.0, 3.0, 5.0))  # the default delays
    config.handlers.set_hub(HUB, [EventHandler(upstream.base_url + "/api/{hub}/{event}")])
    upstream.recorder.connect_answer = (503, None, {})
    async with start_emulator(config) as emu:
        client = WebPubSubClient(client_url(emu, user_id="late"), reconnect_retry_total=0)
        started = time.monotonic()
        with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own handshake error
            await client.open()
        elapsed = time.monotonic() - started
        await client.close()
    # 0.2 + 0.5 s of retry delays; before, 1 + 3 + 5 s (the bound leaves room for a busy machine)
    assert elapsed < 5.0, f"the handshake waited {elapsed:.1f} s"
    assert len(upstream.recorder.of("connect")) == 1 + len(config.connect_retry_delays)


async def test_a_connect_failing_once_still_gets_through(upstream: Upstream) -> None:
    """A transient failure (a cold start) is retried, so the client connects."""
    config = make_config(connect_retry_delays=(0.2, 0.5))
    config.handlers.set_hub(HUB, [EventHandler(upstream.base_url + "/api/{hub}/{event}")])
    upstream.recorder.connect_failures = 1
    async with start_emulator(config) as emu:
        client = sdk_client(client_url(emu, user_id="cold"))
        async with client:
            await connection_id_of(client)
    assert len(upstream.recorder.of("connect")) == 2


async def test_add_user_to_group_without_connections_applies_when_the_user_connects(
    bare_emulator: RunningEmulator,
) -> None:
    """Documented choice: 200 (as the REST spec and the SDK expect), remembered for the user."""
    emu = bare_emulator
    received: list[str] = []

    async def on_group(args: OnGroupDataMessageArgs) -> None:
        received.append(args.data)

    async with AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as svc:
        await svc.add_user_to_group("room", "ghost")  # no exception: 200
        assert not await svc.user_exists("ghost")
        client = sdk_client(client_url(emu, user_id="ghost"))
        await client.subscribe(CallbackType.GROUP_MESSAGE, on_group)
        async with client:
            await connection_id_of(client)
            await svc.send_to_group("room", "welcome", content_type="text/plain")
            await eventually(lambda: received == ["welcome"])


async def test_malformed_frames_close_with_1007_and_binary_frames_with_1003(
    bare_emulator: RunningEmulator,
) -> None:
    """The SDKs never send malformed frames, so a raw socket does (the official emulator's codes)."""
    async with aiohttp.ClientSession() as session:
        for frame, code in (("{not json", 1007), ('{"type":"joinGroup"}', 1007), (b"\x00\x01", 1003)):
            ws = await session.ws_connect(client_url(bare_emulator), protocols=[JSON_PROTOCOL])
            await receive_json(ws)
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
            closing = await ws.receive(timeout=3)
            assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, code), frame


# -- issue 13.6: Origin and Host checks (DNS rebinding, cross-site pages) ----------------------------


async def test_upgrades_from_foreign_origins_or_hosts_are_refused(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    url = client_url(emu, user_id="alice")
    async with aiohttp.ClientSession() as session:
        for headers in (
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Origin": "http://localhost.evil.example:7071"},
            {"Host": f"evil.example:{emu.port}"},
        ):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url, headers=headers)
            assert refused.value.status == 403, headers
        # a page on the loopback dev host (the chat page) and SDKs without Origin are fine
        for headers in ({"Origin": "http://localhost:7071"}, {"Origin": "http://127.0.0.1:9"}, {}):
            ws = await session.ws_connect(url, headers=headers)
            await ws.close()
        # DNS rebinding against REST: a token for the rebound host name does not help
        rebound = service(emu).get_client_access_token(user_id="x")  # any signed call would do
        async with session.get(
            f"http://127.0.0.1:{emu.port}/api/health", headers={"Host": f"evil.example:{emu.port}"}
        ) as response:
            assert response.status == 403
        assert rebound["token"]


async def test_allow_host_widens_the_guard() -> None:
    async with start_emulator(make_config(allowed_hosts=("devbox.internal",))) as emu:
        url = client_url(emu, user_id="alice")
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(url, headers={"Origin": "https://devbox.internal:3000"})
            await ws.close()
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(url, headers={"Origin": "https://evil.example"})
    async with start_emulator(make_config(allowed_hosts=("*",))) as emu:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(client_url(emu), headers={"Origin": "https://anything.example"})
            await ws.close()


# -- issue 13.8: global caps and a newline in sub -----------------------------------------------------


async def test_connections_beyond_the_global_limit_are_refused_with_503() -> None:
    async with start_emulator(make_config(max_connections=2)) as emu:
        first, second = sdk_client(client_url(emu, user_id="a")), sdk_client(client_url(emu, user_id="b"))
        async with first, second, aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(client_url(emu, user_id="c"))
            assert refused.value.status == 503
            async with session.get(
                client_url(emu).replace("ws://", "http://"), headers=_upgrade_headers()
            ) as r:
                assert r.status == 503 and "limit of 2 connections" in await r.text()
        await asyncio.sleep(0.2)
        third = sdk_client(client_url(emu, user_id="c"))  # room again once others left
        async with third:
            await connection_id_of(third)


def _upgrade_headers() -> dict[str, str]:
    return {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }


async def test_total_outbound_backlog_is_capped_across_connections() -> None:
    """Each slow reader stays under its own 16 MiB cap, but together they pass 2 MiB."""
    config = make_config(total_outbound_max_bytes=2 * 1024 * 1024)
    async with start_emulator(config) as emu:
        slow_sockets: list[socket.socket] = []
        try:
            for i in range(4):
                path = client_url(emu, user_id=f"slow{i}").split(f":{emu.port}", 1)[1]
                slow_sockets.append(await asyncio.to_thread(_raw_upgrade, emu.port, path))
            fast = sdk_client(client_url(emu, user_id="fast"))
            got: list[int] = []

            async def on_server(args: OnServerDataMessageArgs) -> None:
                got.append(len(args.data))

            await fast.subscribe(CallbackType.SERVER_MESSAGE, on_server)
            async with fast, AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as svc:
                hub = emu.hubs.get(HUB)
                assert hub is not None
                chunk = "z" * 128 * 1024
                for _ in range(40):
                    await svc.send_to_all(chunk, content_type="text/plain")
                    await asyncio.sleep(0.01)
                await eventually(lambda: len(got) == 40, timeout=10)
                assert emu.clients.outbound_budget.total <= config.total_outbound_max_bytes + len(chunk) * 4
                remaining = {c.user_id for c in hub.connections.values()}
                assert "fast" in remaining  # the reader that keeps up is never the one dropped
                assert len(remaining - {"fast"}) < 4, "a slow reader should have been disconnected"
        finally:
            for sock in slow_sockets:
                sock.close()


async def test_a_newline_in_the_token_sub_is_refused_with_401(
    emulator: RunningEmulator, upstream: Upstream
) -> None:
    url = client_url(emulator, user_id="eve\nce-userId: admin")  # minted by the official SDK
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url, protocols=[JSON_PROTOCOL])
    assert refused.value.status == 401
    assert upstream.recorder.of("connect") == []


async def test_generate_token_refuses_a_user_id_with_control_characters(
    bare_emulator: RunningEmulator,
) -> None:
    """``:generateToken`` through the SDK's own request builder (key clients sign locally)."""
    async with AsyncServiceClient.from_connection_string(bare_emulator.connection_string, hub=HUB) as svc:
        refused = await svc.send_request(
            build_web_pub_sub_service_get_client_access_token_request(HUB, user_id="eve\r\nx")
        )
        minted = await svc.send_request(
            build_web_pub_sub_service_get_client_access_token_request(HUB, user_id="eve")
        )
    assert (refused.status_code, minted.status_code) == (400, 200)
