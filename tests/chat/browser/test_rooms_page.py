"""Private rooms, direct messages, unread counts and membership on the page, with two or
three people in their own browser contexts (one stack for the module)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.chat.e2e.stack_process import StackProcess

from .helpers import (
    create_room,
    join_second_tab,
    message,
    open_room,
    room_button,
    sees_people,
    sidebar_list,
)
from .pages import DESKTOP, PHONE, WAIT_MS, Window, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def _people(browser: Any, stack: StackProcess, *names: str, **options: Any) -> list[Window]:
    windows = []
    for name in names:
        window = await Window.open(browser, stack, name, **(options or DESKTOP))
        await window.join(name)
        windows.append(window)
    return windows


async def test_a_private_room_is_seen_only_by_its_members(browser: Any, stack: StackProcess) -> None:
    from playwright.async_api import expect

    alice_name, bob_name, carol_name = unique("Alice"), unique("Bob"), unique("Carol")
    room = unique("<img src=x onerror=alert(1)>")  # markup in a room name stays text (32 chars)
    alice, bob, carol = await _people(browser, stack, alice_name, bob_name, carol_name)
    try:
        await sees_people(alice, bob_name, carol_name)
        room_id = await create_room(alice, room, [bob_name])
        assert room_id.startswith("~r")
        await expect(alice.page.locator("#room-title")).to_have_text(room)
        await expect(alice.page.locator("#room-kind")).to_have_text("private room")
        await expect(room_button(alice, "Private rooms", room)).to_have_attribute("aria-current", "true")

        # Bob is told at once (room-added); Carol is not.
        await expect(room_button(bob, "Private rooms", room)).to_be_visible(timeout=WAIT_MS)
        await alice.say("welcome to the plans")
        badge = room_button(bob, "Private rooms", room)
        await expect(badge).to_have_accessible_name(f"{room} 1 unread", timeout=WAIT_MS)
        await expect(badge).to_have_class(re.compile(r"\bhas-unread\b"))
        await open_room(bob, "Private rooms", room)
        await expect(message(bob, "welcome to the plans")).to_be_visible(timeout=WAIT_MS)
        await expect(badge).to_have_accessible_name(room)
        await bob.say("thanks!")
        await expect(message(alice, "thanks!")).to_be_visible(timeout=WAIT_MS)
        people = alice.page.get_by_role("list", name="People")
        await expect(people.get_by_role("listitem")).to_have_count(2, timeout=WAIT_MS)
        await expect(people.get_by_role("listitem").filter(has_text=alice_name)).to_contain_text("owner")

        await expect(sidebar_list(carol, "Private rooms").locator("button.room")).to_have_count(0)
        await carol.page.reload()
        await expect(carol.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
        await carol.page.wait_for_timeout(500)  # the rooms reply has come
        await expect(sidebar_list(carol, "Private rooms").locator("button.room")).to_have_count(0)

        # An edited URL naming the room: Carol lands in the lobby, told why, with none of its messages.
        await carol.page.evaluate("id => { location.hash = id; }", room_id)
        await carol.page.reload()
        await expect(carol.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
        await expect(carol.log()).to_contain_text("you are not a member")
        await expect(carol.page.locator("#room-title")).to_have_text("# lobby")
        assert await carol.log().locator(".msg .text", has_text="plans").count() == 0
        for window in (alice, bob):
            assert await window.page.locator("img").count() == 0
            assert window.dialogs == [], "a dialog opened: a room name ran as script"
        assert alice.problems == [] and bob.problems == []
        # The refused negotiate (403) is on Chromium's console; nothing else may be.
        assert [p for p in carol.problems if "403" not in p] == []
    finally:
        for window in (alice, bob, carol):
            await window.close()


async def test_direct_messages_from_the_people_list_and_from_a_name(
    browser: Any, stack: StackProcess
) -> None:
    from playwright.async_api import expect

    alice_name, bob_name, carol_name = unique("Alice"), unique("Bob"), unique("Carol")
    alice, bob, carol = await _people(browser, stack, alice_name, bob_name, carol_name)
    try:
        await sees_people(alice, bob_name)
        # From the people list.
        await alice.page.get_by_role("button", name=f"Message {bob_name}").click()
        await expect(alice.status).to_have_text(f"Connected to {bob_name}", timeout=WAIT_MS)
        await expect(alice.page.locator("#room-kind")).to_have_text("direct message")
        await expect(room_button(alice, "Direct messages", bob_name)).to_have_attribute(
            "aria-current", "true"
        )
        await alice.say("psst, Bob")

        dm = room_button(bob, "Direct messages", alice_name)
        await expect(dm).to_have_accessible_name(f"{alice_name} 1 unread", timeout=WAIT_MS)
        await open_room(bob, "Direct messages", alice_name)
        await expect(message(bob, "psst, Bob")).to_be_visible(timeout=WAIT_MS)
        # In a DM the people list is the two of them, with no "Message" (they are in it).
        await sees_people(bob, alice_name)
        await expect(bob.page.get_by_role("button", name=f"Message {alice_name}")).to_have_count(0)
        await expect(sidebar_list(bob, "Direct messages").locator("button.room")).to_have_count(1)
        dm_ids = [await w.page.evaluate("() => location.hash") for w in (alice, bob)]
        assert dm_ids[0] == dm_ids[1] and dm_ids[0].startswith("#~d"), dm_ids
        await bob.say("yes?")
        await expect(message(alice, "yes?")).to_be_visible(timeout=WAIT_MS)
        assert await carol.log().locator(".msg .text", has_text="psst").count() == 0

        # From a name in the timeline: Carol clicks Alice's name in the lobby.
        await alice.page.get_by_role("button", name="# lobby").click()
        await expect(alice.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
        await alice.say("anyone up for lunch?")
        said = message(carol, "anyone up for lunch?")
        await expect(said).to_be_visible(timeout=WAIT_MS)
        await expect(said.locator(".badge.guest")).to_have_text("guest")  # guests are marked here too
        await said.get_by_role("button", name=alice_name).click()
        await carol.page.get_by_role("menuitem", name=f"Message {alice_name}").click()
        await expect(carol.status).to_have_text(f"Connected to {alice_name}", timeout=WAIT_MS)
        await carol.say("me!")
        await expect(room_button(alice, "Direct messages", carol_name)).to_have_accessible_name(
            f"{carol_name} 1 unread", timeout=WAIT_MS
        )
        await expect(sidebar_list(alice, "Direct messages").locator("button.room")).to_have_count(2)
        assert alice.problems == [] and bob.problems == [] and carol.problems == []
    finally:
        for window in (alice, bob, carol):
            await window.close()


async def test_unread_counts_reach_every_tab_and_clear_when_read(browser: Any, stack: StackProcess) -> None:
    from playwright.async_api import expect

    alice_name, bob_name = unique("Alice"), unique("Bob")
    alice, bob = await _people(browser, stack, alice_name, bob_name)
    bob_tab = await join_second_tab(bob, bob_name)
    try:
        await sees_people(alice, bob_name)
        await alice.page.get_by_role("button", name=f"Message {bob_name}").click()
        await expect(alice.status).to_have_text(f"Connected to {bob_name}", timeout=WAIT_MS)
        for text in ("one", "two", "three"):
            await alice.say(text)
        for window in (bob, bob_tab):
            dm = room_button(window, "Direct messages", alice_name)
            await expect(dm).to_have_accessible_name(f"{alice_name} 3 unread", timeout=WAIT_MS)
            await expect(dm).to_have_class(re.compile(r"\bhas-unread\b"))
        await bob_tab.screenshot("rooms-desktop-light-unread")

        # Bob reads in his first tab: the count clears in the other tab too.
        await open_room(bob, "Direct messages", alice_name)
        await expect(message(bob, "three")).to_be_visible(timeout=WAIT_MS)
        other_tab_dm = room_button(bob_tab, "Direct messages", alice_name)
        await expect(other_tab_dm).to_have_accessible_name(alice_name, timeout=WAIT_MS)
        await expect(other_tab_dm).not_to_have_class(re.compile(r"\bhas-unread\b"))

        # While a tab of Bob's shows the room, new messages count for nobody…
        await alice.say("four")
        await expect(message(bob, "four")).to_be_visible(timeout=WAIT_MS)
        await bob_tab.page.wait_for_timeout(800)
        await expect(other_tab_dm).to_have_accessible_name(alice_name)
        # …but a hidden tab does not read: its title counts, and it reads once visible again.
        await bob.set_hidden(True)
        await alice.say("five")
        await expect(bob.page).to_have_title(f"(1) {alice_name} · Web PubSub chat", timeout=WAIT_MS)
        await bob.set_hidden(False)
        await expect(bob.page).to_have_title(f"{alice_name} · Web PubSub chat")
        await bob.page.reload()  # the marker is on the server: no count after a reload
        await expect(bob.status).to_have_text(f"Connected to {alice_name}", timeout=WAIT_MS)
        await expect(message(bob, "five")).to_be_visible(timeout=WAIT_MS)
        await expect(room_button(bob_tab, "Direct messages", alice_name)).to_have_accessible_name(alice_name)
        assert alice.problems == [] and bob.problems == [] and bob_tab.problems == []
    finally:
        await alice.close()
        await bob.close()


async def test_roles_in_the_members_panel_and_a_removed_member_goes_to_the_lobby(
    browser: Any, stack: StackProcess
) -> None:
    from playwright.async_api import expect

    alice_name, bob_name, carol_name = unique("Alice"), unique("Bob"), unique("Carol")
    room = unique("Team")
    alice, bob = await _people(browser, stack, alice_name, bob_name)
    (carol,) = await _people(browser, stack, carol_name, **PHONE)
    try:
        await sees_people(alice, bob_name, carol_name)
        await create_room(alice, room, [bob_name, carol_name])
        await open_room(bob, "Private rooms", room)
        await carol.open_drawer()
        await open_room(carol, "Private rooms", room)

        # Bob, a member, sees the list read-only.
        await bob.page.get_by_role("button", name="Members").click()
        panel = bob.page.get_by_role("dialog", name=f"Members of {room}")
        await expect(panel).to_be_visible()
        await expect(panel.get_by_role("listitem")).to_have_count(3, timeout=WAIT_MS)
        await expect(panel).to_contain_text("Only owners and moderators can invite or remove people.")
        await expect(panel.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
        await expect(panel.get_by_role("combobox")).to_have_count(0)

        # Alice (owner) makes Bob a moderator: his open panel changes by itself.
        await alice.page.get_by_role("button", name="Members").click()
        owner_panel = alice.page.get_by_role("dialog", name=f"Members of {room}")
        await owner_panel.get_by_role("combobox", name=f"Role of {bob_name}").select_option("moderator")
        await expect(owner_panel.get_by_role("status")).to_have_text(
            f"{bob_name} is now moderator.", timeout=WAIT_MS
        )
        await expect(panel).to_contain_text("You are a moderator", timeout=WAIT_MS)
        await expect(panel.get_by_role("button", name=f"Remove {carol_name}")).to_be_visible()
        await expect(panel.get_by_role("button", name=f"Remove {alice_name}")).to_have_count(0)
        await owner_panel.get_by_role("button", name="Close").last.click()

        # Bob removes Carol, who is viewing the room on her phone.
        await panel.get_by_role("button", name=f"Remove {carol_name}").click()
        confirm = bob.page.get_by_role("dialog", name=f"Remove {carol_name}?")
        await confirm.get_by_role("button", name="Remove").click()
        await expect(panel.get_by_role("listitem")).to_have_count(2, timeout=WAIT_MS)
        await expect(carol.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
        await expect(carol.log()).to_contain_text(f"You were removed from {room}.")
        await expect(carol.page.locator("#room-title")).to_have_text("# lobby")
        await carol.open_drawer()
        await expect(sidebar_list(carol, "Private rooms").locator("button.room")).to_have_count(0)
        await carol.screenshot("rooms-phone-light-removed")
        assert alice.problems == [] and bob.problems == [] and carol.problems == []
    finally:
        for window in (alice, bob, carol):
            await window.close()
