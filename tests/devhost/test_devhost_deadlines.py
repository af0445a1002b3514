"""Slow clients are cut off; slow functions are not (issue 22).

The outside review held 300 sockets open for more than 95 s by sending half a request. Now a
request's head must be complete ``headers`` seconds after the connection opened (or after the
previous answer), and its body ``body`` seconds after the head; a function may still take as long
as it needs. Driven over raw sockets, with deadlines of a second or two.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devhost.functions import RunningHost, create_app, running_host
from devhost.functions.deadlines import RequestDeadlines

APPS = Path(__file__).parent / "apps"
HEAD_SECONDS = 1.0
BODY_SECONDS = 1.5
SLACK = 1.5  # scheduling on a busy machine
POST_HEAD = b"POST /api/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"

pytestmark = pytest.mark.e2e


@pytest.fixture
async def host() -> AsyncIterator[RunningHost]:
    deadlines = RequestDeadlines(headers=HEAD_SECONDS, body=BODY_SECONDS)
    async with running_host(create_app(APPS / "basic", deadlines=deadlines), log_routes=False) as running:
        yield running


@pytest.fixture
async def slow_host() -> AsyncIterator[RunningHost]:
    deadlines = RequestDeadlines(headers=HEAD_SECONDS, body=BODY_SECONDS)
    async with running_host(create_app(APPS / "slow", deadlines=deadlines), log_routes=False) as running:
        yield running


async def until_closed(reader: asyncio.StreamReader, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), timeout=limit):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"still open after {limit} s; received {received!r}") from None
    return received, time.monotonic() - started


async def stalled(port: int, first_bytes: bytes) -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(first_bytes)
        await writer.drain()
        return await until_closed(reader, HEAD_SECONDS + BODY_SECONDS + SLACK + 5)
    finally:
        writer.transport.abort()


@pytest.mark.parametrize(
    "first_bytes",
    [b"", b"GET /api/hello HTT", POST_HEAD + b"Content-Length: 5\r\nX-Half: yes"],
    ids=["nothing", "half-a-request-line", "half-the-headers"],
)
async def test_a_client_that_does_not_finish_its_head_is_disconnected_in_time(
    host: RunningHost, first_bytes: bytes
) -> None:
    received, waited = await stalled(host.port, first_bytes)
    assert received == b""  # closed without an answer, like an idle keep-alive connection
    assert HEAD_SECONDS - 0.2 <= waited <= HEAD_SECONDS + SLACK


async def test_a_head_sent_one_byte_at_a_time_does_not_extend_the_deadline(host: RunningHost) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", host.port)
    started = time.monotonic()
    closed_after = None
    try:
        for byte in (POST_HEAD + b"X-Slow: " + b"a" * 100).decode():
            writer.write(byte.encode())
            await writer.drain()
            await asyncio.sleep(0.05)
            if reader.at_eof() or writer.transport.is_closing():
                break
        received, _ = await until_closed(reader, HEAD_SECONDS + SLACK)
        closed_after = time.monotonic() - started
    except ConnectionError:
        closed_after = time.monotonic() - started
        received = b""
    finally:
        writer.transport.abort()
    assert received == b""
    assert closed_after <= HEAD_SECONDS + SLACK


@pytest.mark.parametrize(
    "head",
    [
        POST_HEAD + b"Content-Length: 100\r\n\r\n" + b"x" * 10,
        POST_HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        POST_HEAD + b"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n",
    ],
    ids=["partial-body", "unfinished-chunked-body", "never-sent-after-100-continue"],
)
async def test_a_body_that_does_not_arrive_in_time_gets_408_and_a_hang_up(
    host: RunningHost, head: bytes
) -> None:
    received, waited = await stalled(host.port, head)
    answers = received.split(b"HTTP/1.1 ")
    assert answers[-1].startswith(b"408 "), received
    assert received.endswith(b"request body not received in time")
    assert BODY_SECONDS - 0.2 <= waited <= BODY_SECONDS + SLACK


async def test_three_hundred_stalled_sockets_are_all_closed(host: RunningHost) -> None:
    """The review's case: many sockets that stop halfway do not stay open."""

    async def one(index: int) -> tuple[bytes, float]:
        head = POST_HEAD if index % 2 else POST_HEAD + b"Content-Length: 9\r\n\r\nabc"
        return await stalled(host.port, head)

    results = await asyncio.gather(*(one(i) for i in range(300)))
    assert all(waited <= BODY_SECONDS + SLACK + 2 for _, waited in results)
    assert sum(received.startswith(b"HTTP/1.1 408 ") for received, _ in results) == 150


async def test_a_body_sent_slowly_but_in_time_is_served(host: RunningHost) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", host.port)
    try:
        writer.write(POST_HEAD + b"Content-Length: 10\r\nConnection: close\r\n\r\n")
        for piece in (b"01234", b"56789"):
            await asyncio.sleep(BODY_SECONDS / 3)
            writer.write(piece)
        received, _ = await until_closed(reader, 10)
    finally:
        writer.transport.abort()
    assert received.startswith(b"HTTP/1.1 200 ") and received.endswith(b"0123456789")


async def test_a_function_may_run_longer_than_both_deadlines(slow_host: RunningHost) -> None:
    seconds = HEAD_SECONDS + BODY_SECONDS + 0.5
    reader, writer = await asyncio.open_connection("127.0.0.1", slow_host.port)
    try:
        # then a quick one on the same keep-alive connection, after a pause below the head deadline
        for route, wait in (("slow/async", seconds), ("slow/sync", 0.05)):
            writer.write(f"GET /api/{route}?s={wait} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=wait + 10)
            assert head.startswith(b"HTTP/1.1 200 "), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            assert await reader.readexactly(length) == b"1"
            await asyncio.sleep(HEAD_SECONDS / 2)  # idle, but less than the head deadline
    finally:
        writer.transport.abort()


def test_deadlines_must_be_positive() -> None:
    for bad in ({"headers": 0}, {"body": -1.0}):
        with pytest.raises(ValueError, match="positive"):
            RequestDeadlines(**bad)  # type: ignore[arg-type]
