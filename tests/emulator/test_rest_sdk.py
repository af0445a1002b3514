"""The unchanged server SDK (sync and async) against the emulator, observed by real WebSockets."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.messaging.webpubsubservice.aio import WebPubSubServiceClient as AsyncServiceClient

from devhost.emulator import RunningEmulator
from devhost.emulator.tokens import validate_client_token

from .conftest import HUB, PRIMARY, client_url, service

pytestmark = pytest.mark.e2e

JSON_PROTOCOL = "json.webpubsub.azure.v1"


class Peer:
    """A JSON-subprotocol WebSocket client that remembers what it received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, connection_id: str) -> None:
        self.ws = ws
        self.connection_id = connection_id

    async def next(self, timeout: float = 3.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data)

    async def nothing(self, timeout: float = 0.3) -> None:
        with pytest.raises(TimeoutError):
            await self.ws.receive(timeout=timeout)


@asynccontextmanager
async def connect(emu: RunningEmulator, **token: Any) -> AsyncIterator[Peer]:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(client_url(emu, **token), protocols=[JSON_PROTOCOL])
        hello = json.loads((await ws.receive(timeout=3)).data)
        assert hello["event"] == "connected"
        try:
            yield Peer(ws, hello["connectionId"])
        finally:
            await ws.close()


async def test_sync_client_sends_reach_the_right_connections(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    client = service(emu)
    async with connect(emu, user_id="alice") as alice, connect(emu, user_id="bob") as bob:
        await asyncio.to_thread(client.send_to_all, {"hello": "all"})
        assert (await alice.next())["data"] == {"hello": "all"}
        assert (await bob.next())["data"] == {"hello": "all"}

        await asyncio.to_thread(
            client.send_to_all, "not bob", content_type="text/plain", excluded=[bob.connection_id]
        )
        got = await alice.next()
        assert (got["dataType"], got["data"]) == ("text", "not bob")
        await bob.nothing()

        await asyncio.to_thread(
            client.send_to_user, "bob", b"\x00\x01", content_type="application/octet-stream"
        )
        got = await bob.next()
        assert (got["dataType"], got["data"]) == ("binary", "AAE=")
        await alice.nothing()

        await asyncio.to_thread(client.send_to_connection, alice.connection_id, {"to": "alice"})
        assert (await alice.next())["data"] == {"to": "alice"}

        await asyncio.to_thread(client.add_connection_to_group, "g1", bob.connection_id)
        await asyncio.to_thread(client.send_to_group, "g1", "group text", content_type="text/plain")
        assert (await bob.next())["data"] == "group text"
        await alice.nothing()

        await asyncio.to_thread(
            client.send_to_all,
            "filtered",
            content_type="text/plain",
            filter="userId ne 'bob' and not ('g1' in groups)",
        )
        assert (await alice.next())["data"] == "filtered"
        await bob.nothing()


async def test_sync_client_exists_membership_and_close(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    client = service(emu)
    async with connect(emu, user_id="user/with slash") as peer:
        cid = peer.connection_id
        assert await asyncio.to_thread(client.connection_exists, cid) is True
        assert await asyncio.to_thread(client.connection_exists, "missing") is False
        assert await asyncio.to_thread(client.user_exists, "user/with slash") is True
        assert await asyncio.to_thread(client.user_exists, "user") is False
        assert await asyncio.to_thread(client.group_exists, "g") is False

        await asyncio.to_thread(client.add_user_to_group, "g", "user/with slash")
        assert await asyncio.to_thread(client.group_exists, "g") is True
        await asyncio.to_thread(client.remove_user_from_group, "g", "user/with slash")
        assert await asyncio.to_thread(client.group_exists, "g") is False

        await asyncio.to_thread(client.add_connection_to_group, "a", cid)
        await asyncio.to_thread(client.add_connection_to_group, "b", cid)
        await asyncio.to_thread(client.remove_connection_from_group, "a", cid)
        assert await asyncio.to_thread(client.group_exists, "a") is False
        await asyncio.to_thread(client.remove_connection_from_all_groups, cid)
        assert await asyncio.to_thread(client.group_exists, "b") is False

        await asyncio.to_thread(client.add_user_to_group, "c", "user/with slash")
        await asyncio.to_thread(client.remove_user_from_all_groups, "user/with slash")
        assert await asyncio.to_thread(client.group_exists, "c") is False

        with pytest.raises(ResourceNotFoundError):
            await asyncio.to_thread(client.add_connection_to_group, "a", "missing")

        await asyncio.to_thread(client.close_connection, cid, reason="bye")
        system = await peer.next()
        assert system == {"type": "system", "event": "disconnected", "message": "bye"}
        closing = await peer.ws.receive(timeout=3)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert await asyncio.to_thread(client.connection_exists, cid) is False


async def test_sync_client_permissions_and_close_variants(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    client = service(emu)
    async with connect(emu, user_id="u1") as one, connect(emu, user_id="u2") as two, connect(emu) as three:
        cid = one.connection_id
        assert await asyncio.to_thread(client.has_permission, "sendToGroup", cid, target_name="g") is False
        await asyncio.to_thread(client.grant_permission, "sendToGroup", cid, target_name="g")
        assert await asyncio.to_thread(client.has_permission, "sendToGroup", cid, target_name="g") is True
        assert await asyncio.to_thread(client.has_permission, "sendToGroup", cid, target_name="h") is False
        # the grant is effective for the client's own sendToGroup
        await one.ws.send_json({"type": "sendToGroup", "group": "g", "data": 1, "ackId": 7})
        assert (await one.next())["success"] is True
        await asyncio.to_thread(client.revoke_permission, "sendToGroup", cid, target_name="g")
        assert await asyncio.to_thread(client.has_permission, "sendToGroup", cid, target_name="g") is False
        await one.ws.send_json({"type": "sendToGroup", "group": "g", "data": 1, "ackId": 8})
        ack = await one.next()
        assert ack["success"] is False and ack["error"]["name"] == "Forbidden"
        with pytest.raises(HttpResponseError):
            await asyncio.to_thread(client.grant_permission, "joinLeaveGroup", "missing")

        await asyncio.to_thread(client.close_user_connections, "u2", reason="user")
        assert (await two.next())["message"] == "user"
        await asyncio.to_thread(client.add_connection_to_group, "grp", three.connection_id)
        await asyncio.to_thread(client.close_group_connections, "grp", reason="group")
        assert (await three.next())["message"] == "group"
        await asyncio.to_thread(client.close_all_connections, excluded=[cid], reason="all")
        assert await asyncio.to_thread(client.connection_exists, cid) is True
        await asyncio.to_thread(client.close_all_connections, reason="all")
        assert (await one.next())["message"] == "all"


async def test_async_client_full_round(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    async with AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as client:
        async with connect(emu, user_id="alice") as alice, connect(emu, user_id="bob") as bob:
            await client.add_connection_to_group("room", alice.connection_id)
            await client.add_connection_to_group("room", bob.connection_id)
            await client.send_to_group("room", {"n": 1}, excluded=[bob.connection_id])
            assert (await alice.next())["data"] == {"n": 1}
            await bob.nothing()
            await client.send_to_group(
                "room",
                "x",
                content_type="text/plain",
                filter=f"connectionId in ('{bob.connection_id}', 'zzz')",
            )
            assert (await bob.next())["data"] == "x"
            await alice.nothing()
            await client.send_to_user("alice", "hi", content_type="text/plain")
            await client.send_to_connection(bob.connection_id, "yo", content_type="text/plain")
            assert (await alice.next())["data"] == "hi"
            assert (await bob.next())["data"] == "yo"
            await client.send_to_all({"all": True})
            assert (await alice.next())["data"] == {"all": True}
            assert await client.connection_exists(alice.connection_id)
            assert await client.group_exists("room")
            assert await client.user_exists("bob")
            assert not await client.user_exists("carol")
            members = [m async for m in client.list_connections(group="room")]
            assert {(m.connection_id, m.user_id) for m in members} == {
                (alice.connection_id, "alice"),
                (bob.connection_id, "bob"),
            }
            await client.add_user_to_group("solo", "alice")
            await client.remove_user_from_group("solo", "alice")
            await client.remove_user_from_all_groups("bob")
            await client.remove_connection_from_group("room", alice.connection_id)
            await client.remove_connection_from_all_groups(alice.connection_id)
            assert not await client.group_exists("room")
            await client.grant_permission("joinLeaveGroup", alice.connection_id, target_name="x")
            assert await client.has_permission("joinLeaveGroup", alice.connection_id, target_name="x")
            await client.revoke_permission("joinLeaveGroup", alice.connection_id, target_name="x")
            await client.close_user_connections("bob", reason="r")
            await client.close_group_connections("none", reason="r")
            await client.close_connection(alice.connection_id, reason="done")
            assert (await alice.next())["message"] == "done"
            await client.close_all_connections(reason="r")
            assert not await client.connection_exists(alice.connection_id)


async def test_list_connections_pages_and_top(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    async with AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as client:
        peers, sockets = [], []
        async with aiohttp.ClientSession() as session:
            for i in range(5):
                ws = await session.ws_connect(client_url(emu, user_id=f"u{i}"), protocols=[JSON_PROTOCOL])
                sockets.append(ws)  # keep a reference: a collected socket closes
                hello = json.loads((await ws.receive(timeout=3)).data)
                peers.append(hello["connectionId"])
                await client.add_connection_to_group("big", hello["connectionId"])
            paged = client.list_connections(group="big", maxpagesize=2)
            pages = []
            async for page in paged.by_page():
                pages.append([m.connection_id async for m in page])
            assert [len(p) for p in pages] == [2, 2, 1]
            assert sum(pages, []) == peers
            top = [m.connection_id async for m in client.list_connections(group="big", top=3, maxpagesize=2)]
            assert top == peers[:3]


async def test_async_client_token_and_generate_token(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    async with AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as client:
        # generateToken is a REST call (the SDK only makes it with Entra credentials): call it directly
        request_url = (
            f"{emu.endpoint}/api/hubs/{HUB}/:generateToken?userId=u1&role=r1&group=g1&api-version=2024-12-01"
        )
        from azure.core.rest import HttpRequest

        response = await client.send_request(HttpRequest("POST", request_url))
        assert response.status_code == 200
        token = response.json()["token"]
        identity = validate_client_token(token, [PRIMARY], [f"{emu.endpoint}/client/hubs/{HUB}"])
        assert (identity.user_id, identity.roles, identity.groups) == ("u1", ("r1",), ("g1",))


async def test_deeply_nested_json_gets_400_and_the_emulator_keeps_serving(
    bare_emulator: RunningEmulator,
) -> None:
    emu = bare_emulator
    deep = "[" * 5000 + "]" * 5000  # json.loads raises RecursionError on this
    async with AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as svc:
        with pytest.raises(HttpResponseError) as info:
            await svc.send_to_all(io.BytesIO(deep.encode()), content_type="application/json")
        assert info.value.status_code == 400
        async with connect(emu, user_id="u1") as peer:
            await svc.send_to_all({"still": "serving"})
            assert (await peer.next())["data"] == {"still": "serving"}
