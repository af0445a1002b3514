"""Header bytes that are not UTF-8, sent over a real socket to the dev host serving a hub.

The service signs ``ce-connectionId`` as bytes, and an HTTP client can put any byte in a
header; aiohttp (the dev host) decodes such bytes as lone surrogates. A signed connect
whose ``ce-userId`` holds them must get a 400, not a 500 from a reply that cannot be
encoded, and the handler must not run.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.functions import create_app, running_host
from tests.upstream_requests import CONNECTION_STRING, ENDPOINT_HOST, PRIMARY_KEY, connect_body

APP = """
import azure.functions as func

from shared import ConnectEvent, ConnectResponse, WebPubSubHub

calls = []
hub = WebPubSubHub("demo", env={"WebPubSubConnectionString": %r})


@hub.on_connect
def connect(event: ConnectEvent) -> ConnectResponse:
    calls.append(event.context.user_id)
    return ConnectResponse(user_id=event.context.user_id)


app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(hub.blueprint)
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Iterator[Path]:
    """A one-hub app; the dev host imports it as ``function_app``, restored afterwards."""
    (tmp_path / "function_app.py").write_text(APP % CONNECTION_STRING)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    environ, path, module = dict(os.environ), list(sys.path), sys.modules.get("function_app")
    yield tmp_path
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    if module is None:
        sys.modules.pop("function_app", None)
    else:
        sys.modules["function_app"] = module


def raw_connect(port: int, user_id: bytes, connection_id: bytes = b"conn-1") -> bytes:
    signature = hmac.new(PRIMARY_KEY.encode(), connection_id, hashlib.sha256).hexdigest()
    body = connect_body()
    lines = [
        b"POST /api/demo/connect HTTP/1.1",
        b"Host: 127.0.0.1:%d" % port,
        b"ce-specversion: 1.0",
        b"ce-type: azure.webpubsub.sys.connect",
        b"ce-hub: demo",
        b"ce-connectionId: " + connection_id,
        b"ce-eventName: connect",
        b"ce-id: 1",
        b"ce-userId: " + user_id,
        b"ce-signature: sha256=" + signature.encode(),
        b"WebHook-Request-Origin: " + ENDPOINT_HOST.encode(),
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(body),
        b"Connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def send(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize(
    ("user_id", "connection_id"),
    [(b"al\xffice", b"conn-1"), (b"alice", b"conn-\xc3\x28")],
    ids=["ce-userId", "ce-connectionId"],
)
async def test_non_utf8_header_bytes_over_the_wire_are_a_400(
    app_dir: Path, user_id: bytes, connection_id: bytes
) -> None:
    async with running_host(create_app(app_dir, load_local_settings=False), log_routes=False) as host:
        app_module = sys.modules["function_app"]
        assert await send(host.port, raw_connect(host.port, b"alice")) == (200, b'{"userId":"alice"}')
        status, body = await send(host.port, raw_connect(host.port, user_id, connection_id))
    assert status == 400 and b"not valid UTF-8" in body
    assert app_module.calls == ["alice"]  # only the well-formed connect reached the handler
