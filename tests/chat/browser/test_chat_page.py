"""The chat page in headless Chromium against the real stack (emulator + function app).

Two browser contexts (a desktop window and a phone) chat through the page itself: grouping,
own messages, multi-line text, safe links, text never read as HTML, the length counter, a
refused message, the unread count in the title, the drawer on phones, reconnecting with a
live countdown and the offline state.
"""

from __future__ import annotations

import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.chat.e2e.fixtures import new_access_key
from tests.chat.e2e.stack_process import StackProcess, start_stack_process

from .pages import DESKTOP, PHONE, PHONE_DARK, WAIT_MS, Window, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]  # e2e too: it starts real servers

XSS = "<img src=x onerror=alert(1)>"


async def test_two_people_chat_grouped_with_safe_links_and_text_only(
    browser: Any, stack: StackProcess
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
        await expect(alice.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
        await expect(alice.message_box()).to_be_focused()
        await expect(alice.log()).to_contain_text("You joined #lobby")
        await expect(alice.page.locator("#identity")).to_have_text(re.compile(rf"{alice_name}\s*guest"))
        await expect(alice.page).to_have_title("#lobby · Web PubSub chat")

        await bob.join(bob_name)
        await expect(alice.log()).to_contain_text(f"{bob_name} joined", timeout=WAIT_MS)

        # Two messages in a row: one group (name and time once), bubbles sized to their text.
        await alice.say("Hello Bob!")
        await alice.say("Welcome to the lobby.")
        theirs = bob.log().locator(".msg:not(.mine)")
        await expect(theirs).to_have_count(2, timeout=WAIT_MS)
        await expect(bob.log().locator(".msg.first:not(.mine) .from")).to_have_text([alice_name])
        await expect(alice.log().locator(".msg.mine")).to_have_count(2)
        await expect(alice.log().locator(".msg.sending")).to_have_count(0, timeout=WAIT_MS)
        await expect(alice.log().locator(".day")).to_have_text(["Today"])
        bubble = await alice.log().locator(".msg.mine .text", has_text="Hello Bob!").bounding_box()
        log_box = await alice.log().bounding_box()
        assert bubble is not None and log_box is not None
        assert bubble["width"] < log_box["width"] * 0.3, "a short message gets a small bubble"
        assert bubble["x"] + bubble["width"] > log_box["x"] + log_box["width"] * 0.8, (
            "own messages sit on the right"
        )

        # Bob (phone) writes two lines: Shift+Enter is a new line, Enter sends.
        await bob.message_box().type("line one")
        await bob.message_box().press("Shift+Enter")
        await bob.message_box().type("line two")
        await bob.message_box().press("Enter")
        await expect(bob.message_box()).to_have_value("")
        two_lines = alice.log().locator(".msg .text", has_text="line one")
        await expect(two_lines).to_have_text("line one\nline two", timeout=WAIT_MS)

        # Links: http(s) only, as safe anchors; nothing else is interpreted.
        await alice.say("docs at https://example.com/docs?x=1. not javascript:alert(1) nor <b>bold</b>")
        text = bob.log().locator(".msg .text", has_text="docs at")
        await expect(text).to_have_text(
            "docs at https://example.com/docs?x=1. not javascript:alert(1) nor <b>bold</b>", timeout=WAIT_MS
        )
        links = text.locator("a")
        await expect(links).to_have_count(1)
        await expect(links).to_have_attribute("href", "https://example.com/docs?x=1")
        await expect(links).to_have_attribute("rel", "noopener noreferrer")
        await expect(links).to_have_attribute("target", "_blank")
        assert await text.locator("b").count() == 0

        # Markup arrives as text, not as an element.
        await bob.message_box().fill(XSS)
        await bob.page.get_by_role("button", name="Send").click()
        for window in (alice, bob):
            shown = window.log().locator(".msg .text", has_text="onerror")
            await expect(shown).to_have_text(XSS, timeout=WAIT_MS)
            assert await window.page.locator("#log img, #log script").count() == 0

        # Unread count in the title while Bob's tab is in the background.
        await bob.set_hidden(True)
        await alice.say("Are you there?")
        await expect(bob.page).to_have_title("(1) #lobby · Web PubSub chat", timeout=WAIT_MS)
        await alice.say("Still there?")
        await expect(bob.page).to_have_title("(2) #lobby · Web PubSub chat", timeout=WAIT_MS)
        await bob.set_hidden(False)
        await expect(bob.page).to_have_title("#lobby · Web PubSub chat")

        # The counter shows near the limit only.
        await alice.message_box().fill("a" * 1700)
        await expect(alice.page.locator("#counter")).to_have_text("")
        await alice.message_box().fill("a" * 1850)
        await alice.message_box().press("End")
        await alice.message_box().type("b")
        await expect(alice.page.locator("#counter")).to_have_text("1851 / 2000")
        await alice.message_box().fill("")

        await alice.screenshot("chat-desktop-light-conversation")
        await bob.screenshot("chat-phone-dark-conversation")

        # Text the server refuses: the send is marked failed with the server's reason.
        await alice.message_box().evaluate("node => node.removeAttribute('maxlength')")
        await alice.say("y" * 2001)
        failed = alice.log().locator(".msg.failed")
        await expect(failed).to_contain_text(
            "Not sent: message is longer than 2000 characters", timeout=WAIT_MS
        )
        await expect(failed.get_by_role("button", name="Retry")).to_be_visible()
        await failed.get_by_role("button", name="Edit").click()
        await expect(alice.message_box()).to_have_value("y" * 2001)
        await expect(failed).to_have_count(0)
        assert await bob.log().locator(".msg .text", has_text="yyyy").count() == 0

        # Bob leaves from the drawer (phone).
        await bob.page.get_by_role("button", name="Rooms and people").click()
        await bob.page.get_by_role("button", name="Leave chat").click()
        await expect(bob.page.get_by_role("textbox", name="Your name")).to_be_focused()
        await expect(bob.status).to_have_text("Not connected")
        await expect(alice.log()).to_contain_text(f"{bob_name} left", timeout=WAIT_MS)

        assert alice.dialogs == [] and bob.dialogs == [], "a dialog opened: user text ran as script"
        assert alice.problems == [] and bob.problems == []
    finally:
        await alice.close()
        await bob.close()


async def test_join_form_shows_errors_and_a_refused_name(browser: Any, stack: StackProcess) -> None:
    from playwright.async_api import expect

    window = await Window.open(browser, stack, "errors", **PHONE)
    try:
        page = window.page
        await page.get_by_role("button", name="Join").click()
        await expect(page.get_by_role("alert")).to_contain_text("Enter a name")
        await expect(page.get_by_role("textbox", name="Your name")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_role("textbox", name="Your name")).to_be_focused()
        await window.screenshot("join-error-phone")
        # A name the server refuses (a right-to-left override): the page shows the server's reason.
        await page.get_by_role("textbox", name="Your name").fill("\u202eevil")
        await page.get_by_role("button", name="Join").click()
        await expect(page.get_by_role("alert")).to_contain_text("name", timeout=WAIT_MS)
        await expect(page.locator("#join-panel")).to_be_visible()
        await expect(window.status).to_have_text("Not connected")
        assert [p for p in window.problems if "400" not in p] == []
    finally:
        await window.close()


async def test_rooms_and_people_are_a_sidebar_on_desktop_and_a_drawer_on_phones(
    browser: Any, stack: StackProcess
) -> None:
    from playwright.async_api import expect

    desktop = await Window.open(browser, stack, "desktop", **DESKTOP)
    phone = await Window.open(browser, stack, "phone", **PHONE)
    try:
        await desktop.join(unique("Dee"))
        await expect(desktop.page.get_by_role("navigation", name="Rooms and people")).to_be_visible()
        await expect(desktop.page.get_by_role("button", name="Rooms and people")).to_be_hidden()
        await expect(desktop.page.get_by_role("button", name="# lobby")).to_have_attribute(
            "aria-current", "true"
        )

        await phone.join(unique("Pip"))
        menu = phone.page.get_by_role("button", name="Rooms and people")
        drawer = phone.page.locator("#sidebar")
        await expect(drawer).to_be_hidden()
        await phone.open_drawer()
        await expect(menu).to_have_attribute("aria-expanded", "true")
        await expect(drawer).to_be_visible()
        await expect(phone.page.get_by_role("button", name="# lobby")).to_be_focused()
        await phone.screenshot("drawer-phone-light")
        await phone.page.keyboard.press("Escape")
        await expect(drawer).to_be_hidden()
        await expect(menu).to_have_attribute("aria-expanded", "false")
        await expect(menu).to_be_focused()
        assert desktop.problems == [] and phone.problems == []
    finally:
        await desktop.close()
        await phone.close()


@pytest.fixture
async def restartable_stack(tmp_path: Path) -> AsyncIterator[dict[str, StackProcess]]:
    """A stack of its own, which the test stops and starts again on the same ports."""
    running = start_stack_process(tmp_path, access_key=new_access_key())
    holder = {"stack": running}
    try:
        yield holder
    finally:
        assert holder["stack"].stop(signal.SIGTERM) == 0


def _seconds(status: str) -> int:
    match = re.search(r"Reconnecting in (\d+) s", status)
    assert match, status
    return int(match.group(1))


async def test_offline_state_and_reconnect_with_a_live_countdown(
    browser: Any, restartable_stack: dict[str, StackProcess], tmp_path: Path
) -> None:
    from playwright.async_api import expect

    first: StackProcess = restartable_stack["stack"]
    functions_port = first.functions_url.rsplit(":", 1)[1]
    emulator_port = first.emulator_url.rsplit(":", 1)[1]
    name = unique("Carol")
    window = await Window.open(browser, first, "reconnect", path="index#random", **DESKTOP)
    try:
        await window.join(name)
        await expect(window.status).to_have_text("Connected to #random")

        # The browser loses the network: a clear offline state, no retry loop; back online: reconnect.
        await window.page.context.set_offline(True)
        await expect(window.status).to_have_text("Offline: waiting for the network…", timeout=WAIT_MS)
        await expect(window.message_box()).to_be_disabled()
        await window.screenshot("chat-offline")
        await window.page.context.set_offline(False)
        await expect(window.status).to_have_text("Connected to #random", timeout=WAIT_MS)

        # Both servers go away (Ctrl-C): a countdown that really counts down.
        assert first.stop(signal.SIGINT) == 0
        await expect(window.status).to_contain_text("Reconnecting in", timeout=WAIT_MS)
        await expect(window.log()).to_contain_text("Connection lost.")
        await expect(window.message_box()).to_be_disabled()
        await expect(window.page.get_by_role("button", name="Reconnect now")).to_be_visible()
        # Let the backoff grow to a delay of several seconds, then watch it tick.
        for _ in range(3):
            await window.page.get_by_role("button", name="Reconnect now").click()
            await expect(window.status).to_contain_text("Reconnecting in", timeout=WAIT_MS)
        await window.page.wait_for_function(
            "() => /Reconnecting in ([3-9]|\\d\\d) s/.test(document.getElementById('status').textContent)",
            timeout=60_000,
        )
        announced = window.page.get_by_role("status")
        before = _seconds(await window.status.text_content() or "")
        spoken = await announced.text_content()
        await window.page.wait_for_timeout(1200)
        after = _seconds(await window.status.text_content() or "")
        assert after < before, f"the countdown did not move: {before} -> {after}"
        # Screen readers hear the change of state, not every tick of the countdown.
        assert (await announced.text_content()) == spoken
        assert spoken is not None and spoken.startswith("Disconnected.")
        await window.screenshot("chat-reconnecting")

        second = start_stack_process(
            tmp_path,
            access_key=new_access_key(),  # a new key: the page must negotiate a new token
            extra_args=("--functions-port", functions_port, "--emulator-port", emulator_port),
        )
        restartable_stack["stack"] = second
        await window.page.get_by_role("button", name="Reconnect now").click()
        await expect(window.status).to_have_text("Connected to #random", timeout=45_000)
        second.wait_for_output(r"GET /api/negotiate 200")  # a new token, from the new app
        await window.say("back again")
        await expect(window.log().locator(".msg .text", has_text="back again")).to_be_visible(timeout=WAIT_MS)
        await expect(window.log().locator(".msg.sending")).to_have_count(0, timeout=WAIT_MS)
        # A refused WebSocket upgrade or negotiate is reported on the console; nothing else may be.
        assert [p for p in window.problems if "WebSocket connection" not in p and "net::ERR" not in p] == []
    finally:
        await window.close()


async def test_a_rate_limited_message_is_the_one_marked_failed(browser: Any, stack: StackProcess) -> None:
    """The server's error reply names no message: the page pins it on the event it answers."""
    from playwright.async_api import expect

    window = await Window.open(browser, stack, "fast", path="index#general", **DESKTOP)
    try:
        await window.join(unique("Flash"))
        for n in range(11):  # the sample allows 10 messages per 10 s per connection
            await window.say(f"quick {n:02d}")
        failed = window.log().locator(".msg.failed")
        await expect(failed).to_have_count(1, timeout=WAIT_MS)
        await expect(failed.locator(".text")).to_have_text("quick 10")
        await expect(failed).to_contain_text("Not sent: slow down")
        await expect(window.log().locator(".msg.sending")).to_have_count(0, timeout=WAIT_MS)
        assert window.problems == []
    finally:
        await window.close()
