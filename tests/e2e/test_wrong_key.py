"""A misconfigured app (the template's test app, hub ``relay``): the emulator signs with its key,
the app holds another one.

Every event the emulator delivers then fails ``ce-signature`` verification: ``connect`` is
answered 401, so the emulator refuses the WebSocket upgrade with 401 and no one ever joins.
"""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.upstream_requests import connect_body, event_headers

from .fixtures import new_access_key
from .stack_process import StackProcess, start_stack_process

pytestmark = pytest.mark.e2e

HUB = "relay"
CONNECT_REFUSED = re.compile(rf"POST /api/{HUB}/connect 401\b")


@pytest.fixture(scope="module")
def wrong_key_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack_process(
        tmp_path_factory.mktemp("wrong-key"), access_key=new_access_key(), app_access_key=new_access_key()
    )
    try:
        yield running
    finally:
        code = running.stop(signal.SIGTERM)
        assert code == 0, running.text()
        assert running.access_key not in running.text()
        assert running.app_access_key not in running.text()


def _emulator_signed_url(stack: StackProcess, user: str) -> str:
    """A client URL signed with the *emulator's* key, as a correctly configured app would mint."""
    from azure.messaging.webpubsubservice import WebPubSubServiceClient

    service = WebPubSubServiceClient.from_connection_string(stack.connection_string, hub=HUB)
    token = service.get_client_access_token(user_id=user)
    return token["url"] + "&room=lobby"


async def _upgrade_status(http: aiohttp.ClientSession, url: str) -> int:
    try:
        ws = await http.ws_connect(url, protocols=("json.webpubsub.azure.v1",))
    except aiohttp.WSServerHandshakeError as refused:
        return refused.status  # not re-raised: its message holds the token
    await ws.close()
    return 101


async def test_connect_is_refused_by_the_app_so_the_upgrade_fails_with_401(
    wrong_key_stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    wrong_key_stack.sync_output()
    refusals_before = len(CONNECT_REFUSED.findall(wrong_key_stack.text()))
    url = _emulator_signed_url(wrong_key_stack, f"eve-{uuid.uuid4().hex[:6]}")
    assert await _upgrade_status(http, url) == 401
    # The emulator accepted the token and asked the app, which refused the unverifiable event.
    wrong_key_stack.sync_output()
    assert len(CONNECT_REFUSED.findall(wrong_key_stack.text())) == refusals_before + 1
    assert f"POST /api/{HUB}/connected" not in wrong_key_stack.text()


async def test_tokens_from_negotiate_are_refused_by_the_emulator(
    wrong_key_stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    async with http.get(
        wrong_key_stack.api("negotiate"), params={"name": "dave", "room": "lobby"}
    ) as response:
        assert response.status == 200  # the app can still mint tokens, with the wrong key
        url = (await response.json())["url"]
    wrong_key_stack.sync_output()
    connect_calls_before = wrong_key_stack.text().count(f"POST /api/{HUB}/connect ")
    assert await _upgrade_status(http, url) == 401
    wrong_key_stack.sync_output()
    assert wrong_key_stack.text().count(f"POST /api/{HUB}/connect ") == connect_calls_before


EVENTS = {
    "connect": ("application/json", connect_body()),
    "connected": ("application/json", b"{}"),
    "disconnected": ("application/json", b"{}"),
    "message": ("text/plain", b"hello"),
    "say": ("application/json", b'{"text": "hello"}'),
}


@pytest.mark.parametrize("event", EVENTS)
async def test_every_event_signed_with_the_emulator_key_is_refused(
    wrong_key_stack: StackProcess, http: aiohttp.ClientSession, event: str
) -> None:
    content_type, body = EVENTS[event]
    origin = urlsplit(wrong_key_stack.emulator_url).hostname or ""

    async def post(key: str) -> int:
        headers = event_headers(event, hub=HUB, origin=origin, keys=(key,), content_type=content_type)
        async with http.post(wrong_key_stack.api(f"{HUB}/{event}"), data=body, headers=headers) as response:
            await response.read()
            return response.status

    assert await post(wrong_key_stack.access_key) == 401
    if event == "connect":
        # Control: the key the app holds does verify (connect needs no REST call back).
        assert await post(wrong_key_stack.app_access_key) == 200
