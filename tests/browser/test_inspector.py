"""The emulator's inspector page in headless Chromium, against the real stack.

Two real clients (the official Python client SDK and a raw aiohttp WebSocket, both
negotiating through the function app: the template's test app, hub ``relay``) talk while the
inspector is open: their upstream
calls, REST calls and frames must show up within a second, as text, and no secret (the
access key, a client token, a ``ce-signature``) may reach the page's DOM or its stream.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import aiohttp
import pytest

import tests.e2e.clients as e2e_clients
from shared.verify import build_signature
from tests.e2e.clients import JSON_SUBPROTOCOL, RawClient, SdkClient
from tests.e2e.stack_process import StackProcess

from .chromium import ARTIFACTS, WAIT_MS

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

HUB = "relay"  # the app's only hub
LOBBY = {"room": "lobby"}
XSS = "<img src=x onerror=alert(1)>"
LIVE_WITHIN = 1.0  # seconds from a client's send to the inspector showing it


@pytest.fixture
def client_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every client access URL the app hands out during the test (they carry the tokens)."""
    urls: list[str] = []
    original = e2e_clients.negotiate

    async def recording(*args: Any, **kwargs: Any) -> dict:
        body = await original(*args, **kwargs)
        urls.append(body["url"])
        return body

    monkeypatch.setattr(e2e_clients, "negotiate", recording)
    return urls


class Inspector:
    """The inspector page, with everything its stream delivered and anything that went wrong."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.stream: list[str] = []
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.panel_urls: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))

        async def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)

        def on_websocket(ws: Any) -> None:
            if ws.url.endswith("/inspector/stream"):
                ws.on("framereceived", lambda payload: self.stream.append(str(payload)))

        page.on("websocket", on_websocket)

        async def on_response(response: Any) -> None:
            if response.url.endswith("/inspector/token") and response.ok:
                self.panel_urls.append((await response.json())["url"])

        page.on("response", on_response)

    def events(self) -> list[dict]:
        found = []
        for text in self.stream:
            found.extend(json.loads(text).get("events", []))
        return found

    def traffic(self, kind: str, *, has_text: str | None = None, event: str | None = None) -> Any:
        selector = f'#events li[data-kind="{kind}"]' + (f'[data-event="{event}"]' if event else "")
        return self.page.locator(selector, has_text=has_text) if has_text else self.page.locator(selector)

    async def everything_shown(self) -> str:
        """The DOM as HTML plus the text of form fields (their values are not in the HTML)."""
        html = await self.page.content()
        values = await self.page.evaluate(
            "() => [...document.querySelectorAll('input, textarea, select')].map(e => e.value).join('\\n')"
        )
        return html + "\n" + values


def secrets_of(stack: StackProcess, urls: list[str], connection_ids: set[str]) -> dict[str, str]:
    """What must never be shown, by label (the labels go into assertion messages, not the values)."""
    found = {"access key": stack.access_key}
    for n, url in enumerate(urls):
        found[f"client token {n}"] = url.split("access_token=", 1)[1].split("&", 1)[0]
    for connection_id in connection_ids:
        signature = build_signature([stack.access_key], connection_id)
        found[f"ce-signature of {connection_id}"] = signature.split("=", 1)[1]
    return found


def remaining_ms(deadline: float) -> float:
    return max(1.0, (deadline - time.monotonic()) * 1000)


async def test_inspector_shows_two_clients_talking_live_with_secrets_redacted(
    browser: Any, stack: StackProcess, http: aiohttp.ClientSession, client_urls: list[str]
) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    inspector = Inspector(await context.new_page())
    page = inspector.page
    alice = bob = None
    names = uuid.uuid4().hex[:6]  # in user names
    marker = "m" + uuid.uuid4().hex[:8]  # in message texts only
    try:
        # The dev stack's banner links the inspector.
        line = stack.wait_for_output(r"^Inspector: ")
        inspector_url = line.split()[1]
        assert inspector_url == stack.emulator_url + "/"
        response = await page.goto(inspector_url)
        assert response is not None and response.status == 200
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp
        await expect(page.locator("#live")).to_have_text("live", timeout=WAIT_MS)
        hub = page.locator(f'#hubs article[data-hub="{HUB}"]')
        await expect(hub.locator("h3")).to_have_text(HUB)
        await expect(hub.locator("table").first).to_contain_text("/api/{hub}/{event}")
        await expect(hub.locator("table").first).to_contain_text("connect, connected, disconnected")

        # Two real clients join: their connect/connected calls and their rows appear live.
        started = time.monotonic()
        alice = await SdkClient.connect(http, stack, f"alice{names}", params=LOBBY)
        bob = await RawClient.connect(http, stack, f"bob{names}", subprotocol=JSON_SUBPROTOCOL, params=LOBBY)
        deadline = time.monotonic() + LIVE_WITHIN
        for user in (alice.user_id, bob.user_id):
            await expect(inspector.traffic("upstream", event="connected", has_text=user)).to_have_count(
                1, timeout=remaining_ms(deadline)
            )
            row = page.locator(f'#hubs article[data-hub="{HUB}"] table.connections tr', has_text=user)
            await expect(row).to_contain_text("lobby", timeout=remaining_ms(deadline))
        await expect(
            page.locator(f'#hubs article[data-hub="{HUB}"] table.connections tr', has_text=bob.user_id)
        ).to_contain_text(JSON_SUBPROTOCOL)
        assert time.monotonic() - started < 30

        # Bob sends markup; measured from the send: his frame, the say event's upstream call,
        # the app's REST broadcast and the frame to both clients, all within a second.
        text = f"{XSS} {marker}"
        sent = time.monotonic()
        await bob.send_event("say", {"text": text})
        deadline = sent + LIVE_WITHIN
        await expect(inspector.traffic("in", has_text=marker)).to_have_count(
            1, timeout=remaining_ms(deadline)
        )
        await expect(inspector.traffic("upstream", event="say", has_text=bob.user_id)).to_have_count(
            1, timeout=remaining_ms(deadline)
        )
        broadcast = inspector.traffic("out", has_text=marker)
        await expect(broadcast).to_have_count(1, timeout=remaining_ms(deadline))
        await expect(broadcast).to_contain_text("to 2 connections", timeout=remaining_ms(deadline))
        await expect(inspector.traffic("rest", has_text="/groups/lobby/:send").first).to_be_attached(
            timeout=remaining_ms(deadline)
        )
        elapsed = time.monotonic() - sent
        assert elapsed < LIVE_WITHIN, f"took {elapsed:.2f}s"
        await alice.wait_for(e2e_clients.said(text, sender=bob.user_id))

        # Alice (the SDK) answers; her frame and event show up the same way.
        sent = time.monotonic()
        await alice.send_event("say", {"text": f"reply {marker}"})
        deadline = sent + LIVE_WITHIN
        await expect(inspector.traffic("in", has_text=f"reply {marker}")).to_have_count(
            1, timeout=remaining_ms(deadline)
        )
        await expect(inspector.traffic("upstream", event="say", has_text=alice.user_id)).to_have_count(
            1, timeout=remaining_ms(deadline)
        )

        # Markup from a client is text: no element was created from it and no script ran.
        frame_in = inspector.traffic("in", has_text=marker).first
        await expect(frame_in.locator("summary")).to_contain_text(XSS)
        assert await page.locator("#events img, #events script").count() == 0

        # An upstream call's details: headers and bodies, the signature redacted.
        call = inspector.traffic("upstream", event="say", has_text=bob.user_id)
        await call.locator("summary").click()
        await expect(call.locator("table").first).to_contain_text("ce-signature")
        await expect(call.locator("table").first).to_contain_text("«redacted»")
        await expect(call.locator("pre").first).to_contain_text(marker)

        # The client panel offers the app's hub (it has no other): connect as a chosen user and
        # subprotocol, send to the room.
        await expect(page.get_by_label("Hub", exact=True)).to_have_value(HUB)
        await page.get_by_label("User", exact=True).fill(f"carol{names}")
        await page.get_by_label("Groups").fill("lobby")
        await page.get_by_role("button", name="Connect", exact=True).click()
        await expect(page.locator("#client-status")).to_contain_text(
            f"connected to {HUB} ({JSON_SUBPROTOCOL})", timeout=WAIT_MS
        )
        await page.get_by_label("Frame to send").fill(
            json.dumps(
                # a chat event, not sendToGroup: the chat's connect gives clients no roles
                {"type": "event", "event": "chat", "dataType": "json", "data": {"text": f"panel {marker}"}}
            )
        )
        await page.get_by_role("button", name="Send", exact=True).click()
        await bob.wait_for(e2e_clients.chat(f"panel {marker}"))
        await expect(page.locator("#client-log")).to_contain_text(f"panel {marker}", timeout=WAIT_MS)
        await expect(page.locator("#client-log")).to_contain_text('"event":"connected"')
        await expect(
            page.locator(f'#hubs article[data-hub="{HUB}"] table.connections tr', has_text=f"carol{names}")
        ).to_have_count(1, timeout=WAIT_MS)
        await page.get_by_role("button", name="Disconnect", exact=True).click()
        await expect(page.locator("#client-status")).to_have_text("not connected", timeout=WAIT_MS)

        # The reliable subprotocol: the panel acknowledges what it receives by itself.
        reliable = "json.reliable.webpubsub.azure.v1"
        await page.get_by_label("Subprotocol").select_option(reliable)
        await page.get_by_role("button", name="Connect", exact=True).click()
        await expect(page.locator("#client-status")).to_contain_text(f"({reliable})", timeout=WAIT_MS)
        await bob.send_event("say", {"text": f"to the reliable panel {marker}"})
        await expect(page.locator("#client-log")).to_contain_text(
            f"to the reliable panel {marker}", timeout=WAIT_MS
        )
        await expect(inspector.traffic("in", has_text='"sequenceAck"').first).to_be_attached(timeout=WAIT_MS)
        await page.get_by_role("button", name="Disconnect", exact=True).click()
        await expect(page.locator("#client-status")).to_have_text("not connected", timeout=WAIT_MS)

        await page.screenshot(path=str(ARTIFACTS / "inspector.png"), full_page=True)

        # Nothing secret anywhere: not in the DOM, not in any stream message.
        events = inspector.events()
        connection_ids = {e["connectionId"] for e in events if e.get("connectionId")}
        assert {alice.user_id, bob.user_id} <= {e.get("userId") for e in events}
        assert len(client_urls) >= 2 and len(inspector.panel_urls) == 2
        secrets = secrets_of(stack, client_urls + inspector.panel_urls, connection_ids)
        shown = await inspector.everything_shown()
        stream = "\n".join(inspector.stream)
        leaks = [label for label, value in secrets.items() if value in shown or value in stream]
        assert leaks == [], f"secrets shown by the inspector: {leaks}"
        assert "access_token=ey" not in shown and "access_token=ey" not in stream

        assert inspector.dialogs == [], "a dialog opened: client text ran as script"
        assert inspector.problems == []
    finally:
        for client in (alice, bob):
            if client is not None:
                await client.close()
        await context.close()
