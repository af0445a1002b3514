"""Editing, deleting and reacting on the page: seen live by the other person and after a
reload, reachable with the mouse, touch and the keyboard only; a refused or unanswered action
stays on screen with Retry."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.chat.e2e.stack_process import StackProcess

from .helpers import create_room, message, message_actions, open_room, sees_people, tab_to
from .pages import DESKTOP, PHONE, WAIT_MS, Window, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def _chip(window: Window, text: str, emoji: str) -> Any:
    return message(window, text).locator("button.chip", has_text=emoji)


async def test_edit_delete_and_react_live_and_after_a_reload(browser: Any, stack: StackProcess) -> None:
    from playwright.async_api import expect

    alice_name, bob_name = unique("Alice"), unique("Bob")
    room = unique("Crew")
    alice = await Window.open(browser, stack, "alice", **DESKTOP)
    bob = await Window.open(browser, stack, "bob", **PHONE)  # touch: taps, no hover
    try:
        await bob.join(bob_name)
        await alice.join(alice_name)
        await sees_people(alice, bob_name)
        await create_room(alice, room, [bob_name])
        await bob.open_drawer()
        await open_room(bob, "Private rooms", room)
        for text in ("first message", "a typo mesage", "delete me"):
            await alice.say(text)
        await expect(message(bob, "delete me")).to_be_visible(timeout=WAIT_MS)

        # Bob reacts with a tap: actions, then 👍.
        await message(bob, "first message").get_by_role("button", name="Message actions").tap()
        menu = bob.page.get_by_role("menu")
        await expect(menu.get_by_role("menuitem", name="Edit")).to_have_count(0)  # not his message
        await expect(menu.get_by_role("menuitem", name="Delete")).to_have_count(0)  # nor a moderator
        await menu.get_by_role("menuitemcheckbox", name="React with 👍").tap()
        thumbs = await _chip(alice, "first message", "👍")
        await expect(thumbs).to_have_accessible_name("👍 1 person", timeout=WAIT_MS)
        await expect(thumbs).to_have_attribute("aria-pressed", "false")
        # Alice adds hers with the chip, and 🎉 from the picker.
        await thumbs.click()
        await expect(thumbs).to_have_accessible_name("👍 2 people, including you", timeout=WAIT_MS)
        await expect(thumbs).to_have_attribute("aria-pressed", "true")
        await message(alice, "first message").get_by_role("button", name="Add a reaction").click()
        picker = alice.page.get_by_role("menu", name="Add a reaction")
        await expect(picker.get_by_role("menuitemcheckbox", name="React with 👍")).to_have_attribute(
            "aria-checked", "true"
        )
        await picker.get_by_role("menuitemcheckbox", name="React with 🎉").click()
        bob_thumbs = await _chip(bob, "first message", "👍")
        await expect(bob_thumbs).to_have_accessible_name("👍 2 people, including you", timeout=WAIT_MS)
        await expect(await _chip(bob, "first message", "🎉")).to_have_attribute("aria-pressed", "false")

        # Alice edits her typo inline (Enter saves).
        await (await message_actions(alice, "a typo mesage")).get_by_role("menuitem", name="Edit").click()
        editor = alice.log().get_by_role("textbox", name="Edit message")
        await expect(editor).to_be_focused()
        await editor.fill("a typo message, fixed")
        await editor.press("Enter")
        edited = message(bob, "a typo message, fixed")
        await expect(edited).to_be_visible(timeout=WAIT_MS)
        await expect(edited.locator(".edited")).to_contain_text("(edited)")
        await expect(edited.locator(".edited-when")).to_contain_text("edited ")
        await expect(message(alice, "a typo message, fixed").locator(".edited")).to_be_visible()

        # Alice deletes one after confirming.
        await (await message_actions(alice, "delete me")).get_by_role("menuitem", name="Delete").click()
        confirm = alice.page.get_by_role("dialog", name="Delete your message?")
        await expect(confirm).to_contain_text("delete me")
        await confirm.get_by_role("button", name="Delete").click()
        for window in (alice, bob):
            await expect(window.log().locator(".tombstone")).to_have_text(
                ["message deleted"], timeout=WAIT_MS
            )
            await expect(window.log().locator(".text", has_text="delete me")).to_have_count(0)

        # Bob takes his 👍 back with a tap, and gives it again.
        await bob_thumbs.tap()
        await expect(thumbs).to_have_accessible_name("👍 1 person, including you", timeout=WAIT_MS)
        await bob_thumbs.tap()
        await expect(thumbs).to_have_accessible_name("👍 2 people, including you", timeout=WAIT_MS)

        # As the room's owner, Alice may delete Bob's message; Bob may not delete hers.
        await bob.say("a note from bob")
        menu = await message_actions(alice, "a note from bob")
        await menu.get_by_role("menuitem", name="Delete").click()
        await (
            alice.page.get_by_role("dialog", name=f"Delete {bob_name}'s message?")
            .get_by_role("button", name="Delete")
            .click()
        )
        await expect(bob.log().locator(".tombstone")).to_have_count(2, timeout=WAIT_MS)

        # After a reload both see the same, from history.
        for window in (alice, bob):
            await window.page.reload()
            await expect(window.status).to_have_text(f"Connected to {room}", timeout=WAIT_MS)
            await expect(message(window, "a typo message, fixed").locator(".edited")).to_be_visible(
                timeout=WAIT_MS
            )
            await expect(window.log().locator(".tombstone")).to_have_count(2)
            await expect(window.log().locator(".text", has_text="delete me")).to_have_count(0)
            chips = message(window, "first message").locator("button.chip:not(.add)")
            await expect(chips).to_have_text(["👍2", "🎉1"])
        await expect(await _chip(bob, "first message", "👍")).to_have_attribute("aria-pressed", "true")
        await expect(await _chip(bob, "first message", "🎉")).to_have_attribute("aria-pressed", "false")
        await expect(await _chip(alice, "first message", "🎉")).to_have_attribute("aria-pressed", "true")
        assert alice.problems == [] and bob.problems == []
    finally:
        await alice.close()
        await bob.close()


async def test_everything_with_the_keyboard_only(browser: Any, stack: StackProcess) -> None:
    """Kim never touches the mouse: join, a new room, messages, react, edit, delete, invite, a DM."""
    from playwright.async_api import expect

    kim_name, sam_name, lee_name = unique("Kim"), unique("Sam"), unique("Lee")
    room = unique("Keys")
    sam = await Window.open(browser, stack, "sam", **DESKTOP)
    lee = await Window.open(browser, stack, "lee", **DESKTOP)
    kim = await Window.open(browser, stack, "kim", **DESKTOP)
    page, keys = kim.page, kim.page.keyboard
    try:
        await sam.join(sam_name)
        await lee.join(lee_name)
        await expect(page.get_by_role("textbox", name="Your name")).to_be_focused()
        await keys.type(kim_name)
        await keys.press("Enter")
        await expect(kim.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
        await sees_people(kim, sam_name, lee_name)

        # A new room with Sam.
        await tab_to(kim, page.get_by_role("button", name="New room"), backwards=True)
        await keys.press("Enter")
        dialog = page.get_by_role("dialog", name="New private room")
        await expect(dialog.get_by_role("textbox", name="Room name")).to_be_focused()
        await keys.type(room)
        await tab_to(kim, dialog.get_by_role("checkbox", name=sam_name))
        await keys.press("Space")
        await tab_to(kim, dialog.get_by_role("button", name="Create room"))
        await keys.press("Enter")
        await expect(kim.status).to_have_text(f"Connected to {room}", timeout=WAIT_MS)
        await expect(page.locator("#room-title")).to_be_focused()
        await open_room(sam, "Private rooms", room)  # Sam (with the mouse) watches

        await tab_to(kim, kim.message_box())
        for text in ("keyboard hello", "keyboard second"):
            await keys.type(text)
            await keys.press("Enter")
        await expect(kim.log().locator(".msg.sending")).to_have_count(0, timeout=WAIT_MS)

        # React: Shift+Tab from the message box reaches the newest message's actions.
        newest = message(kim, "keyboard second")
        await tab_to(kim, newest.get_by_role("button", name="Message actions"), backwards=True)
        await keys.press("Enter")
        menu = page.get_by_role("menu")
        await expect(menu.get_by_role("menuitemcheckbox", name="React with 👍")).to_be_focused()
        for _ in range(3):
            await keys.press("ArrowRight")
        await expect(menu.get_by_role("menuitemcheckbox", name="React with 🎉")).to_be_focused()
        await keys.press("Enter")
        await expect(menu).to_be_hidden()
        party = newest.locator("button.chip", has_text="🎉")
        await expect(party).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
        await expect(newest.get_by_role("button", name="Message actions")).to_be_focused()

        # Edit: End goes to the last item (Delete), Up to Edit; Enter saves, the focus comes back.
        await keys.press("Enter")
        await keys.press("End")
        await expect(menu.get_by_role("menuitem", name="Delete")).to_be_focused()
        await keys.press("ArrowUp")
        await keys.press("Enter")
        editor = kim.log().get_by_role("textbox", name="Edit message")
        await expect(editor).to_be_focused()
        await keys.press("Escape")  # cancel first: nothing changes
        await expect(editor).to_have_count(0)
        await expect(newest.get_by_role("button", name="Message actions")).to_be_focused()
        await keys.press("Enter")
        await keys.press("End")
        await keys.press("ArrowUp")
        await keys.press("Enter")
        await keys.press("ControlOrMeta+a")
        await keys.type("keyboard second, edited")
        await keys.press("Enter")
        edited = message(kim, "keyboard second, edited")
        await expect(edited.locator(".edited")).to_be_visible(timeout=WAIT_MS)
        await expect(edited.get_by_role("button", name="Message actions")).to_be_focused()
        # The (edited) mark takes the focus and shows when.
        await keys.press("Shift+Tab")
        await expect(edited.locator(".edited")).to_be_focused()
        tip = await edited.locator(".edited-when").bounding_box()
        assert tip is not None and tip["width"] > 40, tip
        await expect(message(sam, "keyboard second, edited")).to_be_visible(timeout=WAIT_MS)

        # Delete the first, confirming with the keyboard (the focus starts on Cancel).
        first = message(kim, "keyboard hello")
        await tab_to(kim, first.get_by_role("button", name="Message actions"), backwards=True)
        await keys.press("Enter")
        await keys.press("End")
        await keys.press("Enter")
        confirm = page.get_by_role("dialog", name="Delete your message?")
        await expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
        await keys.press("Tab")
        await expect(confirm.get_by_role("button", name="Delete")).to_be_focused()
        await keys.press("Enter")
        await expect(sam.log().locator(".tombstone")).to_have_text(["message deleted"], timeout=WAIT_MS)

        # Invite Lee from the members panel.
        await tab_to(kim, page.get_by_role("button", name="Members"), backwards=True)
        await keys.press("Enter")
        panel = page.get_by_role("dialog", name=f"Members of {room}")
        await expect(panel).to_be_visible()
        await tab_to(kim, panel.get_by_role("combobox", name="Invite someone you have seen"))
        await expect(panel.get_by_role("combobox", name="Invite someone you have seen")).to_have_value(
            re.compile(".+")
        )
        await keys.press("Tab")
        await keys.press("Enter")
        await expect(panel.get_by_role("status")).to_have_text(
            re.compile(rf"^Invited {lee_name}"), timeout=WAIT_MS
        )
        await expect(panel.get_by_role("listitem")).to_have_count(3, timeout=WAIT_MS)
        await keys.press("Escape")
        await expect(panel).to_be_hidden()
        await (
            lee.page.get_by_role("list", name="Private rooms", exact=True)
            .locator("button.room", has_text=room)
            .wait_for(timeout=WAIT_MS)
        )

        # A direct message to Sam from the people list.
        await tab_to(kim, page.get_by_role("button", name=f"Message {sam_name}"))
        await keys.press("Enter")
        await expect(kim.status).to_have_text(f"Connected to {sam_name}", timeout=WAIT_MS)
        await tab_to(kim, kim.message_box())
        await keys.type("just between us")
        await keys.press("Enter")
        dm = sam.page.get_by_role("list", name="Direct messages").locator("button.room", has_text=kim_name)
        await expect(dm).to_have_accessible_name(f"{kim_name} 1 unread", timeout=WAIT_MS)
        assert kim.problems == [] and sam.problems == [] and lee.problems == []
    finally:
        for window in (kim, sam, lee):
            await window.close()


async def test_refused_and_unanswered_actions_stay_with_a_retry(browser: Any, stack: StackProcess) -> None:
    from playwright.async_api import expect

    kim_name, sam_name = unique("Kim"), unique("Sam")
    kim = await Window.open(browser, stack, "kim", path="index#general", **DESKTOP)
    sam = await Window.open(browser, stack, "sam", path="index#general", **DESKTOP)
    try:
        await kim.join(kim_name)
        await sam.join(sam_name)
        await kim.say("short")
        await kim.say("to remove later")
        await expect(message(sam, "to remove later")).to_be_visible(timeout=WAIT_MS)

        # An edit the server refuses: the draft stays, with the reason; fixed, it goes through.
        await (await message_actions(kim, "short")).get_by_role("menuitem", name="Edit").click()
        editor = kim.log().get_by_role("textbox", name="Edit message")
        await editor.evaluate("node => node.removeAttribute('maxlength')")
        await editor.fill("z" * 2001)
        await editor.press("Enter")
        item = kim.log().locator("li.msg", has=kim.page.locator(".edit"))
        await expect(item).to_contain_text("Not saved: text is longer than 2000 characters", timeout=WAIT_MS)
        await expect(editor).to_have_value("z" * 2001)
        await editor.fill("short, then longer")
        await editor.press("Enter")
        await expect(message(sam, "short, then longer").locator(".edited")).to_be_visible(timeout=WAIT_MS)

        # Offline: a reaction and a delete cannot go; each says so and keeps a Retry.
        await kim.page.context.set_offline(True)
        await expect(kim.status).to_have_text("Offline: waiting for the network…", timeout=WAIT_MS)
        menu = await message_actions(kim, "short, then longer")
        await menu.get_by_role("menuitemcheckbox", name="React with ❤️").click()
        await expect(message(kim, "short, then longer")).to_contain_text(
            "Reaction ❤️ not added: not connected"
        )
        await (await message_actions(kim, "to remove later")).get_by_role("menuitem", name="Delete").click()
        await (
            kim.page.get_by_role("dialog", name="Delete your message?")
            .get_by_role("button", name="Delete")
            .click()
        )
        await expect(message(kim, "to remove later")).to_contain_text("Not deleted: not connected")
        await kim.page.context.set_offline(False)
        await expect(kim.status).to_have_text("Connected to #general", timeout=WAIT_MS)
        await message(kim, "short, then longer").get_by_role("button", name="Retry").click()
        await message(kim, "to remove later").get_by_role("button", name="Retry").click()
        await expect(message(sam, "short, then longer").locator("button.chip", has_text="❤️")).to_have_count(
            1, timeout=WAIT_MS
        )
        await expect(sam.log().locator(".tombstone")).to_have_count(1, timeout=WAIT_MS)
        await expect(kim.log().locator(".problem")).to_have_count(0)

        # A room name the server refuses: the dialog stays open with the reason and the name.
        await kim.page.get_by_role("button", name="New room").click()
        dialog = kim.page.get_by_role("dialog", name="New private room")
        await dialog.get_by_role("textbox", name="Room name").fill("\u202eevil")
        await dialog.get_by_role("button", name="Create room").click()
        await expect(dialog.get_by_role("alert")).to_contain_text("Not created:", timeout=WAIT_MS)
        await expect(dialog.get_by_role("textbox", name="Room name")).to_have_value("\u202eevil")
        await dialog.get_by_role("textbox", name="Room name").fill("Fine name")
        await dialog.get_by_role("button", name="Create room").click()
        await expect(kim.status).to_have_text("Connected to Fine name", timeout=WAIT_MS)
        assert [p for p in kim.problems if "ERR_INTERNET_DISCONNECTED" not in p] == []
        assert sam.problems == []
    finally:
        await kim.close()
        await sam.close()


async def test_changes_made_while_offline_show_after_reconnecting(browser: Any, stack: StackProcess) -> None:
    """The gap fill after a reconnect reads the newest shown messages again: edits, deletions
    and reactions made meanwhile show without a reload."""
    from playwright.async_api import expect

    kim = await Window.open(browser, stack, "kim", path="index#random", **DESKTOP)
    sam = await Window.open(browser, stack, "sam", path="index#random", **DESKTOP)
    try:
        await kim.join(unique("Kim"))
        await sam.join(unique("Sam"))
        for text in ("will be edited", "will be deleted", "will get a reaction"):
            await kim.say(text)
        await expect(message(sam, "will get a reaction")).to_be_visible(timeout=WAIT_MS)

        await sam.page.context.set_offline(True)
        await expect(sam.status).to_have_text("Offline: waiting for the network…", timeout=WAIT_MS)
        await (await message_actions(kim, "will be edited")).get_by_role("menuitem", name="Edit").click()
        editor = kim.log().get_by_role("textbox", name="Edit message")
        await editor.fill("was edited while Sam was away")
        await editor.press("Enter")
        await expect(message(kim, "while Sam was away").locator(".edited")).to_be_visible(timeout=WAIT_MS)
        await (await message_actions(kim, "will be deleted")).get_by_role("menuitem", name="Delete").click()
        await (
            kim.page.get_by_role("dialog", name="Delete your message?")
            .get_by_role("button", name="Delete")
            .click()
        )
        await expect(kim.log().locator(".tombstone")).to_have_count(1, timeout=WAIT_MS)
        menu = await message_actions(kim, "will get a reaction")
        await menu.get_by_role("menuitemcheckbox", name="React with 👀").click()
        await expect(message(kim, "will get a reaction").locator("button.chip", has_text="👀")).to_be_visible(
            timeout=WAIT_MS
        )

        await sam.page.context.set_offline(False)
        await expect(sam.status).to_have_text("Connected to #random", timeout=WAIT_MS)
        await expect(message(sam, "was edited while Sam was away").locator(".edited")).to_be_visible(
            timeout=WAIT_MS
        )
        await expect(sam.log().locator(".text", has_text="will be deleted")).to_have_count(0)
        await expect(sam.log().locator(".tombstone")).to_have_count(1)
        chip = message(sam, "will get a reaction").locator("button.chip", has_text="👀")
        await expect(chip).to_have_attribute("aria-pressed", "false")
        await expect(chip).to_have_accessible_name("👀 1 person")
        assert kim.problems == []
        assert [p for p in sam.problems if "ERR_INTERNET_DISCONNECTED" not in p] == []
    finally:
        await kim.close()
        await sam.close()
