"""``python -m devhost`` as a developer runs it: serves the page, wires both servers, and
leaves no process or port behind on Ctrl-C (SIGINT) or SIGTERM, even with clients connected."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from .clients import RawClient, presence
from .fixtures import new_access_key
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


async def test_page_and_static_files_are_served_with_the_csp(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    async with http.get(stack.page_url) as page:
        assert page.status == 200
        assert page.content_type == "text/html"
        csp = page.headers["Content-Security-Policy"]
        html = await page.text()
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert '<script type="module" src="static/chat.js"></script>' in html
    assert "<style" not in html and " style=" not in html and "onclick" not in html.lower()
    for name, content_type in (("chat.js", "text/javascript"), ("chat.css", "text/css")):
        async with http.get(stack.api(f"static/{name}")) as response:
            assert response.status == 200
            assert response.content_type == content_type
    script = (await (await http.get(stack.api("static/chat.js"))).text()).lower()
    assert "innerhtml" not in script and "insertadjacenthtml" not in script and "eval(" not in script


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_stops_cleanly_with_clients_connected(
    tmp_path: Path, http: aiohttp.ClientSession, signum: signal.Signals
) -> None:
    running = start_stack_process(tmp_path, access_key=new_access_key())
    try:
        # Azurite too: it is a child process and must be gone with the stack
        ports = (_port(running.functions_url), _port(running.emulator_url), _port(running.storage_url))
        assert all(_accepts_connections(port) for port in ports)
        client = await RawClient.connect(http, running, "leaver", "lobby")
        await client.wait_for(presence("joined", client.user_id, "lobby"))
        started = time.monotonic()
        code = running.stop(signum, timeout=CLEAN_STOP_SECONDS)
        elapsed = time.monotonic() - started
        assert code == 0, running.text()
        assert elapsed < CLEAN_STOP_SECONDS
        assert not any(_accepts_connections(port) for port in ports)
        await asyncio.wait_for(client._reader, timeout=5)  # the emulator closed the socket
        assert client.ws.closed
        assert running.output[-1].endswith("Stopped")
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
