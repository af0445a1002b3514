"""The inspector's server side: redaction, loopback/Origin guards, the token API and the stream.

The page itself is tested in Chromium (``tests/browser/test_inspector.py``); here real
aiohttp clients, the official server SDK and a recording upstream talk to a real emulator.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devhost.emulator import RunningEmulator
from devhost.emulator.inspector.guard import host_is_loopback
from devhost.emulator.inspector.redact import MAX_BODY_CHARS, REDACTED, Redactor
from shared.verify import build_signature

from .conftest import HUB, PRIMARY, SECONDARY, client_url, service

JSON_PROTOCOL = "json.webpubsub.azure.v1"
A_JWT = jwt.encode({"sub": "alice", "exp": 2_000_000_000}, PRIMARY, algorithm="HS256")


# -- redaction -----------------------------------------------------------------------------


def test_secret_headers_lose_their_values_and_others_keep_theirs() -> None:
    redactor = Redactor([PRIMARY])
    shown = dict(
        redactor.headers(
            {
                "ce-signature": "sha256=abc",
                "Authorization": "Bearer x",
                "Cookie": "a=b",
                "x-functions-key": "k",
                "ce-userId": "alice",
                "ce-connectionState": "eyJyb29tIjoibG9iYnkifQ==",
            }
        )
    )
    assert shown["ce-signature"] == shown["Authorization"] == shown["Cookie"] == REDACTED
    assert shown["x-functions-key"] == REDACTED
    assert shown["ce-userId"] == "alice"
    assert shown["ce-connectionState"] == "eyJyb29tIjoibG9iYnkifQ=="  # base64 state, not a JWT


def test_urls_lose_secret_query_values() -> None:
    redactor = Redactor([PRIMARY])
    url = redactor.url(f"http://h/api/chat/{{event}}?code=fnkey&room=lobby&access_token={A_JWT}")
    assert "fnkey" not in url and A_JWT not in url
    assert "room=lobby" in url and "code=" in url


def test_bodies_lose_secret_members_jwts_and_the_keys_wherever_they_are() -> None:
    redactor = Redactor([PRIMARY, SECONDARY])
    body = json.dumps(
        {
            "token": A_JWT,
            "nested": [{"reconnectionToken": "r3c0nn"}, f"text with {SECONDARY} inside"],
            "note": f"see {A_JWT}",
            "cs": f"Endpoint=http://x;AccessKey={PRIMARY};Version=1.0;",
            "text": "<b>hello</b>",
        }
    ).encode()
    shown = redactor.body(body)
    for secret in (A_JWT, "r3c0nn", PRIMARY, SECONDARY):
        assert secret not in shown
    assert json.loads(shown)["text"] == "<b>hello</b>"
    assert redactor.body(f"plain text {PRIMARY} and access_token={A_JWT}") == (
        f"plain text {REDACTED} and access_token={REDACTED}"
    )


def test_bodies_are_bounded_and_binary_is_summarised() -> None:
    redactor = Redactor([PRIMARY])
    assert redactor.body(b"\xff\x00\xfe") == "(3 bytes of binary data)"
    long = redactor.body("x" * (MAX_BODY_CHARS + 10))
    assert long.startswith("x" * MAX_BODY_CHARS) and long.endswith("(10 more characters)")
    # too deep for json: still redacted as text, never an error
    assert PRIMARY not in redactor.body("[" * 5000 + PRIMARY)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=_json, where=st.integers(min_value=0, max_value=10_000), prefix=st.text(max_size=8))
def test_a_key_planted_anywhere_in_a_body_is_never_shown(value: Any, where: int, prefix: str) -> None:
    """Any JSON (or text) with the access key in some string: shown without it, never an error."""
    redactor = Redactor([PRIMARY])
    planted = {"payload": value, prefix: f"{prefix}{PRIMARY}"} if where % 2 else [value, prefix + PRIMARY]
    text = json.dumps(planted)
    cut = where % (len(text) + 1)
    for body in (text, text.encode(), text[:cut] + PRIMARY + text[cut:]):
        assert PRIMARY not in redactor.body(body)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost:8080", True),
        ("127.0.0.1:8080", True),
        ("127.1.2.3", True),
        ("[::1]:8080", True),
        ("app.localhost:1", True),
        ("evil.example:8080", False),
        ("10.0.0.5:8080", False),
        ("localhost.evil.example", False),
        ("", False),
    ],
)
def test_only_loopback_host_names_pass(host: str, loopback: bool) -> None:
    assert host_is_loopback(host) is loopback


# -- HTTP guards and the token API -------------------------------------------------------------


def base(emu: RunningEmulator) -> str:
    return f"http://127.0.0.1:{emu.port}"


async def test_page_has_a_strict_csp_and_refuses_foreign_host_names(bare_emulator: RunningEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(base(bare_emulator) + "/") as page:
            assert page.status == 200
            csp = page.headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
            assert page.headers["X-Content-Type-Options"] == "nosniff"
            assert "inspector.js" in await page.text()
        async with http.get(base(bare_emulator) + "/", headers={"Host": "evil.example"}) as rebound:
            assert rebound.status == 403
        async with http.get(base(bare_emulator) + "/inspector/../app.py") as escape:
            assert escape.status == 404
        async with http.get(base(bare_emulator) + "/inspector/secret.txt") as unknown:
            assert unknown.status == 404


async def test_stream_needs_the_pages_own_origin(bare_emulator: RunningEmulator) -> None:
    url = base(bare_emulator) + "/inspector/stream"
    async with aiohttp.ClientSession() as http:
        for headers in (
            {},
            {"Origin": "http://evil.example"},
            {"Origin": f"http://localhost:{bare_emulator.port}"},  # another loopback origin
            {"Origin": "http://evil.example", "Host": "evil.example"},
        ):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(url, headers=headers)
            assert refused.value.status == 403, headers
        assert not bare_emulator.hubs.watchers.active


async def test_token_api_refuses_bad_input_with_400_and_foreign_origins_with_403(
    bare_emulator: RunningEmulator,
) -> None:
    url = base(bare_emulator) + "/inspector/token"
    origin = {"Origin": base(bare_emulator)}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"hub": HUB}, headers={"Origin": "http://evil.example"}) as r:
            assert r.status == 403
        for body in (
            {"hub": "1bad"},
            {"hub": HUB, "userId": 5},
            {"hub": HUB, "roles": "webpubsub.sendToGroup"},
            {"hub": HUB, "groups": [""]},
            {"hub": HUB, "groups": ["g"] * 21},
            [HUB],
        ):
            async with http.post(url, json=body, headers=origin) as r:
                assert r.status == 400, body
                assert "error" in await r.json()
        for text in ("not json", "[" * 8000, "{}" + " " * 9000):
            headers = {**origin, "Content-Type": "application/json"}
            async with http.post(url, data=text, headers=headers) as r:
                assert r.status == 400, text[:20]
        async with http.post(url, data="hub=chat", headers=origin) as r:
            assert r.status == 400  # form posts (which need no CORS preflight) are not accepted

        async with http.post(url, json={"hub": HUB, "userId": "panel-user"}, headers=origin) as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
            panel_url = (await r.json())["url"]
        ws = await http.ws_connect(panel_url, protocols=[JSON_PROTOCOL])
        hello = json.loads((await ws.receive(timeout=3)).data)
        assert hello["event"] == "connected" and hello["userId"] == "panel-user"
        await ws.close()


# -- the stream ----------------------------------------------------------------------------------


class Stream:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello
        self.raw: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []

    async def until(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        """The first event (so far or to come) that matches ``predicate``."""
        found = await self._read_until(lambda: next((e for e in self.events if predicate(e)), None), timeout)
        return found

    async def until_state(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        """The first state snapshot (so far or to come) with a connection matching ``predicate``."""

        def match() -> dict[str, Any] | None:
            connections = (c for s in self.states for h in s["hubs"] for c in h["connections"])
            return next((c for c in connections if predicate(c)), None)

        return await self._read_until(match, timeout)

    async def _read_until(self, find: Any, timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (found := find()) is None:
            msg = await self.ws.receive(timeout=max(0.01, deadline - loop.time()))
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
            self.raw.append(msg.data)
            batch = json.loads(msg.data)
            self.events.extend(batch.get("events", []))
            if "hubs" in batch:
                self.states.append(batch)
        return found


@asynccontextmanager
async def open_stream(emu: RunningEmulator) -> AsyncIterator[Stream]:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(base(emu) + "/inspector/stream", origin=base(emu))
        first = await ws.receive(timeout=3)
        stream = Stream(ws, json.loads(first.data))
        stream.raw.append(first.data)
        try:
            yield stream
        finally:
            await ws.close()


async def test_stream_shows_upstream_rest_and_frames_with_secrets_redacted(emulator: RunningEmulator) -> None:
    emu = emulator
    assert not emu.hubs.watchers.active  # nobody watches: the emulator reports nothing
    async with open_stream(emu) as stream:
        assert stream.hello["type"] == "hello"
        (chat,) = [h for h in stream.hello["hubs"] if h["name"] == HUB]
        assert chat["handlers"][0]["systemEvents"] == ["connect", "connected", "disconnected"]
        assert emu.hubs.watchers.active

        url = client_url(emu, user_id="alice", roles=["webpubsub.sendToGroup"], groups=["room"])
        token = url.split("access_token=", 1)[1]
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url, protocols=[JSON_PROTOCOL])
            connection_id = json.loads((await ws.receive(timeout=3)).data)["connectionId"]
            await ws.send_json({"type": "event", "event": "hello", "dataType": "text", "data": "hi <b>"})
            await ws.send_json(
                {"type": "sendToGroup", "group": "room", "dataType": "text", "data": "to room"}
            )
            await asyncio.to_thread(service(emu).send_to_all, {"server": "says hi"})

            validation = await stream.until(lambda e: e["kind"] == "upstream" and e["event"] == "validate")
            assert validation["method"] == "OPTIONS" and validation["status"] == 200
            upstream = await stream.until(lambda e: e["kind"] == "upstream" and e["event"] == "hello")
            assert upstream["connectionId"] == connection_id and upstream["userId"] == "alice"
            assert upstream["status"] == 200 and upstream["ms"] >= 0
            assert dict(upstream["request"]["headers"])["ce-signature"] == REDACTED
            assert upstream["request"]["body"] == "hi <b>"

            frame_in = await stream.until(lambda e: e["kind"] == "frame" and "to room" in e["data"])
            assert frame_in["dir"] == "in" and frame_in["connectionId"] == connection_id
            rest = await stream.until(
                lambda e: e["kind"] == "rest" and e["url"].startswith(f"/api/hubs/{HUB}/")
            )
            assert rest["status"] == 202 and rest["hub"] == HUB and rest["method"] == "POST"
            assert dict(rest["request"]["headers"])["Authorization"] == REDACTED
            assert json.loads(rest["request"]["body"]) == {"server": "says hi"}
            sent = await stream.until(lambda e: e.get("dir") == "out" and "says hi" in e["data"])
            assert sent["recipients"] == 1 and sent["connectionId"] == connection_id
            echoed = await stream.until(lambda e: e.get("dir") == "out" and "to room" in e["data"])
            assert '"from": "group"' in echoed["data"] and echoed["recipients"] == 1

            member = await stream.until_state(lambda c: c["id"] == connection_id)
            assert member["userId"] == "alice" and member["groups"] == ["room"]
            assert member["protocol"] == JSON_PROTOCOL and member["since"] > 0
            await ws.close()

        everything = "\n".join(stream.raw)
        for secret in (
            PRIMARY,
            SECONDARY,
            token,
            *build_signature([PRIMARY, SECONDARY], connection_id).split(","),
        ):
            assert secret.split("=", 1)[-1] not in everything
    for _ in range(50):  # the page left: the feed stops watching
        if not emu.hubs.watchers.active:
            break
        await asyncio.sleep(0.02)
    assert not emu.hubs.watchers.active


async def test_text_that_utf8_cannot_carry_does_not_stop_the_stream(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    async with open_stream(emu) as stream:
        url = client_url(emu, user_id="carol", roles=["webpubsub.joinLeaveGroup"])
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url, protocols=[JSON_PROTOCOL])
            await ws.receive(timeout=3)
            # valid UTF-8 on the wire, a lone surrogate once parsed
            await ws.send_str('{"type":"joinGroup","group":"g\\ud800"}')
            await ws.send_str('{"type":"joinGroup","group":"after"}')
            odd = await stream.until(lambda e: e.get("dir") == "in" and "joinGroup" in e["data"])
            assert "\ud800" in odd["data"]
            await stream.until(lambda e: e.get("dir") == "in" and '"after"' in e["data"])
            await ws.close()


async def test_a_late_page_gets_recent_history(bare_emulator: RunningEmulator) -> None:
    emu = bare_emulator
    async with open_stream(emu) as first:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(client_url(emu, user_id="bob"), protocols=[JSON_PROTOCOL])
            await ws.receive(timeout=3)
            await first.until(lambda e: e.get("dir") == "out" and e["userId"] == "bob")
            async with open_stream(emu) as late:
                assert any(e.get("userId") == "bob" for e in late.hello["events"])
            await ws.close()


# -- the hook point ----------------------------------------------------------------------------


class Recorder:
    """A ``Watcher`` that keeps what it is told."""

    def __init__(self) -> None:
        self.out: list[tuple[str, object, int]] = []
        self.changes: list[str] = []

    def upstream_call(self, exchange: object) -> None: ...

    def rest_call(self, exchange: object) -> None: ...

    def frame_in(self, conn: object, data: object) -> None: ...

    def frame_out(self, conn: Any, frame: object, recipients: int, at: float) -> None:
        self.out.append((conn.connection_id, frame, recipients))

    def state_changed(self, hub: str) -> None:
        self.changes.append(hub)


def test_a_broadcast_is_reported_once_with_its_recipient_count_and_nothing_when_unwatched() -> None:
    from devhost.emulator.hubs import Connection, HubRegistry
    from devhost.emulator.messages import DataType, Delivery, Payload

    hubs = HubRegistry()
    hub = hubs.get_or_create(HUB)
    conns = [
        Connection(hub=HUB, connection_id=f"c{i}", user_id=None, subprotocol=JSON_PROTOCOL) for i in range(5)
    ]
    recorder = Recorder()
    hub.add(conns[0])  # before anyone watches: not reported
    hubs.watchers.add(recorder)
    for conn in conns[1:]:
        hub.add(conn)
    assert recorder.changes == [HUB] * 4

    first, second = (Delivery(Payload(DataType.TEXT, text)) for text in ("one", "two"))
    for conn in conns:
        conn.deliver(first)
    conns[0].send_frame('{"type":"ack","ackId":1,"success":true}')
    for conn in conns[:2]:
        conn.deliver(second)
    hubs.watchers.flush_delivery()
    assert recorder.out == [
        ("c0", '{"type":"ack","ackId":1,"success":true}', 1),  # reported at once
        ("c0", first, 5),  # reported when the next broadcast started
        ("c0", second, 2),  # reported by the flush
    ]

    hubs.watchers.remove(recorder)
    assert not hubs.watchers.active
    for conn in conns:
        conn.deliver(first)
    hub.remove(conns[0])
    hubs.watchers.flush_delivery()
    assert len(recorder.out) == 3 and recorder.changes == [HUB] * 4


def test_the_page_script_never_parses_text_as_html() -> None:
    """Behaviour is checked in Chromium; this keeps the HTML-parsing sinks out of the source."""
    import re
    from pathlib import Path

    import devhost.emulator.inspector as inspector

    script = (Path(inspector.__file__).parent / "static" / "inspector.js").read_text()
    code = "\n".join(line.split("//", 1)[0] for line in script.splitlines())
    sinks = re.findall(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function", code)
    assert sinks == []
