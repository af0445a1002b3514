"""The inspector hides signed values wherever they appear, ``nameSig`` included (issue 22).

The chat's client URL carries the display name with its signature (``nameSig``); the emulator
passes the query to ``connect``, and the inspector showed it in the clear: anyone looking at the
page (or a screenshot of it) could reuse a name signature. Now ``sig``, ``*Sig``, ``*_sig`` and
``*signature*`` names lose their values in URLs, headers, JSON members and ``name=value`` text.
"""

from __future__ import annotations

import json

import aiohttp
import pytest

from devhost.emulator import RunningEmulator
from devhost.emulator.inspector.redact import REDACTED, Redactor

from .conftest import PRIMARY, client_url
from .test_inspector import JSON_PROTOCOL, open_stream

SIGNED_NAMES = ["nameSig", "sig", "SIG", "userSig", "name_sig", "signature", "xSignature", "signatureV2"]
PLAIN_NAMES = ["name", "room", "design", "signal", "signedIn", "userId"]
SECRET = "s3cr3t-SIGNATURE-value"


@pytest.mark.parametrize("name", SIGNED_NAMES)
def test_a_signed_value_is_redacted_in_urls_headers_json_and_text(name: str) -> None:
    redactor = Redactor([PRIMARY])
    url = redactor.url(f"ws://localhost:8080/client/hubs/chat?room=lobby&name=Zo%C3%A9&{name}={SECRET}")
    assert SECRET not in url and "room=lobby" in url and "name=Zo%C3%A9" in url
    assert dict(redactor.headers({f"x-{name}": SECRET}))[f"x-{name}"] == REDACTED
    body = {"query": {"room": ["lobby"], "name": ["Zoé"], name: [SECRET]}, "claims": {"sub": ["guest-1"]}}
    shown = json.loads(redactor.body(json.dumps(body)))
    assert shown["query"] == {"room": ["lobby"], "name": ["Zoé"], name: REDACTED}
    assert redactor.body(f"room=lobby&{name}={SECRET}&x=1") == f"room=lobby&{name}={REDACTED}&x=1"


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_names_that_only_look_alike_are_shown(name: str) -> None:
    redactor = Redactor([PRIMARY])
    assert json.loads(redactor.body(json.dumps({name: "visible"}))) == {name: "visible"}


async def test_the_connect_event_of_a_chat_url_is_shown_without_its_name_signature(
    emulator: RunningEmulator,
) -> None:
    async with open_stream(emulator) as stream:
        url = client_url(emulator, user_id="guest-zoe") + f"&room=lobby&name=Zo%C3%A9&nameSig={SECRET}"
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url, protocols=[JSON_PROTOCOL])
            await ws.receive(timeout=3)
            connect = await stream.until(lambda e: e["kind"] == "upstream" and e["event"] == "connect")
            await ws.close()
        query = json.loads(connect["request"]["body"])["query"]
        assert query["name"] == ["Zoé"] and query["room"] == ["lobby"]
        assert query["nameSig"] == REDACTED
        assert SECRET not in "\n".join(stream.raw)
