"""A hostile web page in headless Chromium cannot drive the local emulator.

Two attacks on a loopback server with a public key (issue: "any web page can drive the
local emulator"):

* **cross-site WebSocket**: a page on ``http://evil.test`` opens ``ws://localhost:<port>``
  (browsers apply no CORS to WebSockets; only ``Origin`` tells);
* **DNS rebinding**: the page's own host name ``evil.test:<port>`` now resolves to
  127.0.0.1, so its WebSocket and ``fetch`` calls are same-origin for the browser; only
  ``Host`` tells.

Playwright serves the hostile page itself (``page.route``) and Chromium resolves
``evil.test`` to 127.0.0.1 (``--host-resolver-rules``), so nothing leaves the machine. The
control case, a page on ``http://localhost`` (the chat page's origin), still connects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devhost.emulator import RunningEmulator, start_emulator
from devhost.emulator.tokens import issue_client_token

from .conftest import HUB, PRIMARY, make_config

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
EVIL = "evil.test"
LOCAL_NETWORK_ACCESS_FEATURES = (
    "LocalNetworkAccessChecks",
    "LocalNetworkAccessChecksWebSockets",
    "BlockInsecurePrivateNetworkRequests",
    "PrivateNetworkAccessSendPreflights",
    "PrivateNetworkAccessRespectPreflightResults",
)
PAGE = "<!doctype html><title>hostile</title><p>hello"

# Runs in the page: open a WebSocket, report whether it opened; then try a same-origin fetch.
PROBE = """async ([wsUrl, fetchUrl]) => {
  const opened = await new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, "json.webpubsub.azure.v1");
    ws.onopen = () => { ws.close(); resolve(true); };
    ws.onerror = () => resolve(false);
  });
  let status = null;
  if (fetchUrl) {
    try { status = (await fetch(fetchUrl)).status; } catch (e) { status = "blocked"; }
  }
  return { opened, status };
}"""


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--host-resolver-rules=MAP {EVIL} 127.0.0.1",
        # Chromium's own Local Network Access checks would also stop a public page from
        # reaching loopback, but other browsers lack them and a user may allow them: switch
        # them off so the test sees the emulator's defence alone.
        "--disable-features=" + ",".join(LOCAL_NETWORK_ACCESS_FEATURES),
    ]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def emulator_on_a_port() -> AsyncIterator[RunningEmulator]:
    async with start_emulator(make_config()) as emu:
        yield emu


async def probe(
    browser: Any, page_origin: str, ws_host: str, port: int, fetch_path: str = ""
) -> dict[str, Any]:
    """Load a page at ``page_origin`` and let it try the emulator at ``ws_host:port``."""
    # the attacker knows the public default key and mints a token for the host it uses
    audience = f"http://{ws_host}:{port}/client/hubs/{HUB}"
    token = issue_client_token(PRIMARY, audience, user_id="alice", roles=["webpubsub.sendToGroup"])
    ws_url = f"ws://{ws_host}:{port}/client/hubs/{HUB}?access_token={token}"
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.route(f"{page_origin}/", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
        await page.goto(f"{page_origin}/")
        return dict(await page.evaluate(PROBE, [ws_url, fetch_path]))
    finally:
        await context.close()


async def test_a_cross_site_page_cannot_open_a_websocket(
    browser: Any, emulator_on_a_port: RunningEmulator
) -> None:
    port = emulator_on_a_port.port
    assert (await probe(browser, f"http://{EVIL}:8000", "localhost", port))["opened"] is False
    # control: a page served from a loopback origin (like the chat page) connects
    assert (await probe(browser, "http://localhost:8000", "localhost", port))["opened"] is True


async def test_a_rebound_host_name_cannot_use_the_emulator(
    browser: Any, emulator_on_a_port: RunningEmulator
) -> None:
    port = emulator_on_a_port.port
    result = await probe(browser, f"http://{EVIL}:{port}", EVIL, port, fetch_path="/api/health")
    assert result == {"opened": False, "status": 403}
