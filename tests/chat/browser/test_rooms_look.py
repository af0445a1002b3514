"""Accessibility (axe-core) and screenshots of the rooms parts of the page, desktop and phone,
light and dark: the New room dialog, a private room with reactions and an edited and a
deleted message, its actions menu, the members panel, the delete confirmation and a direct
message. Any serious or critical axe finding fails the test. Screenshots go to
``test-artifacts/rooms-<size>-<what>.png`` for a person to look at.

Sam, the other person, is a plain WebSocket client (only his messages matter here); the page
is the only browser context, so each size costs one page.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from tests.chat.e2e.clients import RawClient, chat
from tests.chat.e2e.stack_process import StackProcess

from .helpers import axe_violations, message, message_actions, sees_people
from .pages import SIZES, WAIT_MS, Window, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def _sam_says(sam: RawClient, text: str) -> str:
    """Sam sends ``text``; returns its message id."""
    seen = len(sam.history)
    await sam.send_chat(text)
    return str((await sam.wait_for(chat(text, sender=sam.user_id), since=seen)).data["id"])


@pytest.mark.parametrize("size", list(SIZES))
async def test_rooms_accessible_and_photographed(
    browser: Any, stack: StackProcess, http: aiohttp.ClientSession, size: str
) -> None:
    from playwright.async_api import expect

    options = SIZES[size]
    phone = bool(options.get("is_mobile"))
    sam = await RawClient.connect(http, stack, unique("Sam"), "lobby")
    kim = await Window.open(browser, stack, size, **options)
    page = kim.page
    found: dict[str, list[str]] = {}
    try:
        await kim.join(unique("Kim"))
        if phone:
            await kim.open_drawer()
        await sees_people(kim, sam.name)

        # The New room dialog, filled in.
        await page.get_by_role("button", name="New room").click()
        dialog = page.get_by_role("dialog", name="New private room")
        await dialog.get_by_role("textbox", name="Room name").fill("Design review")
        await dialog.get_by_role("checkbox", name=sam.name).check()
        await kim.screenshot(f"rooms-{size}-new-room")
        found["new room dialog"] = await axe_violations(kim)
        await dialog.get_by_role("button", name="Create room").click()
        await expect(kim.status).to_have_text("Connected to Design review", timeout=WAIT_MS)
        room_id = await page.evaluate("() => decodeURIComponent(location.hash.slice(1))")

        # Sam comes in and talks; Kim answers, edits one, deletes one; both react.
        opened = await sam.request("open", {"room": room_id}, "opened")
        assert opened["room"]["kind"] == "private"
        first = await _sam_says(sam, "Morning! The mock-ups are in the shared folder.")
        await _sam_says(sam, "I left comments on the second screen.")
        await expect(message(kim, "second screen")).to_be_visible(timeout=WAIT_MS)
        await kim.say("Thanks Sam, looking now")
        await kim.say("This one was a mistake")
        await kim.say("The spacing on the cards feels tight to me")
        await expect(kim.log().locator(".msg.sending")).to_have_count(0, timeout=WAIT_MS)
        for emoji in ("👍", "🎉"):
            await sam.send_event("react", {"id": first, "emoji": emoji, "on": True})
        thumbs = message(kim, "mock-ups").locator("button.chip", has_text="👍")
        await expect(thumbs).to_have_count(1, timeout=WAIT_MS)
        await thumbs.click()
        await expect(thumbs).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
        await (await message_actions(kim, "tight to me")).get_by_role("menuitem", name="Edit").click()
        editor = kim.log().get_by_role("textbox", name="Edit message")
        await editor.fill("The spacing on the cards feels a little tight to me")
        await editor.press("Enter")
        await expect(message(kim, "a little tight").locator(".edited")).to_be_visible(timeout=WAIT_MS)
        await (await message_actions(kim, "a mistake")).get_by_role("menuitem", name="Delete").click()
        confirm = page.get_by_role("dialog", name="Delete your message?")
        await kim.screenshot(f"rooms-{size}-confirm")
        found["delete confirmation"] = await axe_violations(kim)
        await confirm.get_by_role("button", name="Delete").click()
        await expect(kim.log().locator(".tombstone")).to_have_count(1, timeout=WAIT_MS)
        await sam.send_chat("Agreed, I will loosen it up.")
        await expect(message(kim, "loosen it up")).to_be_visible(timeout=WAIT_MS)
        await page.mouse.move(0, 0)
        await kim.message_box().focus()
        await kim.screenshot(f"rooms-{size}-private-room")
        found["private room with reactions"] = await axe_violations(kim)

        # The actions menu of a message with reactions, and an edited mark showing its time.
        await message_actions(kim, "mock-ups")
        await kim.screenshot(f"rooms-{size}-menu")
        found["actions menu"] = await axe_violations(kim)
        await page.keyboard.press("Escape")
        await message(kim, "a little tight").locator(".edited").focus()
        await kim.screenshot(f"rooms-{size}-edited-time")

        # The members panel (Kim owns the room).
        await page.get_by_role("button", name="Members").click()
        panel = page.get_by_role("dialog", name="Members of Design review")
        await expect(panel.get_by_role("listitem")).to_have_count(2, timeout=WAIT_MS)
        await kim.screenshot(f"rooms-{size}-members")
        found["members panel"] = await axe_violations(kim)
        await panel.get_by_role("button", name="Close").last.click()

        # A direct message with Sam.
        if phone:
            await kim.open_drawer()
        await page.get_by_role("button", name=f"Message {sam.name}").click()
        await expect(kim.status).to_have_text(f"Connected to {sam.name}", timeout=WAIT_MS)
        dm = await sam.request(
            "open", {"room": await page.evaluate("() => location.hash.slice(1)")}, "opened"
        )
        assert dm["room"]["kind"] == "dm"
        await kim.say("Quick question about the icons")
        await sam.send_chat("Sure, go ahead")
        await expect(message(kim, "go ahead")).to_be_visible(timeout=WAIT_MS)
        sam_here = page.locator("#people .person", has_text=sam.name)  # in the closed drawer on phones
        await expect(sam_here).not_to_have_class(re.compile(r"\baway\b"), timeout=WAIT_MS)
        await kim.message_box().focus()
        await kim.screenshot(f"rooms-{size}-dm")
        found["direct message"] = await axe_violations(kim)
        if phone:
            await kim.open_drawer()
            await kim.screenshot(f"rooms-{size}-drawer")
            found["drawer with rooms"] = await axe_violations(kim)

        assert {what: problems for what, problems in found.items() if problems} == {}
        assert kim.problems == []
    finally:
        await sam.close()
        await kim.close()
