"""Tokens that are not ASCII, sent over raw sockets: the emulator answers 401, never a 500.

A JWT is ASCII. aiohttp hands header bytes that are not UTF-8 over as lone surrogates, on which
PyJWT raised ``UnicodeEncodeError``: a REST call with such a bearer token was a 500 with a
traceback (issue 22). The reconnection token is compared as bytes.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from devhost.emulator import RunningEmulator

REST_PATH = b"/api/hubs/chat/:send?api-version=2024-01-01"
UPGRADE = (
    b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)
HOSTILE_TOKENS = {
    "undecodable-byte": b"eyJ\xff.eyJ.sig",
    "only-undecodable": b"\xff\xfe",
    "utf8-accents": "é.é.é".encode(),
    "fullwidth": "ｅｙＪ.ｅｙＪ.ｓｉｇ".encode(),
}


async def status_of(port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
    return int(status_line.split(b" ", 2)[1])


@pytest.mark.parametrize("token", HOSTILE_TOKENS.values(), ids=HOSTILE_TOKENS.keys())
async def test_a_rest_call_with_a_non_ascii_bearer_token_is_a_401(
    bare_emulator: RunningEmulator, token: bytes
) -> None:
    request = (
        b"POST " + REST_PATH + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 2\r\nAuthorization: Bearer " + token + b"\r\n\r\nhi"
    )
    assert await status_of(bare_emulator.port, request) == 401


@pytest.mark.parametrize("token", HOSTILE_TOKENS.values(), ids=HOSTILE_TOKENS.keys())
async def test_a_client_with_a_non_ascii_token_is_refused_with_401(
    bare_emulator: RunningEmulator, token: bytes
) -> None:
    request = (
        b"GET /client/hubs/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + UPGRADE
        + b"Authorization: Bearer "
        + token
        + b"\r\n\r\n"
    )
    assert await status_of(bare_emulator.port, request) == 401


@pytest.mark.parametrize("token", ["%C3%A9", "%FF", "%EF%BC%A1" * 20])
async def test_a_non_ascii_reconnection_token_cannot_recover_and_is_no_error(
    bare_emulator: RunningEmulator, token: str
) -> None:
    url = (
        f"ws://127.0.0.1:{bare_emulator.port}/client/hubs/chat"
        f"?awps_connection_id=abc&awps_reconnection_token={token}"
    )
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, protocols=["json.reliable.webpubsub.azure.v1"])
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert closing.data == aiohttp.WSCloseCode.POLICY_VIOLATION
