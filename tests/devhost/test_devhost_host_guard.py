"""The dev host answers only requests that name this machine (issue 22, DNS rebinding).

The emulator refused foreign ``Host``/``Origin`` names, the dev host did not: a page that rebinds
its own host name to 127.0.0.1 could post an event signed with the emulator's *public* key (the
review's forged event was broadcast as a signed-in "Admin" and stored in history) and get client
tokens from negotiate. Now every route of the dev host applies the emulator's guard.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from devhost.emulator.config import DEFAULT_ACCESS_KEY
from devhost.functions import RunningHost, create_app, running_host
from tests.upstream_requests import event_headers

APPS = Path(__file__).parent / "apps"
REPO = Path(__file__).resolve().parents[2]
EMULATOR = "localhost:8080"  # never contacted: negotiate signs tokens locally
# A template app on the emulator's public key: one user event and a negotiate endpoint.
APP = """
import azure.functions as func

from shared import UserEvent, WebPubSubHub
from shared.negotiate import negotiate_response

calls = []
hub = WebPubSubHub("chat")


@hub.on_event("message")
def message(event: UserEvent) -> None:
    calls.append(event.context.user_id)


app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(hub.blueprint)


@app.route(route="negotiate", methods=["GET"])
async def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    return await negotiate_response(req, "chat", allow_guests=True)
"""
REBOUND = ("rebound.example", "localhost.evil.example", "127.0.0.1.nip.io", "evil.example.")


def forged_event(user_id: str = "Admin") -> tuple[dict[str, str], bytes]:
    """What the review's page posted: a user event signed with the public emulator key."""
    headers = event_headers(
        "message", user_id=user_id, keys=(), origin="localhost", content_type="text/plain"
    )
    digest = hmac.new(DEFAULT_ACCESS_KEY.encode(), b"conn-1", hashlib.sha256).hexdigest()
    headers["ce-signature"] = f"sha256={digest}"
    return headers, b"forged as Admin"


@pytest.fixture
async def hub_host(tmp_path: Path) -> AsyncIterator[RunningHost]:
    (tmp_path / "function_app.py").write_text(APP)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    settings = {
        "WebPubSubConnectionString": f"Endpoint=http://{EMULATOR};AccessKey={DEFAULT_ACCESS_KEY};Version=1.0;",
        "WebPubSubAllowedOrigins": "localhost",
    }
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": settings}))
    async with running_host(create_app(tmp_path), log_routes=False) as host:
        yield host


async def test_a_signed_event_for_a_rebound_host_is_refused_before_the_function_runs(
    hub_host: RunningHost, client: aiohttp.ClientSession
) -> None:
    calls = sys.modules["function_app"].calls
    url = f"{hub_host.base_url}/api/chat/message"
    headers, body = forged_event()
    for name in REBOUND:
        async with client.post(url, data=body, headers={**headers, "Host": f"{name}:7071"}) as refused:
            assert refused.status == 403, name
            assert "Host" in await refused.text()
    assert calls == []
    # the control: the same request for localhost is the emulator's own, and is served
    async with client.post(url, data=body, headers={**headers, "Host": "localhost:7071"}) as served:
        assert served.status == 204
    assert calls == ["Admin"]


async def test_negotiate_gives_no_token_to_a_rebound_host_or_a_foreign_page(
    hub_host: RunningHost, client: aiohttp.ClientSession
) -> None:
    url = f"{hub_host.base_url}/api/negotiate?name=Eve"
    for headers in (
        {"Host": "rebound.example:7071"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Host": "localhost:7071", "Origin": "http://rebound.example:7071"},
    ):
        async with client.get(url, headers=headers) as refused:
            assert refused.status == 403, headers
            assert "url" not in await refused.text()
    for headers in (
        {},
        {"Host": "localhost:7071", "Origin": "http://localhost:7071"},
        {"Host": "[::1]:7071"},
    ):
        async with client.get(url, headers=headers) as served:
            assert served.status == 200, headers
            assert (await served.json())["url"].startswith(f"ws://{EMULATOR}/client/hubs/chat?")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),  # the host's own page
        ("GET", "/api/hello"),
        ("POST", "/api/echo"),
        ("OPTIONS", "/api/hello"),
        ("GET", "/api/items/42"),
        ("GET", "/api/no-such-route"),  # refused before routing, not a 404
        ("PUT", "/elsewhere"),
    ],
)
async def test_every_route_refuses_a_foreign_host_with_403(
    basic_host: RunningHost, client: aiohttp.ClientSession, method: str, path: str
) -> None:
    url = basic_host.base_url + path
    async with client.request(method, url, headers={"Host": "rebound.example"}, data=b"x") as refused:
        assert refused.status == 403
        assert await refused.text() == "Host header is not an allowed name (see --allow-host)"
    for host in ("localhost", "127.0.0.1:7071", "app.localhost:7071", "[::1]", "127.8.9.10"):
        async with client.request(method, url, headers={"Host": host}, data=b"x") as served:
            assert served.status != 403, host


async def test_an_expect_100_continue_from_a_foreign_host_is_not_invited_to_send_its_body(
    basic_host: RunningHost,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", basic_host.port)
    writer.write(
        b"POST /api/echo HTTP/1.1\r\nHost: rebound.example\r\nContent-Length: 10\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    try:
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    finally:
        writer.transport.abort()
    assert first.startswith(b"HTTP/1.1 403 ")


async def test_allowed_hosts_widen_the_guard_and_a_star_turns_it_off(client: aiohttp.ClientSession) -> None:
    async with running_host(create_app(APPS / "basic", allowed_hosts=("devbox.internal",))) as host:
        url = f"{host.base_url}/api/hello"
        async with client.get(url, headers={"Host": "DevBox.Internal:7071"}) as served:
            assert served.status == 200
        async with client.get(url, headers={"Origin": "https://devbox.internal:3000"}) as served:
            assert served.status == 200
        async with client.get(url, headers={"Host": "other.internal"}) as refused:
            assert refused.status == 403
    async with running_host(create_app(APPS / "basic", allowed_hosts=("*",))) as host:
        async with client.get(f"{host.base_url}/api/hello", headers={"Host": "anything.example"}) as served:
            assert served.status == 200


@pytest.mark.e2e
def test_the_cli_takes_allow_host_and_the_bind_address() -> None:
    """``python -m devhost.functions --allow-host NAME``, as a developer runs it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "devhost.functions", "--app-dir", str(APPS / "basic"), "--port", "0"]
    command += ["--allow-host", "devbox.internal"]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        base_url = ""
        while not base_url and time.monotonic() < deadline:
            line = process.stdout.readline()
            if "listening on " in line:
                base_url = line.split("listening on ", 1)[1].split()[0]
        assert base_url, "the dev host did not start"

        def status(host: str) -> int:
            import urllib.error
            import urllib.request

            request = urllib.request.Request(f"{base_url}/api/hello", headers={"Host": host})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own URL
                    return int(response.status)
            except urllib.error.HTTPError as error:
                return error.code

        assert [status(h) for h in ("devbox.internal", "127.0.0.1", "evil.example")] == [200, 200, 403]
    finally:
        process.terminate()
        process.wait(timeout=20)


async def test_the_stack_gives_both_servers_the_same_names(client: aiohttp.ClientSession) -> None:
    """``python -m devhost --allow-host NAME``: the emulator and the dev host accept the same names
    (the bind address, the public host, loopback names and NAME), and refuse the rest."""
    from devhost.stack import StackConfig, running_stack

    config = StackConfig(
        host="127.0.0.1",
        public_host="127.0.0.1",
        functions_port=0,
        emulator_port=0,
        app_dir=APPS / "basic",
        load_local_settings=False,
        storage=False,
        allowed_hosts=("devbox.internal",),
    )
    async with running_stack(config) as stack:
        urls = (f"{stack.functions_url}/api/hello", f"{stack.emulator_url}/api/health")
        for url in urls:
            for host, expected in (("devbox.internal", 200), ("localhost", 200), ("evil.example", 403)):
                async with client.get(url, headers={"Host": host}) as response:
                    assert response.status == expected, (url, host)
