"""The chat works on what Azure runs from Python 3.13: azure-functions 2.x, in the worker's venv.

The whole local stack (``python -m devhost``: emulator + dev host + ``function_app``) runs under
the Python >= 3.13 interpreter of ``scripts/functions-runtime-venv``, with the libraries
``requirements.txt`` selects there; two WebSocket clients from this process negotiate, join a
room and chat. Skips with the reason where that interpreter cannot be prepared.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[3]
SUBPROTOCOL = "json.webpubsub.azure.v1"
_URL_LINE = re.compile(r"^Functions host: (http://\S+)")

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack_on_313(worker_python: Path, tmp_path: Path) -> Iterator[str]:
    """Start the stack under the worker's Python; yield the Functions host URL."""
    settings = tmp_path / "local.settings.json"
    # Guest names from the query: ChatAllowQueryUserName today, ChatAllowGuests in the chat's next version.
    values = {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "ChatAllowQueryUserName": "true",
        "ChatAllowGuests": "true",
        "ChatRooms": "lobby",
    }
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": values}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WebPubSub", "Chat", "DEVHOST_"))}
    command = [str(worker_python), "-m", "devhost", "--functions-port", "0", "--emulator-port", "0"]
    command += ["--storage-port", "0", "--storage-dir", str(tmp_path / "azurite")]  # not 10002: may be taken
    command += ["--host", "127.0.0.1", "--public-host", "127.0.0.1", "--settings", str(settings)]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            match = _URL_LINE.match(line)
            url = match.group(1) if match else None
        assert url, "the stack on Python 3.13 did not start"
        # Keep reading its log so the child never blocks on a full pipe.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _join(
    session: aiohttp.ClientSession, functions_url: str, name: str
) -> aiohttp.ClientWebSocketResponse:
    async with session.get(
        f"{functions_url}/api/negotiate", params={"name": name, "room": "lobby"}
    ) as response:
        assert response.status == 200, await response.text()
        negotiated = await response.json()
    ws = await session.ws_connect(negotiated["url"], protocols=[SUBPROTOCOL])
    hello = json.loads((await ws.receive(timeout=10)).data)
    assert hello["event"] == "connected"
    return ws


async def _next_chat(ws: aiohttp.ClientWebSocketResponse) -> dict:
    while True:
        frame = json.loads((await ws.receive(timeout=10)).data)
        data = frame.get("data")
        if frame.get("type") == "message" and isinstance(data, dict) and data.get("kind") == "chat":
            return data


async def test_two_clients_chat_through_the_app_on_python_313(stack_on_313: str) -> None:
    async with aiohttp.ClientSession() as session:
        alice = await _join(session, stack_on_313, "alice")
        bob = await _join(session, stack_on_313, "bob")
        await alice.send_str(
            json.dumps({"type": "event", "event": "chat", "dataType": "json", "data": {"text": "hi"}})
        )
        received = await _next_chat(bob)
        await alice.close()
        await bob.close()
    assert received["text"] == "hi"
    assert received["room"] == "lobby"
    assert received["from"]  # the sender's user id, however the app names guests
