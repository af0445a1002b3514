"""Events that did not come from the emulator are refused, and nothing reaches the room.

Requests are posted straight to the running function app (the template's test app, hub
``relay``), with the headers the service would send (built by ``tests/upstream_requests.py``
with ``hmac``, not ``shared.verify``). A correctly signed copy of the same request is the
control: it *is* broadcast, so the silence after a refused one means something.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.upstream_requests import OTHER_KEY, connect_body, event_headers

from .clients import RawClient, from_user, presence, said
from .stack_process import StackProcess

pytestmark = pytest.mark.e2e

HUB = "relay"


def _origin(stack: StackProcess) -> str:
    return urlsplit(stack.emulator_url).hostname or ""


async def _post(
    http: aiohttp.ClientSession, stack: StackProcess, event: str, body: bytes, **options: object
) -> int:
    headers = event_headers(
        event, hub=HUB, origin=_origin(stack), connection_id=f"forged-{uuid.uuid4().hex}", **options
    )
    async with http.post(stack.api(f"{HUB}/{event}"), data=body, headers=headers) as response:
        await response.read()
        return response.status


LOBBY = {"room": "lobby"}
FORGERIES = {
    "no-signature": {"keys": ()},
    "bad-signature": {"keys": (), "extra": {"ce-signature": "sha256=" + "0" * 64}},
    "signed-with-another-key": {"keys": (OTHER_KEY,)},
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
async def test_forged_user_event_is_refused_and_not_broadcast(
    stack: StackProcess, http: aiohttp.ClientSession, forgery: dict
) -> None:
    forged_user = f"admin-{uuid.uuid4().hex[:6]}"
    listener = await RawClient.connect(http, stack, f"listener-{uuid.uuid4().hex[:6]}", params=LOBBY)
    try:
        body = json.dumps({"text": "forged message"}).encode()
        status = await _post(http, stack, "say", body, user_id=forged_user, **forgery)
        assert status == 401
        text_status = await _post(
            http, stack, "message", b"forged text", user_id=forged_user, content_type="text/plain", **forgery
        )
        assert text_status == 401
        await listener.assert_never(from_user(forged_user))

        # Control: signed with the emulator's key, the very same request is accepted and broadcast.
        accepted = await _post(http, stack, "say", body, user_id=forged_user, keys=(stack.access_key,))
        assert accepted in (200, 204)
        await listener.wait_for(said("forged message", forged_user, "lobby"))
    finally:
        await listener.close()


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
async def test_forged_system_events_are_refused(
    stack: StackProcess, http: aiohttp.ClientSession, forgery: dict
) -> None:
    forged_user = f"ghost-{uuid.uuid4().hex[:6]}"
    listener = await RawClient.connect(http, stack, f"listener-{uuid.uuid4().hex[:6]}", params=LOBBY)
    try:
        body = connect_body(claims={"sub": [forged_user]})
        assert await _post(http, stack, "connect", body, user_id=forged_user, **forgery) == 401
        assert await _post(http, stack, "connected", b"{}", user_id=forged_user, **forgery) == 401
        assert await _post(http, stack, "disconnected", b"{}", user_id=forged_user, **forgery) == 401
        await listener.assert_never(from_user(forged_user))

        signed = await _post(http, stack, "connected", b"{}", user_id=forged_user, keys=(stack.access_key,))
        assert signed in (200, 204)
        await listener.wait_for(presence("joined", forged_user, "lobby"))
    finally:
        await listener.close()
