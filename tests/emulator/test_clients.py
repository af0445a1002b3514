"""Client WebSocket protocols and upstream calls, with real sockets on both sides."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from typing import Any

import aiohttp
import pytest
from azure.messaging.webpubsubservice.aio import WebPubSubServiceClient as AsyncServiceClient

from devhost.emulator import EventHandler, RunningEmulator, start_emulator
from shared.headers import (
    CE_AWPSVERSION,
    CE_CONNECTION_ID,
    CE_CONNECTION_STATE,
    CE_HUB,
    CE_ID,
    CE_SIGNATURE,
    CE_SOURCE,
    CE_SPECVERSION,
    CE_SUBPROTOCOL,
    CE_TIME,
    CE_TYPE,
    CE_USER_ID,
    WEBHOOK_REQUEST_ORIGIN,
)
from shared.verify import sign

from .conftest import HUB, PRIMARY, SECONDARY, Upstream, client_url, make_config

pytestmark = pytest.mark.e2e

JSON_PROTOCOL = "json.webpubsub.azure.v1"
RELIABLE = "json.reliable.webpubsub.azure.v1"


async def receive_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 3.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def test_connect_event_headers_body_and_response_are_applied(
    emulator: RunningEmulator, upstream: Upstream
) -> None:
    rec = upstream.recorder
    rec.connect_answer = (
        200,
        {"userId": "from-handler", "groups": ["lobby"], "roles": ["webpubsub.sendToGroup.lobby"]},
        {CE_CONNECTION_STATE: "c0"},
    )
    url = client_url(emulator, user_id="token-user", roles=["webpubsub.joinLeaveGroup"]) + "&custom=1"
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, protocols=[JSON_PROTOCOL], headers={"X-Test": "yes"})
        hello = await receive_json(ws)
        assert hello["userId"] == "from-handler"
        # connect-response roles replaced the token's: joining is forbidden, sending to lobby allowed
        await ws.send_json({"type": "joinGroup", "group": "other", "ackId": 1})
        assert (await receive_json(ws))["error"]["name"] == "Forbidden"
        await ws.send_json(
            {"type": "sendToGroup", "group": "lobby", "dataType": "text", "data": "hey", "ackId": 2}
        )
        first, second = await receive_json(ws), await receive_json(ws)
        by_type = {first["type"]: first, second["type"]: second}
        assert by_type["message"]["from"] == "group" and by_type["message"]["fromUserId"] == "from-handler"
        assert by_type["ack"]["success"] is True
        await ws.send_json({"type": "event", "event": "echo", "data": {"k": 1}})
        assert (await receive_json(ws))["data"] == {"k": 1}
        await ws.close()

    assert rec.options, "abuse-protection OPTIONS must precede events"
    options = rec.options[0]
    assert options.path == f"/api/{HUB}/validate"
    assert options.headers[WEBHOOK_REQUEST_ORIGIN.lower()] == "localhost"
    assert options.headers[CE_AWPSVERSION.lower()] == "1.0"
    assert rec.requests.index(options) < rec.requests.index(rec.of("connect")[0])

    connect = rec.of("connect")[0]
    cid = connect.headers[CE_CONNECTION_ID.lower()]
    assert connect.path == f"/api/{HUB}/connect"
    assert connect.headers[CE_TYPE.lower()] == "azure.webpubsub.sys.connect"
    assert connect.headers[CE_SPECVERSION.lower()] == "1.0"
    assert connect.headers[CE_HUB.lower()] == HUB
    assert connect.headers[CE_USER_ID.lower()] == "token-user"
    assert connect.headers[CE_SOURCE.lower()] == f"/hubs/{HUB}/client/{cid}"
    assert connect.headers[CE_ID.lower()] and connect.headers[CE_TIME.lower()].endswith("Z")
    assert connect.headers[CE_SIGNATURE.lower()] == f"{sign(PRIMARY, cid)},{sign(SECONDARY, cid)}"
    body = connect.json()
    assert body["claims"]["sub"] == ["token-user"]
    assert body["claims"]["role"] == ["webpubsub.joinLeaveGroup"]
    assert body["query"]["custom"] == ["1"] and "access_token" not in body["query"]
    assert body["headers"]["X-Test"] == ["yes"]
    assert not any(name.lower() == "authorization" for name in body["headers"])
    assert body["subprotocols"] == [JSON_PROTOCOL]

    echo = rec.of("echo")[0]
    assert echo.headers[CE_TYPE.lower()] == "azure.webpubsub.user.echo"
    assert echo.headers[CE_USER_ID.lower()] == "from-handler"
    assert echo.headers[CE_SUBPROTOCOL.lower()] == JSON_PROTOCOL
    assert echo.headers[CE_CONNECTION_STATE.lower()] == "c0"
    assert echo.headers["content-type"].startswith("application/json")
    disconnected = await rec.wait_for("disconnected")
    assert "reason" in disconnected[0].json()
    assert rec.bad_signatures == 0


async def test_connect_rejection_status_reaches_the_client(
    emulator: RunningEmulator, upstream: Upstream
) -> None:
    upstream.recorder.connect_answer = (403, None, {})
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(client_url(emulator), protocols=[JSON_PROTOCOL])
    assert info.value.status == 403
    await asyncio.sleep(0.2)
    assert upstream.recorder.of("connected") == [] and upstream.recorder.of("disconnected") == []


async def test_bad_tokens_are_refused_with_401(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    good = client_url(emu)
    base = good.split("?")[0]
    other_hub = client_url(emu, hub="other").split("access_token=")[1]
    async with aiohttp.ClientSession() as session:
        for url in (base, base + "?access_token=garbage", f"{base}?access_token={other_hub}"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await session.ws_connect(url)
            assert info.value.status == 401
        # Authorization header instead of the query, and /client/?hub= form
        token = good.split("access_token=")[1]
        ws = await session.ws_connect(
            f"{emu.endpoint}/client/?hub={HUB}", headers={"Authorization": f"Bearer {token}"}
        )
        assert not ws.closed
        await ws.close()


async def test_connection_state_round_trip_and_simple_client_replies(
    emulator: RunningEmulator, upstream: Upstream
) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(client_url(emulator, user_id="raw"))
        await ws.send_str("one")
        assert (await ws.receive(timeout=3)).data == "one"
        await ws.send_bytes(b"\x01\x02")
        msg = await ws.receive(timeout=3)
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.BINARY, b"\x01\x02")
        await ws.send_str("three")
        await ws.receive(timeout=3)
        await ws.close()
    messages = upstream.recorder.of("message")
    assert [m.headers.get(CE_CONNECTION_STATE.lower()) for m in messages] == [None, "s", "s+"]
    assert [m.headers["content-type"] for m in messages] == [
        "text/plain",
        "application/octet-stream",
        "text/plain",
    ]
    assert CE_SUBPROTOCOL.lower() not in messages[0].headers
    assert len(await upstream.recorder.wait_for("disconnected")) == 1


async def test_json_protocol_acks_duplicates_ping_and_no_echo(bare_emulator: RunningEmulator) -> None:
    url = client_url(bare_emulator, user_id="u", roles=["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"])
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, protocols=[JSON_PROTOCOL])
        await receive_json(ws)
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}
        await ws.send_json({"type": "joinGroup", "group": "g", "ackId": 1})
        assert await receive_json(ws) == {"type": "ack", "ackId": 1, "success": True}
        await ws.send_json({"type": "joinGroup", "group": "g", "ackId": 1})
        dup = await receive_json(ws)
        assert dup["success"] is False and dup["error"]["name"] == "Duplicate"
        await ws.send_json(
            {"type": "sendToGroup", "group": "g", "data": "x", "dataType": "text", "noEcho": True, "ackId": 2}
        )
        assert (await receive_json(ws))["ackId"] == 2
        await ws.send_json(
            {
                "type": "sendToGroup",
                "group": "g",
                "dataType": "binary",
                "data": base64.b64encode(b"bin").decode(),
                "ackId": 3,
            }
        )
        echoed = await receive_json(ws)
        assert (echoed["dataType"], base64.b64decode(echoed["data"])) == ("binary", b"bin")
        assert (await receive_json(ws))["ackId"] == 3
        await ws.send_json({"type": "event", "event": "nohandler", "ackId": 4})
        assert (await receive_json(ws))["error"]["name"] == "InternalServerError"
        await ws.send_json({"type": "leaveGroup", "group": "g", "ackId": 5})
        assert (await receive_json(ws))["success"] is True
        await ws.send_str("not json")
        closing = await ws.receive(timeout=3)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1007  # invalid payload data


async def test_reliable_reconnect_replays_unacked_messages(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    url = client_url(emu, user_id="r")
    async with (
        aiohttp.ClientSession() as session,
        AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as svc,
    ):
        ws = await session.ws_connect(url, protocols=[RELIABLE])
        hello = await receive_json(ws)
        cid, token = hello["connectionId"], hello["reconnectionToken"]
        await svc.send_to_connection(cid, "m1", content_type="text/plain")
        first = await receive_json(ws)
        assert (first["sequenceId"], first["data"]) == (1, "m1")
        await ws.send_json({"type": "sequenceAck", "sequenceId": 1})
        await svc.send_to_connection(cid, "m2", content_type="text/plain")
        assert (await receive_json(ws))["sequenceId"] == 2
        # the network drops (no close frame); messages sent meanwhile are kept
        assert emu.clients.drop_transport(cid)
        await ws.receive(timeout=3)
        await asyncio.sleep(0.1)
        await svc.send_to_connection(cid, "m3", content_type="text/plain")
        assert await svc.connection_exists(cid)
        recover = f"{url}&awps_connection_id={cid}&awps_reconnection_token={token}"
        ws2 = await session.ws_connect(recover, protocols=[RELIABLE])
        again = await receive_json(ws2)
        assert again["event"] == "connected" and again["connectionId"] == cid
        replayed = [await receive_json(ws2), await receive_json(ws2)]
        assert [(m["sequenceId"], m["data"]) for m in replayed] == [(2, "m2"), (3, "m3")]
        # a wrong token cannot take over the connection
        bad = await session.ws_connect(
            f"{url}&awps_connection_id={cid}&awps_reconnection_token=x", protocols=[RELIABLE]
        )
        closing = await bad.receive(timeout=3)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1008
        await ws2.close()
        await asyncio.sleep(0.1)
        assert not await svc.connection_exists(cid)


async def test_reliable_connection_ends_after_recovery_window() -> None:
    async with start_emulator(make_config(recovery_window=0.3)) as emu:
        url = client_url(emu)
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(url, protocols=[RELIABLE])
            hello = await receive_json(ws)
            emu.clients.drop_transport(hello["connectionId"])
            await ws.receive(timeout=3)
            await asyncio.sleep(0.6)
            recover = (
                f"{url}&awps_connection_id={hello['connectionId']}"
                f"&awps_reconnection_token={hello['reconnectionToken']}"
            )
            ws2 = await session.ws_connect(recover, protocols=[RELIABLE])
            closing = await ws2.receive(timeout=3)
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1008


async def test_disconnected_is_sent_once_and_after_connected(
    emulator: RunningEmulator, upstream: Upstream
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        AsyncServiceClient.from_connection_string(emulator.connection_string, hub=HUB) as svc,
    ):
        ws = await session.ws_connect(client_url(emulator), protocols=[JSON_PROTOCOL])
        cid = (await receive_json(ws))["connectionId"]
        await svc.close_connection(cid, reason="server")
        await ws.close()
        await svc.close_connection(cid, reason="again")
    events = await upstream.recorder.wait_for("disconnected")
    await asyncio.sleep(0.3)
    assert len(upstream.recorder.of("disconnected")) == 1
    assert events[0].json() == {"reason": "server"}
    order = [r.event for r in upstream.recorder.requests if r.method == "POST"]
    assert order.index("connected") < order.index("disconnected")


async def test_oversized_messages_close_1009_and_rest_413(emulator: RunningEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(client_url(emulator), protocols=[JSON_PROTOCOL], max_msg_size=0)
        await receive_json(ws)
        await ws.send_str(json.dumps({"type": "event", "event": "echo", "data": "x" * (1024 * 1024 + 10)}))
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1009
    async with AsyncServiceClient.from_connection_string(emulator.connection_string, hub=HUB) as svc:
        from azure.core.exceptions import HttpResponseError

        with pytest.raises(HttpResponseError) as info:
            await svc.send_to_all("y" * (1024 * 1024 + 1), content_type="text/plain")
        assert info.value.status_code == 413


async def test_rest_errors_have_codes_and_bad_auth_is_401(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    async with AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as svc:
        from azure.core.exceptions import HttpResponseError

        with pytest.raises(HttpResponseError) as info:
            await svc.send_to_all("x", content_type="text/plain", filter="userId eq")
        assert info.value.status_code == 400
        assert info.value.response.headers["x-ms-error-code"] == "InvalidFilter"
        assert set(info.value.response.json()) >= {"code", "message"}
    wrong_key = emu.connection_string.replace(PRIMARY, "W" * 44)
    async with AsyncServiceClient.from_connection_string(wrong_key, hub=HUB) as svc:
        from azure.core.exceptions import ClientAuthenticationError

        with pytest.raises(ClientAuthenticationError):
            await svc.send_to_all({"a": 1})
    async with aiohttp.ClientSession() as session:
        async with session.head(f"{emu.endpoint}/api/health") as resp:
            assert resp.status == 200
        async with session.post(f"{emu.endpoint}/api/hubs/{HUB}/:send", data=b"{}") as resp:
            assert resp.status == 401


async def test_hung_and_failing_upstreams_do_not_wedge_the_emulator(
    emulator: RunningEmulator, upstream: Upstream
) -> None:
    upstream.recorder.event_delay = 5.0  # longer than the emulator's 2 s upstream timeout
    async with aiohttp.ClientSession() as session:
        slow = await session.ws_connect(client_url(emulator), protocols=[JSON_PROTOCOL])
        await receive_json(slow)
        await slow.send_json({"type": "event", "event": "echo", "data": 1, "ackId": 1})
        # meanwhile the emulator serves everyone else
        other = await session.ws_connect(client_url(emulator), protocols=[JSON_PROTOCOL])
        await receive_json(other)
        await other.send_json({"type": "ping"})
        assert await receive_json(other, timeout=1) == {"type": "pong"}
        ack = await receive_json(slow, timeout=5)
        assert ack["error"]["name"] == "InternalServerError"
        upstream.recorder.event_delay = 0
        upstream.recorder.event_answer = (500, b"boom", "text/plain", {})
        raw = await session.ws_connect(client_url(emulator))
        await raw.send_str("hello")
        closing = await raw.receive(timeout=3)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1011


def _raw_upgrade(port: int, path: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


async def test_slow_consumer_is_disconnected_instead_of_growing_memory() -> None:
    async with start_emulator(make_config(outbound_max_bytes=1024 * 1024)) as emu:
        path = client_url(emu, user_id="slow").split(f":{emu.port}", 1)[1]
        sock = await asyncio.to_thread(_raw_upgrade, emu.port, path)
        try:
            await asyncio.sleep(0.1)
            hub = emu.hubs.get(HUB)
            assert hub is not None and len(hub.connections) == 1
            async with AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as svc:
                chunk = "z" * 256 * 1024
                for _ in range(200):
                    await svc.send_to_user("slow", chunk, content_type="text/plain")
                    if not hub.connections:
                        break
            conn_count = len(hub.connections)
            assert conn_count == 0, "the slow consumer should have been disconnected"
        finally:
            sock.close()


async def test_simple_client_message_without_handler_is_closed_1011(bare_emulator: RunningEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(client_url(bare_emulator))
        await ws.send_str("anyone?")
        closing = await ws.receive(timeout=3)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1011


async def test_handler_failing_validation_gets_no_events(upstream: Upstream) -> None:
    upstream.recorder.allowed_origin = "someone-else.example"
    config = make_config()
    config.handlers.set_hub(HUB, [EventHandler(upstream.base_url + "/{event}")])
    async with start_emulator(config) as emu, aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(client_url(emu))
        assert info.value.status == 500
    assert upstream.recorder.options and not upstream.recorder.of("connect")


async def test_settings_file_is_hot_reloaded(tmp_path, upstream: Upstream) -> None:
    path = tmp_path / "appsettings.json"

    def write(pattern: str) -> None:
        handler = {
            "UrlTemplate": upstream.base_url + "/api/{hub}/{event}",
            "SystemEvents": [],
            "EventPattern": pattern,
        }
        path.write_text(json.dumps({"WebPubSub": {"Hubs": {HUB: {"EventHandlers": [handler]}}}}))

    write("other")
    async with start_emulator(make_config(settings_file=path, reload_interval=0.05)) as emu:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(client_url(emu), protocols=[JSON_PROTOCOL])
            await receive_json(ws)
            await ws.send_json(
                {"type": "event", "event": "echo", "dataType": "text", "data": "1", "ackId": 1}
            )
            assert (await receive_json(ws))["success"] is False  # no handler for "echo" yet
            write("echo")
            await asyncio.sleep(0.3)
            await ws.send_json(
                {"type": "event", "event": "echo", "dataType": "text", "data": "2", "ackId": 2}
            )
            assert (await receive_json(ws))["data"] == "2"
            assert (await receive_json(ws))["success"] is True
            path.write_text("{broken")  # a bad edit keeps the previous handlers
            await asyncio.sleep(0.3)
            await ws.send_json(
                {"type": "event", "event": "echo", "dataType": "text", "data": "3", "ackId": 3}
            )
            assert (await receive_json(ws))["data"] == "3"
            await ws.close()


async def test_keys_and_tokens_never_reach_the_logs(
    emulator: RunningEmulator, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    upstream.recorder.event_answer = (500, b"", "text/plain", {})
    url = client_url(emulator, user_id="secretive")
    token = url.split("access_token=")[1]
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url)
        await ws.send_str("x")  # fails upstream: logged, then closed
        await ws.receive(timeout=3)
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url + "x")
    async with AsyncServiceClient.from_connection_string(emulator.connection_string, hub=HUB) as svc:
        await svc.send_to_all({"a": 1})
    await upstream.recorder.wait_for("disconnected")
    assert caplog.records, "expected the failures above to be logged"
    for secret in (PRIMARY, SECONDARY, token):
        assert secret not in caplog.text
