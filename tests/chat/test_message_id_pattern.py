"""A message id is exactly 13 digits and 8 hex digits: ``"<id>\\n"`` is not one (issue 22).

``^...$`` with ``re.match`` also accepted a trailing newline, so a history request could page
from ``"<id>\\n"``, a key that no message has.
"""

from __future__ import annotations

import json

import pytest

from chat import history, ids
from tests.chat.conftest import Invoke
from tests.chat.recorder import RestRecorder
from tests.chat.upstream_requests import http_request

VALID = ids.new_message_id(1_795_000_000_000)


def test_a_message_id_with_a_trailing_newline_is_not_a_message_id() -> None:
    assert ids.is_message_id(VALID) and history.valid_cursor(VALID)
    assert not ids.is_message_id(VALID + "\n")
    assert not history.valid_cursor(VALID + "\n")


@pytest.mark.asyncio
@pytest.mark.parametrize("cursor", ["before", "after"])
async def test_a_history_request_from_an_id_with_a_newline_is_refused(
    recorder: RestRecorder, invoke: Invoke, cursor: str
) -> None:
    body = json.dumps({cursor: VALID + "\n", "limit": 5}).encode()
    response = await invoke("chat_history", http_request("history", body))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {
        "kind": "error",
        "reason": "before and after must be message ids or null",
    }
