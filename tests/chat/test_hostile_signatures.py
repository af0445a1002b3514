"""Signatures a visitor controls that are not ASCII: a 500 before issue 22, now simply "not valid".

The outside review found two 500s (``hmac.compare_digest`` raises ``TypeError`` on non-ASCII
text): a guest cookie that is ASCII on the wire but that ``SimpleCookie`` unescapes to ``é``
(849 of 20,922 fuzzed negotiate requests), and ``nameSig=%C3%A9`` in the client URL, which the
service passes to ``connect`` decoded (answered 500, retried three times with a traceback each).
"""

from __future__ import annotations

import base64
import json

import azure.functions as func
import pytest

from tests.chat.conftest import Invoke
from tests.chat.recorder import RestRecorder
from tests.chat.upstream_requests import connect_body, http_request

pytestmark = pytest.mark.asyncio

STALE_ID = "guest-AAAAAAAAAAAAAAAAAAAAAA"
HOSTILE_COOKIES = {
    # the review's cookie: octal escapes inside quotes, unescaped by SimpleCookie to "é"
    "octal-escaped": f'chat_guest="{STALE_ID}.\\303\\251"',
    "raw-non-ascii": f"chat_guest={STALE_ID}.é",
    # the signature's length (43) with non-ASCII letters and digits
    "accented-43": f"chat_guest={STALE_ID}." + "é" * 43,
    "fullwidth-43": f'chat_guest="{STALE_ID}.' + "\\357\\274\\241" * 43 + '"',  # U+FF21
    "arabic-digits-43": f"chat_guest={STALE_ID}." + "\u0661" * 43,
    "escaped-quote": f'chat_guest="{STALE_ID}.\\"\\\\"',
}
HOSTILE_NAME_SIGNATURES = {
    "e-acute": "é",  # what the service hands connect for nameSig=%C3%A9
    "accented-43": "é" * 43,
    "fullwidth-43": "\uff21" * 43,
    "arabic-digits-43": "\u0661" * 43,
    "still-percent-encoded": "%C3%A9",
}


def negotiate_request(headers: dict[str, str]) -> func.HttpRequest:
    return func.HttpRequest(
        method="GET",
        url="http://localhost:7071/api/negotiate",
        headers=headers,
        params={"name": "Eve"},
        body=b"",
    )


@pytest.mark.parametrize("cookie", HOSTILE_COOKIES.values(), ids=HOSTILE_COOKIES.keys())
async def test_a_non_ascii_guest_cookie_gets_a_fresh_guest_id_not_a_500(
    recorder: RestRecorder, invoke: Invoke, cookie: str
) -> None:
    response = await invoke("negotiate", negotiate_request({"Cookie": cookie}))
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["guest"] is True and body["userId"].startswith("guest-")
    assert body["userId"] != STALE_ID
    assert response.headers["Set-Cookie"].startswith(f"chat_guest={body['userId']}.")


@pytest.mark.parametrize("signature", HOSTILE_NAME_SIGNATURES.values(), ids=HOSTILE_NAME_SIGNATURES.keys())
async def test_a_non_ascii_name_signature_is_ignored_and_connect_still_accepts(
    recorder: RestRecorder, invoke: Invoke, signature: str
) -> None:
    body = connect_body(query={"room": ["lobby"], "name": ["Admin"], "nameSig": [signature]})
    response = await invoke("chat_connect", http_request("connect", body, user_id="guest-eve"))
    assert response.status_code == 200
    assert json.loads(response.get_body())["userId"] == "guest-eve"
    state = json.loads(base64.b64decode(response.headers["ce-connectionState"]))
    assert (state["room"], state["name"]) == ("lobby", "guest-eve")  # the id, not the unsigned "Admin"
