"""A request aiohttp cannot parse costs one escaped log line, not a traceback (found by the fuzz).

Sent over a raw socket to the dev host: header values with control characters, an overlong
header line, a broken request line. Each gets its 400; the log (as ``python -m devhost`` and
``python -m devhost.functions`` configure it) shows one line per request without a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.functions import create_app, running_host
from devhost.logs import BAD_REQUEST_FILTER

APPS = Path(__file__).parent / "apps"
MALFORMED = {
    "control-character": b"GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Odd: a\x05\x1b[31mb\r\n\r\n",
    "overlong-header": b"GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: "
    + b"x" * 70_000
    + b"\r\n\r\n",
    "broken-request-line": b"GET /api/hello\x01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
}


@pytest.fixture
def configured_like_the_cli() -> Iterator[None]:
    server_logger = logging.getLogger("aiohttp.server")
    server_logger.addFilter(BAD_REQUEST_FILTER)
    yield
    server_logger.removeFilter(BAD_REQUEST_FILTER)


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_request_is_a_400_and_one_log_line(
    configured_like_the_cli: None, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    async with running_host(create_app(APPS / "basic"), log_routes=False) as host:
        reader, writer = await asyncio.open_connection("127.0.0.1", host.port)
        writer.write(request_bytes)
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
        writer.close()
        await asyncio.sleep(0.05)
    assert status_line.split(b" ")[1] in (b"400", b"431")
    records = [r for r in caplog.records if r.name == "aiohttp.server" and r.levelno >= logging.WARNING]
    assert records, "aiohttp reported nothing"
    for record in records:
        assert record.exc_info is None and record.exc_text is None
        assert record.levelno == logging.WARNING
        line = record.getMessage()
        assert line.startswith("Error handling request from 127.0.0.1: 4")
        assert "\n" not in line and "\x1b" not in line and len(line) < 300
