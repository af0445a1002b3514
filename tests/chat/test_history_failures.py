"""What happens to a chat message when one of its two writes fails: the real handlers, a real
Azurite (history) and the REST recorder standing in for Web PubSub (broadcasts)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devhost.storage import RunningAzurite, start_azurite
from shared.tables import close_tables
from tests.chat.conftest import Invoke
from tests.chat.recorder import RestRecorder
from tests.chat.upstream_requests import http_request

pytestmark = pytest.mark.asyncio

STATE = {
    "ce-connectionState": base64.b64encode(json.dumps({"room": "lobby", "name": "Ann"}).encode()).decode()
}


@pytest.fixture
async def azurite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RunningAzurite]:
    running = await start_azurite("127.0.0.1", 0, None)
    monkeypatch.setenv("ChatStorage", running.connection_string)
    try:
        yield running
    finally:
        await close_tables()
        await running.stop()


def chat_request(text: str, ce_id: str) -> object:
    body = json.dumps({"text": text}).encode()
    return http_request("chat", body, user_id="guest-ann", extra={**STATE, "ce-id": ce_id})


async def stored_texts(invoke: Invoke) -> list[str]:
    response = await invoke("chat_history", http_request("history", b'{"limit": 100}', extra=STATE))
    return [m["text"] for m in json.loads(response.get_body())["messages"]]


async def test_a_failed_broadcast_leaves_no_trace_so_the_resent_message_goes_out(
    recorder: RestRecorder, invoke: Invoke, azurite: RunningAzurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_key = recorder.access_key
    monkeypatch.setattr(recorder, "access_key", "a-key-the-app-does-not-know-0123456789abcdef")
    failed = await invoke("chat_chat", chat_request("first try", "ce-1"))
    assert json.loads(failed.get_body()) == {"kind": "error", "reason": "message not delivered, try again"}
    assert await stored_texts(invoke) == []

    # The service would not retry that (the answer was a 200 with an error): the same event
    # arriving again is handled as new, because its claim was removed with the failure.
    monkeypatch.setattr(recorder, "access_key", app_key)
    again = await invoke("chat_chat", chat_request("first try", "ce-1"))
    assert again.status_code == 204
    assert [call.json()["text"] for call in recorder.sends()] == ["first try"]
    assert await stored_texts(invoke) == ["first try"]


async def test_a_message_whose_history_write_failed_is_repaired_by_the_retry_not_resent(
    recorder: RestRecorder, invoke: Invoke, azurite: RunningAzurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat.history import HistoryStore

    real_save = HistoryStore.save
    failures = []

    async def failing_save(self: HistoryStore, message: object) -> None:
        from azure.core.exceptions import ServiceRequestError

        failures.append(message)
        raise ServiceRequestError("storage went away")

    monkeypatch.setattr(HistoryStore, "save", failing_save)
    first = await invoke("chat_chat", chat_request("saved late", "ce-7"))
    assert first.status_code == 500 and b"storage" not in first.get_body()  # generic 500: the service retries
    assert len(recorder.sends()) == 1 and failures

    monkeypatch.setattr(HistoryStore, "save", real_save)
    retry = await invoke("chat_chat", chat_request("saved late", "ce-7"))
    assert retry.status_code == 204
    assert len(recorder.sends()) == 1, "the retry must not broadcast again"
    assert await stored_texts(invoke) == ["saved late"]
