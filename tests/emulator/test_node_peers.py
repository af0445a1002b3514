"""The official JS SDKs as independent peers: @azure/web-pubsub-client and -express.

CI installs them first with ``npm ci --prefix tests/node``; without node or
``tests/node/node_modules`` these tests are skipped.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from azure.messaging.webpubsubservice.aio import WebPubSubServiceClient as AsyncServiceClient

from devhost.emulator import EventHandler, RunningEmulator, start_emulator

from .conftest import HUB, client_url, make_config

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.node,
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "@azure" / "web-pubsub-client").is_dir(),
        reason="tests/node/node_modules is missing: run `npm ci --prefix tests/node`",
    ),
]


class ExpressUpstream:
    """``node express_upstream.mjs`` running on a free port; collects its JSON log lines."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self.records: list[dict[str, Any]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.records.append(json.loads(line))

    def of(self, event: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("event") == event]

    async def wait_for(self, event: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.of(event)) < count:
            assert loop.time() < deadline, f"express upstream never logged {event!r}: {self.records}"
            await asyncio.sleep(0.02)
        return self.of(event)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._reader.cancel()


@pytest.fixture
async def express() -> AsyncIterator[ExpressUpstream]:
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE,
        "express_upstream.mjs",
        HUB,
        cwd=NODE_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=sys.stderr,
    )
    assert process.stdout is not None
    try:
        first = await asyncio.wait_for(process.stdout.readline(), 15)
        port = int(json.loads(first)["port"])
    except Exception:
        process.kill()
        await process.wait()
        raise
    upstream = ExpressUpstream(process, port)
    try:
        yield upstream
    finally:
        await upstream.stop()


@pytest.fixture
async def express_emulator(express: ExpressUpstream) -> AsyncIterator[RunningEmulator]:
    config = make_config()
    template = f"http://127.0.0.1:{express.port}/eventhandler/{{event}}"
    config.handlers.set_hub(HUB, [EventHandler(template)])
    async with start_emulator(config) as emu:
        yield emu


async def run_node(script: str, *args: str, timeout: float = 30.0) -> dict[str, Any]:
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE, script, *args, cwd=NODE_DIR, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    lines = stdout.decode().strip().splitlines()
    assert lines, f"{script} printed nothing; stderr: {stderr.decode()[-2000:]}"
    return json.loads(lines[-1])


async def test_js_client_sdk_through_emulator_and_express_upstream(
    express_emulator: RunningEmulator, express: ExpressUpstream
) -> None:
    emu = express_emulator
    result = await run_node(
        "client_roundtrip.mjs", client_url(emu, user_id="alice"), client_url(emu, user_id="bob"), "shout"
    )
    assert result["ok"], result
    # the express connect handler renamed the users; the JS client saw the result
    assert (result["aliceUserId"], result["bobUserId"]) == ("express-alice", "express-bob")
    group = result["groupMessage"]
    assert (group["group"], group["data"], group["fromUserId"]) == ("room", {"hello": "bob"}, "express-alice")
    assert result["serverMessage"]["data"] == "echo:ping"

    validations = await express.wait_for("validate")
    assert validations[0]["path"] == "/eventhandler/validate" and validations[0]["origin"] == "localhost"
    connects = express.of("connect")
    assert {c["userId"] for c in connects} == {"alice", "bob"}
    assert all(c["subprotocols"] == ["json.reliable.webpubsub.azure.v1"] for c in connects)
    assert all(c["signature"] and c["signature"].count("sha256=") == 2 for c in connects)
    shout = express.of("shout")
    assert shout and shout[0]["dataType"] == "text" and shout[0]["data"] == "ping"
    assert shout[0]["userId"] == "express-alice" and shout[0]["origin"] == "localhost"
    await express.wait_for("disconnected", count=2)


async def test_express_handles_simple_client_messages_state_and_rejection(
    express_emulator: RunningEmulator, express: ExpressUpstream
) -> None:
    emu = express_emulator
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(client_url(emu, user_id="raw"))
        replies = []
        for text in ("a", "b", "c"):
            await ws.send_str(text)
            replies.append((await ws.receive(timeout=5)).data)
        await ws.send_bytes(b"\x00\xff")
        binary = await ws.receive(timeout=5)
        await ws.close()

        json_ws = await session.ws_connect(
            client_url(emu, user_id="j"), protocols=["json.webpubsub.azure.v1"]
        )
        hello = json.loads((await json_ws.receive(timeout=5)).data)
        assert hello["userId"] == "express-j"
        await json_ws.send_json(
            {"type": "event", "event": "calc", "dataType": "json", "data": [1, 2], "ackId": 1}
        )
        reply = json.loads((await json_ws.receive(timeout=5)).data)
        ack = json.loads((await json_ws.receive(timeout=5)).data)
        await json_ws.close()

        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(client_url(emu, user_id="nope") + "&reject=1")

    assert replies == ["echo:a", "echo:b", "echo:c"]
    assert (binary.type, binary.data) == (aiohttp.WSMsgType.BINARY, b"\x00\xff")
    # express read the state the emulator stored from its previous answer
    assert [m["counter"] for m in express.of("message")] == [1, 2, 3, 4]
    assert reply["data"] == {"echo": [1, 2], "counter": 1} and ack["success"] is True
    assert info.value.status == 401
    rejected = [c for c in express.of("connect") if c["userId"] == "nope"]
    assert rejected and rejected[0]["query"].get("reject") == ["1"]


async def test_js_client_sdk_wildcard_roles_ack_retry_and_server_group_messages(
    bare_emulator: RunningEmulator,
) -> None:
    """conformance.mjs asks for a REST grant and a REST group send at its checkpoints."""
    assert NODE is not None
    emu = bare_emulator
    alice = client_url(emu, user_id="alice", roles=["webpubsub.joinLeaveGroups.news.*"])
    bob = client_url(emu, user_id="bob", roles=["webpubsub.joinLeaveGroup"])
    process = await asyncio.create_subprocess_exec(
        NODE,
        "conformance.mjs",
        alice,
        bob,
        cwd=NODE_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=sys.stderr,
    )
    assert process.stdin is not None and process.stdout is not None
    result: dict[str, Any] = {}
    try:
        async with AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as svc:
            while line := await asyncio.wait_for(process.stdout.readline(), 30):
                message = json.loads(line)
                if message.get("step") == "need-grant":
                    await svc.grant_permission(
                        "sendToGroup", message["connectionId"], target_name=message["group"]
                    )
                elif message.get("step") == "need-rest-send":
                    await svc.send_to_group(
                        message["group"], {"from": "server"}, content_type="application/json"
                    )
                else:
                    result = message
                    break
                process.stdin.write(b"done\n")
                await process.stdin.drain()
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    assert result.get("ok"), result
    assert (result["joinNewsSport"], result["joinNewsSportLive"]) == (None, "Forbidden")
    assert (result["firstSend"], result["retriedSend"]) == ("Forbidden", None)
    first, second = result["groupMessages"]
    assert (first["group"], first["data"], first["fromUserId"]) == ("news.sport", "hello", "alice")
    assert (second["group"], second["data"], second.get("fromUserId")) == (
        "news.sport",
        {"from": "server"},
        None,
    )
    assert result["serverMessages"] == []
