"""A client names its own events: the emulator logs those names only escaped (issue 22).

The retry and failure lines of the upstream caller wrote the event name raw, so an event named
``"\\u2028[2099] ..."`` (or with U+202E) forged or disguised log lines, as the chat's connection
ids did. A name with a control character (CR, LF, NEL, ESC) or a lone surrogate cannot travel in
``ce-eventName`` at all: it crashed the connection's read loop with a traceback; now it is a
protocol violation (close 1007), like any other invalid field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from devhost.emulator import EventHandler, RunningEmulator, start_emulator

from .conftest import HUB, Upstream, client_url, make_config

RAW = ("\u2028", "\u0085", "\u202e", "\x1b", "\r", "\n")
FORWARDED = ["x\u2028[2099-01-01] forged line", "x\u202eevil\u2029y"]
REFUSED = ["x\u0085y", "x\x1b[31m", "x\r\ny", "x\ud800", "x\x7f"]


@pytest.fixture
async def failing_emulator(upstream: Upstream) -> AsyncIterator[RunningEmulator]:
    """Every user event is answered 503 once, retried, and answered 503 again."""
    upstream.recorder.event_answer = (503, b"", "text/plain", {})
    config = make_config(upstream_retry_delays=(0.01,))
    config.handlers.set_hub(HUB, [EventHandler(upstream.base_url + "/api/{hub}/{event}", frozenset())])
    async with start_emulator(config) as running:
        yield running


@pytest.mark.parametrize("event", FORWARDED)
async def test_a_failing_event_is_logged_with_its_name_escaped(
    failing_emulator: RunningEmulator, caplog: pytest.LogCaptureFixture, event: str
) -> None:
    caplog.set_level(logging.INFO, logger="devhost.emulator")
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(client_url(failing_emulator), protocols=["json.webpubsub.azure.v1"])
        await ws.receive_json(timeout=5)  # connected
        frame = {"type": "event", "event": event, "dataType": "text", "data": "hi", "ackId": 1}
        await ws.send_str(json.dumps(frame))
        ack = await ws.receive_json(timeout=10)
        await ws.close()
    assert (ack["type"], ack["success"]) == ("ack", False)
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("devhost.emulator")]
    assert any("retrying" in line for line in logged) and any("failed" in line for line in logged), logged
    for line in logged:
        assert not any(char in line for char in RAW), line


@pytest.mark.parametrize("event", REFUSED)
async def test_an_event_name_that_cannot_be_a_header_closes_the_connection_with_1007(
    failing_emulator: RunningEmulator, caplog: pytest.LogCaptureFixture, event: str
) -> None:
    caplog.set_level(logging.INFO, logger="devhost.emulator")
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(client_url(failing_emulator), protocols=["json.webpubsub.azure.v1"])
        await ws.receive_json(timeout=5)  # connected
        frame = {"type": "event", "event": event, "dataType": "text", "data": "hi", "ackId": 1}
        await ws.send_str(json.dumps(frame))
        closing = await ws.receive(timeout=5)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.INVALID_TEXT)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    for line in (r.getMessage() for r in caplog.records):
        assert not any(char in line for char in RAW), line
