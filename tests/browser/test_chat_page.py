"""The chat page in headless Chromium against the real stack (emulator + function app).

Two browser contexts (a desktop window and a phone-sized one) chat through the page itself.
Screenshots go to ``test-artifacts/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.clients import redact
from tests.e2e.fixtures import new_access_key
from tests.e2e.stack_process import REPO, StackProcess, start_stack_process

pytestmark = [pytest.mark.browser, pytest.mark.e2e]  # e2e too: it starts real servers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-quic",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts"
XSS = "<img src=x onerror=alert(1)>"
PHONE = {
    "viewport": {"width": 390, "height": 760},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
PHONE_DARK = {**PHONE, "color_scheme": "dark"}
DESKTOP = {"viewport": {"width": 1100, "height": 720}}
WAIT_MS = 15_000


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Window:
    """One browser context with one page, recording what would signal a broken page."""

    def __init__(self, page: object, label: str) -> None:
        self.page = page
        self.label = label
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        # Chromium's console names a failed WebSocket's URL, token included: redact it.
        page.on("pageerror", lambda error: self.problems.append(redact(f"page error: {error}")))

        def on_console(message: object) -> None:
            if message.type == "error":
                self.problems.append(redact(f"console error: {message.text}"))

        page.on("console", on_console)

        async def on_dialog(dialog: object) -> None:
            self.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)

    @classmethod
    async def open(cls, browser: object, stack: StackProcess, label: str, **options: object) -> Window:
        context = await browser.new_context(**options)
        window = cls(await context.new_page(), label)
        response = await window.page.goto(stack.page_url)
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        return window

    async def join(self, name: str, room: str = "lobby") -> None:
        from playwright.async_api import expect

        page = self.page
        await page.get_by_role("textbox", name="Your name").fill(name)
        await page.get_by_role("combobox", name="Room").select_option(room)
        await page.get_by_role("button", name="Join").click()
        await expect(page.locator("#status")).to_have_text(f"Connected as {name} in {room}", timeout=WAIT_MS)

    def log(self) -> object:
        return self.page.get_by_role("log", name="Messages")

    async def screenshot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def close(self) -> None:
        await self.page.context.close()


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:4]}"


async def test_two_pages_chat_with_presence_and_user_text_shown_only_as_text(
    browser: object, stack: StackProcess
) -> None:
    from playwright.async_api import expect

    alice_name, bob_name = unique("Alice"), unique("Bob")
    alice = await Window.open(browser, stack, "alice", **DESKTOP)
    bob = await Window.open(browser, stack, "bob", **PHONE_DARK)
    try:
        # Alice uses only the keyboard: the name field has focus on load, Enter joins, and
        # the message box takes the focus once connected.
        await expect(alice.page.get_by_role("textbox", name="Your name")).to_be_focused()
        await alice.page.keyboard.type(alice_name)
        await alice.page.keyboard.press("Enter")
        await expect(alice.page.locator("#status")).to_have_text(
            f"Connected as {alice_name} in lobby", timeout=WAIT_MS
        )
        await expect(alice.page.get_by_role("textbox", name="Message")).to_be_focused()
        await expect(alice.log()).to_contain_text("You joined lobby")

        await bob.join(bob_name)
        await expect(alice.log()).to_contain_text(f"{bob_name} joined", timeout=WAIT_MS)

        await alice.page.keyboard.type("Hello Bob, welcome!")
        await alice.page.keyboard.press("Enter")
        await expect(bob.log().locator(".msg .text", has_text="Hello Bob, welcome!")).to_be_visible(
            timeout=WAIT_MS
        )
        await expect(bob.log().locator(".msg", has_text="Hello Bob, welcome!").locator(".from")).to_have_text(
            alice_name
        )
        await expect(alice.page.get_by_role("textbox", name="Message")).to_have_value("")

        # Bob (phone) sends markup with the Send button: it must arrive as text, not as an element.
        await bob.page.get_by_role("textbox", name="Message").fill(XSS)
        await bob.page.get_by_role("button", name="Send").click()
        for window in (alice, bob):
            text = window.log().locator(".msg .text", has_text="onerror")
            await expect(text).to_have_text(XSS, timeout=WAIT_MS)
            assert await window.page.locator("#log img, #log script").count() == 0
            assert await text.evaluate("node => node.childElementCount") == 0
        await expect(alice.log().locator(".msg.mine")).to_have_count(1)
        await expect(bob.log().locator(".msg.mine")).to_have_count(1)
        await expect(bob.log().locator(".msg.sending")).to_have_count(0)

        await alice.screenshot("chat-desktop")
        await bob.screenshot("chat-phone-dark")

        # Text the server refuses: the send is marked failed with the server's reason.
        await alice.page.get_by_role("textbox", name="Message").evaluate(
            "node => node.removeAttribute('maxlength')"
        )
        await alice.page.get_by_role("textbox", name="Message").fill("y" * 2001)
        await alice.page.keyboard.press("Enter")
        failed = alice.log().locator(".msg.failed")
        await expect(failed).to_contain_text(
            "Not sent: message is longer than 2000 characters", timeout=WAIT_MS
        )
        await expect(failed.get_by_role("button", name="Retry")).to_be_visible()
        await expect(failed.get_by_role("button", name="Edit")).to_be_visible()
        await bob.page.wait_for_timeout(300)
        assert await bob.log().locator(".msg .text", has_text="yyyy").count() == 0

        await alice.screenshot("chat-desktop-failed-send")

        await bob.page.get_by_role("button", name="Leave").click()
        await expect(bob.page.get_by_role("textbox", name="Your name")).to_be_focused()
        await expect(bob.page.locator("#status")).to_have_text("Not connected")
        await expect(alice.log()).to_contain_text(f"{bob_name} left", timeout=WAIT_MS)
        await alice.screenshot("chat-desktop-after-leave")

        assert alice.dialogs == [] and bob.dialogs == [], "a dialog opened: user text ran as script"
        assert alice.problems == [] and bob.problems == []
    finally:
        await alice.close()
        await bob.close()


async def test_join_form_shows_errors_and_a_refused_name(browser: object, stack: StackProcess) -> None:
    from playwright.async_api import expect

    window = await Window.open(browser, stack, "errors", **PHONE)
    try:
        page = window.page
        await page.get_by_role("button", name="Join").click()
        await expect(page.get_by_role("alert")).to_contain_text("Enter a name")
        await expect(page.get_by_role("textbox", name="Your name")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_role("textbox", name="Your name")).to_be_focused()
        await window.screenshot("join-error-phone")
        # A room the server does not know: negotiate answers 400 and the page shows why.
        await page.get_by_role("combobox", name="Room").evaluate(
            "select => { const o = document.createElement('option'); o.value = o.textContent = 'attic';"
            " select.append(o); }"
        )
        await page.get_by_role("textbox", name="Your name").fill(unique("Dan"))
        await page.get_by_role("combobox", name="Room").select_option("attic")
        await page.get_by_role("button", name="Join").click()
        await expect(page.get_by_role("alert")).to_have_text("unknown room", timeout=WAIT_MS)
        await expect(page.locator("#join-panel")).to_be_visible()
        await expect(page.locator("#status")).to_have_text("Not connected")
        assert [p for p in window.problems if "400" not in p] == []
    finally:
        await window.close()


@pytest.fixture
async def restartable_stack(tmp_path: Path) -> AsyncIterator[dict[str, StackProcess]]:
    """A stack of its own, which the test stops and starts again on the same ports."""
    running = start_stack_process(tmp_path, access_key=new_access_key())
    holder = {"stack": running}
    try:
        yield holder
    finally:
        assert holder["stack"].stop(signal.SIGTERM) == 0


async def test_page_reconnects_with_backoff_after_the_service_restarts(
    browser: object, restartable_stack: dict[str, StackProcess], tmp_path: Path
) -> None:
    from playwright.async_api import expect

    first: StackProcess = restartable_stack["stack"]
    functions_port = first.functions_url.rsplit(":", 1)[1]
    emulator_port = first.emulator_url.rsplit(":", 1)[1]
    name = unique("Carol")
    window = await Window.open(browser, first, "reconnect", **DESKTOP)
    try:
        await window.join(name, "random")
        first.sync_output()
        assert len(re.findall(r"GET /api/negotiate 200", first.text())) == 1

        assert first.stop(signal.SIGINT) == 0  # Ctrl-C: both servers go away
        await expect(window.page.locator("#status")).to_contain_text("Reconnecting in", timeout=WAIT_MS)
        await expect(window.log()).to_contain_text("Connection lost.")
        await expect(window.page.get_by_role("textbox", name="Message")).to_be_disabled()
        await expect(window.page.get_by_role("button", name="Reconnect now")).to_be_visible()
        await window.screenshot("chat-reconnecting")

        second = start_stack_process(
            tmp_path,
            access_key=new_access_key(),  # a new key: the page must negotiate a new token
            extra_args=("--functions-port", functions_port, "--emulator-port", emulator_port),
        )
        restartable_stack["stack"] = second
        await expect(window.page.locator("#status")).to_have_text(
            f"Connected as {name} in random", timeout=45_000
        )
        second.wait_for_output(r"GET /api/negotiate 200")  # a new token, from the new app
        await expect(window.log()).to_contain_text("You joined random")
        await window.page.get_by_role("textbox", name="Message").fill("back again")
        await window.page.keyboard.press("Enter")
        await expect(window.log().locator(".msg .text", has_text="back again")).to_be_visible(timeout=WAIT_MS)
        await expect(window.log().locator(".msg.sending")).to_have_count(0)
        await window.screenshot("chat-reconnected")
        # A refused WebSocket upgrade is reported on the console by Chromium; nothing else may be.
        assert [p for p in window.problems if "WebSocket connection" not in p and "net::ERR" not in p] == []
    finally:
        await window.close()
