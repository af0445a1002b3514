"""A user id too long for the connection state is a 400 at connect, not a 500 (found by the fuzz).

The chat keeps the display name in the connection state (4 KiB at most), and the name falls back
to the user id; a signed connect for a 5,000-character user id (``ce-userId``, or the token's
``sub`` when the header is absent) made the reply impossible to build: a 500 that the service
retries. Negotiate never issues such ids; the emulator's inspector can mint a token for any.
"""

from __future__ import annotations

import json

import pytest

from tests.chat.conftest import Invoke
from tests.chat.recorder import RestRecorder
from tests.chat.upstream_requests import connect_body, http_request

pytestmark = pytest.mark.asyncio
LONG = "u" * 5000


@pytest.mark.parametrize("where", ["ce-userId", "sub claim"])
async def test_an_overlong_user_id_is_refused_with_400(
    recorder: RestRecorder, invoke: Invoke, where: str
) -> None:
    if where == "ce-userId":
        request = http_request("connect", connect_body(), user_id=LONG)
    else:
        request = http_request("connect", connect_body(claims={"sub": [LONG]}), user_id=None)
    response = await invoke("chat_connect", request)
    assert response.status_code == 400
    assert b"user id too long" in response.get_body()


async def test_the_longest_id_negotiate_can_issue_is_accepted(recorder: RestRecorder, invoke: Invoke) -> None:
    user_id = "aad-" + "p" * 128 + "x" * 124  # 256 characters
    response = await invoke("chat_connect", http_request("connect", connect_body(), user_id=user_id))
    assert response.status_code == 200 and json.loads(response.get_body())["userId"] == user_id
