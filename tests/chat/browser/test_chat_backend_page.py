"""The page on top of the chat backend: history, gap fill, people, typing, rooms, identity.

One stack for the module, with rooms in an unusual order (the page must show the server's
list), a rate limit high enough to seed a long history, and App Service Authentication
"on" so a browser context can present a signed-in principal's headers. Other people are
real pages in their own browser contexts, or real WebSocket clients where only their
messages matter (seeding 500 messages).
"""

from __future__ import annotations

import signal
import statistics
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.chat.e2e.clients import RawClient
from tests.chat.e2e.fixtures import new_access_key
from tests.chat.e2e.stack_process import TEST_SETTINGS, StackProcess, start_stack_process

from .pages import DESKTOP, PHONE, WAIT_MS, Window, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ROOMS = ["lobby", "dev", "general"]
SETTINGS = {
    **TEST_SETTINGS,
    "ChatRooms": ",".join(ROOMS),
    "ChatRateLimitMessages": "1000",
    "WEBSITE_AUTH_ENABLED": "true",  # the principal headers below count (App Service strips forged ones)
}
HISTORY_SIZE = 500
PRINCIPAL = {
    "X-MS-CLIENT-PRINCIPAL-ID": "5f0c1e9a-0000-4000-8000-000000000001",
    "X-MS-CLIENT-PRINCIPAL-NAME": "Dana Signed-In",
    "X-MS-CLIENT-PRINCIPAL-IDP": "aad",
}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack_process(
        tmp_path_factory.mktemp("backend"), access_key=new_access_key(), settings=SETTINGS
    )
    try:
        yield running
    finally:
        assert running.stop(signal.SIGTERM) == 0


async def _seed(http: aiohttp.ClientSession, stack: StackProcess, room: str, texts: list[str]) -> RawClient:
    """Send `texts` from one real WebSocket client and wait until the server acked them all."""
    client = await RawClient.connect(http, stack, unique("Seeder"), room)
    acks = [await client.send_chat(text) for text in texts]
    for ack in acks:
        frame = await client.wait_for_ack(ack)
        assert frame.get("success") is True, frame
    return client


async def _measures(window: Window, name: str) -> list[float]:
    return await window.page.evaluate(
        "name => performance.getEntriesByName(name).map(entry => entry.duration)", name
    )


async def test_history_on_join_scroll_up_and_reload(
    browser: Any, backend: StackProcess, http: aiohttp.ClientSession
) -> None:
    from playwright.async_api import expect

    texts = [f"history {n:03d}" for n in range(HISTORY_SIZE)]
    seeder = await _seed(http, backend, "dev", texts)
    await seeder.close()
    reader = await Window.open(browser, backend, "reader", path="index#dev", **DESKTOP)
    try:
        await reader.join(unique("Reader"))
        await expect(reader.status).to_have_text("Connected to #dev")
        messages = reader.log().locator(".msg")
        await expect(messages).to_have_count(50, timeout=WAIT_MS)  # one page
        await expect(messages.last).to_contain_text("history 499")
        await expect(messages.last).to_be_in_viewport()
        first_page = await _measures(reader, "chat:history-initial")

        # Scrolling up loads older pages until the start; each message shows once.
        for _ in range(HISTORY_SIZE // 50 + 2):
            if await messages.count() >= HISTORY_SIZE:
                break
            count = await messages.count()
            await reader.log().evaluate("log => { log.scrollTop = 0; }")
            await expect(messages).not_to_have_count(count, timeout=WAIT_MS)
        await expect(messages).to_have_count(HISTORY_SIZE, timeout=WAIT_MS)
        await expect(reader.log()).to_have_attribute("data-start", "true")
        shown = await reader.log().locator(".msg .text").all_text_contents()
        assert shown == texts
        older_pages = await _measures(reader, "chat:history-older")

        # Scroll through all 500 from the top: the longest frame says whether it janks.
        longest_frame = await reader.log().evaluate(
            """log => new Promise(resolve => {
                 log.scrollTop = 0;
                 let last = performance.now(), longest = 0;
                 const step = () => {
                   const now = performance.now();
                   longest = Math.max(longest, now - last);
                   last = now;
                   if (log.scrollTop + log.clientHeight >= log.scrollHeight - 1) { resolve(longest); return; }
                   log.scrollTop += 400;
                   requestAnimationFrame(step);
                 };
                 requestAnimationFrame(step);
               })"""
        )
        print(
            f"\n[measure] first page of a {HISTORY_SIZE}-message history (50 messages) rendered in "
            f"{first_page[0]:.1f} ms; older pages: median {statistics.median(older_pages):.1f} ms, "
            f"max {max(older_pages):.1f} ms over {len(older_pages)} pages; longest frame while scrolling "
            f"through all {HISTORY_SIZE}: {longest_frame:.1f} ms"
        )

        # Reload: the tab rejoins the same room by itself and shows the history again.
        await reader.page.reload()
        await expect(reader.status).to_have_text("Connected to #dev", timeout=WAIT_MS)
        await expect(reader.page.locator("#join-panel")).to_be_hidden()
        await expect(messages.last).to_contain_text("history 499", timeout=WAIT_MS)
        assert reader.problems == []
    finally:
        await reader.close()


async def test_gap_after_a_lost_connection_is_filled_without_duplicates(
    browser: Any, backend: StackProcess, http: aiohttp.ClientSession
) -> None:
    from playwright.async_api import expect

    alice = await Window.open(browser, backend, "alice", path="index#general", **DESKTOP)
    bob = await RawClient.connect(http, backend, unique("Bob"), "general")
    try:
        await alice.join(unique("Alice"))
        await bob.send_chat("before the gap")
        await expect(alice.log().locator(".msg .text", has_text="before the gap")).to_have_count(
            1, timeout=WAIT_MS
        )

        await alice.page.context.set_offline(True)
        await expect(alice.status).to_have_text("Offline: waiting for the network…", timeout=WAIT_MS)
        for n in range(3):
            ack = await bob.send_chat(f"during the gap {n}")
            assert (await bob.wait_for_ack(ack)).get("success") is True
        await alice.page.context.set_offline(False)
        await expect(alice.status).to_have_text("Connected to #general", timeout=WAIT_MS)
        for text in ("before the gap", "during the gap 0", "during the gap 1", "during the gap 2"):
            await expect(alice.log().locator(".msg .text", has_text=text)).to_have_count(1, timeout=WAIT_MS)
        await bob.send_chat("after the gap")
        await expect(alice.log().locator(".msg .text", has_text="after the gap")).to_have_count(
            1, timeout=WAIT_MS
        )
        texts = await alice.log().locator(".msg .text").all_text_contents()
        tail = texts[texts.index("before the gap") :]
        assert tail == ["before the gap", *(f"during the gap {n}" for n in range(3)), "after the gap"]
        assert [p for p in alice.problems if "net::ERR_INTERNET_DISCONNECTED" not in p] == []
    finally:
        await bob.close()
        await alice.close()


async def test_people_in_the_room_and_typing(browser: Any, backend: StackProcess) -> None:
    from playwright.async_api import expect

    alice_name, bob_name = unique("Alice"), unique("Bob")
    alice = await Window.open(browser, backend, "alice", **DESKTOP)
    bob = await Window.open(browser, backend, "bob", **DESKTOP)
    try:
        await alice.join(alice_name)
        people = alice.page.get_by_role("list", name="People")
        await expect(people.get_by_role("listitem")).to_have_count(1, timeout=WAIT_MS)
        await expect(people).to_contain_text(f"{alice_name}youguest")

        await bob.join(bob_name)
        await expect(people.get_by_role("listitem")).to_have_count(2, timeout=WAIT_MS)
        await expect(people.get_by_role("listitem").filter(has_text=bob_name)).to_contain_text("guest")

        # A second tab of Bob's (same browser, same guest id): still one entry for Bob.
        bob_tab = Window(await bob.page.context.new_page(), "bob-tab")
        await bob_tab.page.goto(backend.page_url)
        await expect(bob_tab.page.get_by_role("textbox", name="Your name")).to_have_value(bob_name)
        await bob_tab.page.get_by_role("button", name="Join").click()
        await expect(bob_tab.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
        await expect(alice.log()).to_contain_text(f"{bob_name} joined")
        await alice.page.wait_for_timeout(500)  # the list refreshes after a join
        await expect(people.get_by_role("listitem")).to_have_count(2)
        await expect(alice.page.locator("#people-count")).to_have_text("(2)")

        # Typing: shown to others, not to the typist; a sent message ends it.
        await bob.message_box().type("thinking about it")
        await expect(alice.page.locator("#typing")).to_have_text(f"{bob_name} is typing…", timeout=WAIT_MS)
        await alice.screenshot("chat-desktop-light-typing")
        await bob.page.wait_for_timeout(300)
        await expect(bob.page.locator("#typing")).to_have_text("")
        # The server excludes only the typing connection; the page hides its own user's typing.
        await expect(bob_tab.page.locator("#typing")).to_have_text("")
        await bob.message_box().press("Enter")
        await expect(alice.log().locator(".msg .text", has_text="thinking about it")).to_be_visible(
            timeout=WAIT_MS
        )
        await expect(alice.page.locator("#typing")).to_have_text("")

        # Bob closes both tabs: he leaves the list.
        await bob_tab.page.close()
        await bob.page.get_by_role("button", name="Leave chat").click()
        await expect(people.get_by_role("listitem")).to_have_count(1, timeout=WAIT_MS)
        assert alice.problems == [] and bob.problems == []
    finally:
        await alice.close()
        await bob.page.context.close()


async def test_rooms_come_from_the_server_and_switching_keeps_the_session(
    browser: Any, backend: StackProcess, http: aiohttp.ClientSession
) -> None:
    from playwright.async_api import expect

    name = unique("Rae")
    window = await Window.open(browser, backend, "rooms", **PHONE)
    in_lobby = await RawClient.connect(http, backend, unique("Lou"), "lobby")
    in_dev = await RawClient.connect(http, backend, unique("Dev"), "dev")
    try:
        await window.join(name)
        await window.page.get_by_role("button", name="Rooms and people").click()
        rooms = window.page.get_by_role("list", name="Rooms").get_by_role("button")
        await expect(rooms).to_have_text([f"# {room}" for room in ROOMS])
        await rooms.filter(has_text="# dev").click()
        await expect(window.status).to_have_text("Connected to #dev", timeout=WAIT_MS)
        await expect(window.page).to_have_title("#dev · Web PubSub chat")
        assert window.page.url.endswith("#dev")
        await expect(window.page.locator("#join-panel")).to_be_hidden()
        await expect(window.page.locator("#room-title")).to_have_text("# dev")

        await in_lobby.send_chat("only for the lobby")
        await in_dev.send_chat("hello dev")
        await expect(window.log().locator(".msg .text", has_text="hello dev")).to_be_visible(timeout=WAIT_MS)
        await window.page.wait_for_timeout(500)
        assert await window.log().locator(".msg .text", has_text="only for the lobby").count() == 0
        await window.screenshot("chat-phone-light-dev-room")
        assert window.problems == []
    finally:
        await in_lobby.close()
        await in_dev.close()
        await window.close()


async def test_signed_in_user_gets_no_name_prompt_and_guests_see_the_difference(
    browser: Any, backend: StackProcess
) -> None:
    from playwright.async_api import expect

    dana = await Window.open(browser, backend, "dana", extra_http_headers=PRINCIPAL, **DESKTOP)
    guest = await Window.open(browser, backend, "guest", **DESKTOP)
    try:
        await expect(dana.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
        await expect(dana.page.locator("#join-panel")).to_be_hidden()
        await expect(dana.page.locator("#identity")).to_have_text("Dana Signed-In signed in")
        await expect(guest.page.get_by_role("textbox", name="Your name")).to_be_visible()
        guest_name = unique("Gus")
        await guest.join(guest_name)
        await expect(guest.page.locator("#identity")).to_have_text(f"{guest_name} guest")

        await dana.say("hello from Dana")
        said = guest.log().locator(".msg", has_text="hello from Dana")
        await expect(said.locator(".from")).to_have_text("Dana Signed-In", timeout=WAIT_MS)
        people = guest.page.get_by_role("list", name="People")
        dana_entry = people.get_by_role("listitem").filter(has_text="Dana Signed-In")
        await expect(dana_entry).to_be_visible(timeout=WAIT_MS)
        await expect(dana_entry).not_to_contain_text("guest")
        await dana.screenshot("chat-desktop-light-signed-in")
        assert dana.problems == [] and guest.problems == []
    finally:
        await dana.close()
        await guest.close()
