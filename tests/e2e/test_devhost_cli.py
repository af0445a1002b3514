"""``python -m devhost`` as a developer runs it: everything it needs comes from the app (hubs, their
system events, storage settings), it says what it serves, and it leaves no process, port or open
client behind on Ctrl-C (SIGINT) or SIGTERM, even with clients connected.

The app is the template's test app (``tests/fixture_app``: hub ``relay``, no page), so none of
this depends on the chat sample."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from .clients import RawClient, presence, said
from .fixtures import UNCLOSED, new_access_key, stop_and_check
from .stack_process import StackProcess, StackStartError, start_stack_process

pytestmark = pytest.mark.e2e

CLEAN_STOP_SECONDS = 15.0


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _accepts_connections(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_stops_cleanly_with_clients_connected(
    tmp_path: Path, http: aiohttp.ClientSession, signum: signal.Signals
) -> None:
    running = start_stack_process(tmp_path, access_key=new_access_key())
    try:
        # Azurite too: it is a child process and must be gone with the stack
        ports = (_port(running.functions_url), _port(running.emulator_url), _port(running.storage_url))
        assert all(_accepts_connections(port) for port in ports)
        client = await RawClient.connect(http, running, "leaver", params={"room": "lobby"})
        await client.wait_for(presence("joined", client.user_id, "lobby"))
        await client.send_event("say", {"text": "leaving now"})  # the app's REST and table clients
        await client.wait_for(said("leaving now", client.user_id))
        started = time.monotonic()
        code = running.stop(signum, timeout=CLEAN_STOP_SECONDS)
        elapsed = time.monotonic() - started
        assert code == 0, running.text()
        assert elapsed < CLEAN_STOP_SECONDS
        assert not any(_accepts_connections(port) for port in ports)
        await asyncio.wait_for(client._reader, timeout=5)  # the emulator closed the socket
        assert client.ws.closed
        assert running.output[-1].endswith("Stopped")
        # (That the app's pooled clients are closed on stop: test_devhost_stack.py, in process.)
        assert not [line for line in running.output if any(text in line for text in UNCLOSED)]
    finally:
        running.stop(signal.SIGKILL, timeout=5)


async def test_a_taken_port_is_reported_and_nothing_is_left_running(
    stack: StackProcess, tmp_path: Path
) -> None:
    taken = str(_port(stack.functions_url))
    with pytest.raises(StackStartError) as failed:
        start_stack_process(tmp_path, access_key=new_access_key(), extra_args=("--functions-port", taken))
    assert "Cannot start" in str(failed.value)
    assert f"port {taken} for the Functions host is taken" in str(failed.value)
    assert "pass --functions-port 0" in str(failed.value)


async def test_a_taken_azurite_port_is_reported_and_nothing_is_left_running(
    stack: StackProcess, tmp_path: Path
) -> None:
    taken = str(_port(stack.storage_url))
    with pytest.raises(StackStartError) as failed:
        start_stack_process(tmp_path, access_key=new_access_key(), extra_args=("--storage-port", taken))
    assert "Cannot start" in str(failed.value)
    assert f"port {taken} for Azurite is taken" in str(failed.value)
    assert "pass --storage-port 0" in str(failed.value)


def _banner(stack: StackProcess) -> list[str]:
    """What the stack printed for a person, up to and including its ``Ready`` line."""
    lines = [line for line in stack.output if not line.startswith("[")]  # log records are stamped
    return lines[: next(i for i, line in enumerate(lines) if line.startswith("Ready")) + 1]


async def test_the_apps_hub_needs_no_option_and_every_event_reaches_a_handler(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    """The hub is not called ``chat`` and no ``--hub`` was given: its events all reach the app."""
    banner = _banner(stack)
    assert "Hub relay: connect, connected, disconnected, echo, message, say" in banner
    assert f"Open: {stack.api('negotiate')}" in banner
    assert not [line for line in banner if "chat" in line or "/api/index" in line or "validate" in line]
    client = await RawClient.connect(http, stack, "visitor", params={"room": "lobby"})
    await client.send_event("say", {"text": "hello"})
    await client.wait_for(said("hello", client.user_id))
    assert await client.request("echo", {"n": 1}, "echo") == {"kind": "echo", "data": {"n": 1}}
    await client.close()
    for event, status in (("connect", 200), ("connected", 204), ("say", 204), ("echo", 200)):
        stack.wait_for_output(rf"POST /api/relay/{event} {status}\b")
    stack.wait_for_output(r"POST /api/relay/disconnected 204\b")
    assert not [line for line in stack.output if " 404 " in line and "POST " in line]


HUB_WITHOUT_LIFECYCLE = """
import azure.functions as func

from shared import ConnectEvent, ConnectResponse, EventResponse, UserEvent, WebPubSubHub

hub = WebPubSubHub("lonely")


@hub.on_connect
def connect(event: ConnectEvent) -> ConnectResponse:
    return ConnectResponse(user_id=event.context.user_id)


@hub.on_event("ping")
def ping(event: UserEvent) -> EventResponse:
    return EventResponse(data="pong")


app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(hub.blueprint)
"""


async def test_a_hub_without_connected_or_disconnected_handlers_gets_no_such_events(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "function_app.py").write_text(HUB_WITHOUT_LIFECYCLE)
    running = start_stack_process(tmp_path, access_key=new_access_key(), app_dir=app, settings={})
    try:
        assert "Hub lonely: connect, ping" in _banner(running)
        from azure.messaging.webpubsubservice import WebPubSubServiceClient

        service = WebPubSubServiceClient.from_connection_string(running.connection_string, hub="lonely")
        url = service.get_client_access_token(user_id="solo")["url"]
        ws = await http.ws_connect(url, protocols=("json.webpubsub.azure.v1",))
        await ws.send_json({"type": "event", "event": "ping", "dataType": "text", "data": "?", "ackId": 1})
        replies = [json.loads((await ws.receive(timeout=10)).data) for _ in range(3)]  # connected, ack, pong
        assert {"type": "message", "from": "server", "dataType": "text", "data": "pong"} in replies
        await ws.close()
        running.wait_for_output(r"POST /api/lonely/connect 200\b")
        running.wait_for_output(r"POST /api/lonely/ping 200\b")
        await asyncio.sleep(1)  # a disconnected event would be on its way by now
        running.sync_output()
        assert "/api/lonely/connected" not in running.text()
        assert "/api/lonely/disconnected" not in running.text()
        assert not [line for line in running.output if " 404 " in line and "POST " in line]
    finally:
        stop_and_check(running)


async def test_an_app_without_a_hub_starts_and_says_so(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "function_app.py").write_text(
        "import azure.functions as func\n\napp = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n"
    )
    running = start_stack_process(tmp_path, access_key=new_access_key(), app_dir=app, settings={})
    try:
        banner = _banner(running)
        assert not [line for line in banner if line.startswith("Hub ")]
        assert [
            line for line in banner if line.startswith("No Web PubSub hub: the app registers no WebPubSubHub")
        ]
        assert banner[-1] == "Ready (Ctrl+C stops)"
    finally:
        stop_and_check(running)
