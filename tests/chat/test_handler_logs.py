"""The chat handlers log a connection id only escaped (``shared.logsafe.log_safe``, issue 22).

``ce-connectionId`` is covered by the signature, but the service signs whatever id it has, and a
signed request with U+2028, NEL or U+202E in it made the handlers' failure logs start a forged
line or reorder what a reader sees. Each handler's failure path is taken here by a REST endpoint
that refuses every call (it expects another key).
"""

from __future__ import annotations

import json
import logging

import pytest

from tests.chat.conftest import Invoke
from tests.chat.recorder import RestRecorder
from tests.chat.upstream_requests import OTHER_KEY, http_request

pytestmark = pytest.mark.asyncio

HOSTILE_ID = "conn-1\u2028[2099-01-01] admin signed in\u0085\u202eevil\x1b[31m\r\nx"
RAW = ("\u2028", "\u0085", "\u202e", "\x1b", "\r", "\n")
EVENTS = {
    "typing": ("chat_typing", "typing", b"{}", "application/json"),
    "connected": ("chat_connected", "connected", b"{}", "application/json"),
    "disconnected": ("chat_disconnected", "disconnected", b"{}", "application/json"),
    "members": ("chat_members", "members", b"{}", "application/json"),
    "chat": ("chat_chat", "chat", json.dumps({"text": "hi"}).encode(), "application/json"),
    "message": ("chat_message", "message", b"hi", "text/plain"),
}


@pytest.mark.parametrize(("function", "event", "body", "content_type"), EVENTS.values(), ids=EVENTS.keys())
async def test_a_failure_log_escapes_the_connection_id(
    recorder: RestRecorder,
    invoke: Invoke,
    caplog: pytest.LogCaptureFixture,
    function: str,
    event: str,
    body: bytes,
    content_type: str,
) -> None:
    recorder.access_key = OTHER_KEY  # every REST call of the app is now refused: the failure path
    caplog.set_level(logging.INFO, logger="chat")
    request = http_request(event, body, connection_id=HOSTILE_ID, content_type=content_type)
    response = await invoke(function, request)
    assert response.status_code < 500
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("chat")]
    assert any("connection=conn-1\\u2028[2099-01-01]" in line for line in logged), logged
    for line in logged:
        assert not any(char in line for char in RAW), line
