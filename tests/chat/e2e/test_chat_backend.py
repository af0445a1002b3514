"""The chat backend end to end through ``python -m devhost``: real Azurite, real WebSocket clients.

History on join and after a cut connection, history across a full restart of the stack,
duplicates (a request sent twice straight to the function app) stored and broadcast once,
members, typing, the rate limit and guest identity. The emulator's own retry-on-5xx is in
``test_chat_retries.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.chat.upstream_requests import event_headers

from .clients import Predicate, RawClient, Received, chat
from .fixtures import new_access_key
from .stack_process import HOST, TEST_SETTINGS, StackProcess, start_stack_process

pytestmark = pytest.mark.e2e


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def browser() -> aiohttp.ClientSession:
    """A session that keeps cookies for 127.0.0.1, like one browser profile."""
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=30)
    )


@pytest.fixture
async def second_browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with browser() as session:
        yield session


def of_kind(kind: str, **fields: Any) -> Predicate:
    def matches(item: Received) -> bool:
        data = item.data
        return (
            isinstance(data, dict)
            and data.get("kind") == kind
            and all(data.get(k) == v for k, v in fields.items())
        )

    return matches


def chats(client: RawClient, text: str) -> list[Received]:
    return [item for item in client.history if chat(text)(item)]


async def history(client: RawClient, **request: Any) -> dict[str, Any]:
    return await client.request("history", request, "history")


# -- history ---------------------------------------------------------------------------------------
async def test_a_newcomer_gets_the_room_history_oldest_first(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    room = "random"
    alice = await RawClient.connect(http, stack, unique("alice"), room)
    try:
        texts = [unique("story") for _ in range(3)]
        for text in texts:
            await alice.send_chat(text)
            await alice.wait_for(chat(text, alice.user_id))
    finally:
        await alice.close()
    bob = await RawClient.connect(http, stack, unique("bob"), room)
    try:
        reply = await history(bob, limit=3)
        assert reply["room"] == room and reply["kind"] == "history"
        got = reply["messages"]
        assert [m["text"] for m in got] == texts
        assert [m["from"] for m in got] == [alice.user_id] * 3
        assert all(m["name"] == alice.name and m["kind"] == "chat" and m["room"] == room for m in got)
        ids = [m["id"] for m in got]
        assert ids == sorted(ids) and len(set(ids)) == 3
        # the page before the oldest of these, and the default limit
        older = await history(bob, before=ids[0], limit=100)
        assert all(m["id"] < ids[0] for m in older["messages"])
        assert (await history(bob))["messages"][-3:] == got
        # bad requests get an error reply, not a crash
        for bad in ({"limit": 0}, {"limit": 101}, {"before": "yesterday"}, {"limit": "5"}):
            error = await bob.request("history", bad, "error")
            assert "limit" in error["reason"] or "ids" in error["reason"]
    finally:
        await bob.close()


async def test_a_client_fills_the_gap_after_its_connection_was_cut(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    alice = await RawClient.connect(http, stack, unique("alice"), "general")
    bob = await RawClient.connect(http, stack, unique("bob"), "general")
    try:
        first = unique("before-the-cut")
        await alice.send_chat(first)
        last_seen = (await bob.wait_for(chat(first))).data["id"]
        await bob.close()  # the connection drops; two messages go by
        missed = [unique("missed"), unique("missed")]
        for text in missed:
            await alice.send_chat(text)
            await alice.wait_for(chat(text))
        bob = await RawClient.connect(http, stack, "bob again", "general")
        reply = await history(bob, after=last_seen)
        assert [m["text"] for m in reply["messages"]] == missed
        assert reply["more"] is False
        one = await history(bob, after=last_seen, limit=1)
        assert [m["text"] for m in one["messages"]] == missed[:1] and one["more"] is True
    finally:
        await alice.close()
        await bob.close()


async def test_history_survives_a_full_restart_of_the_stack(tmp_path: Path) -> None:
    storage = tmp_path / "azurite"
    text = unique("remember me")
    (tmp_path / "one").mkdir()
    first = start_stack_process(tmp_path / "one", access_key=new_access_key(), storage_dir=storage)
    try:
        async with browser() as session:
            client = await RawClient.connect(session, first, "ada", "lobby")
            await client.send_chat(text)
            await client.wait_for(chat(text))
            await client.close()
    finally:
        assert first.stop(signal.SIGTERM) == 0, first.text()
    (tmp_path / "two").mkdir()
    second = start_stack_process(tmp_path / "two", access_key=new_access_key(), storage_dir=storage)
    try:
        async with browser() as session:
            client = await RawClient.connect(session, second, "grace", "lobby")
            reply = await history(client)
            assert text in [m["text"] for m in reply["messages"]]
            await client.close()
    finally:
        assert second.stop(signal.SIGTERM) == 0, second.text()


# -- idempotency -----------------------------------------------------------------------------------
async def test_the_same_event_sent_twice_to_the_app_is_stored_and_broadcast_once(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    watcher = await RawClient.connect(http, stack, unique("watcher"), "lobby")
    try:
        text = unique("said once")
        state = base64.b64encode(json.dumps({"room": "lobby", "name": "Eve"}).encode()).decode()
        headers = event_headers(
            "chat",
            connection_id=unique("conn"),
            user_id="guest-duplicate-test",
            keys=(stack.app_access_key,),
            origin=HOST,
            extra={"ce-id": unique("ce"), "ce-connectionState": state},
        )
        body = json.dumps({"text": text}).encode()
        statuses = []
        for _ in range(2):  # what the service does when it did not see our first answer
            async with http.post(stack.api("chat/chat"), data=body, headers=headers) as response:
                statuses.append(response.status)
        assert statuses == [204, 204]
        await watcher.wait_for(chat(text, "guest-duplicate-test"))
        await watcher.assert_never(lambda item: len(chats(watcher, text)) > 1, within=1.0)
        stored = [m for m in (await history(watcher, limit=100))["messages"] if m["text"] == text]
        assert len(stored) == 1 and stored[0]["name"] == "Eve"

        # another ce-id from the same connection is another message
        headers["ce-id"] = unique("ce")
        async with http.post(stack.api("chat/chat"), data=body, headers=headers) as response:
            assert response.status == 204
        await watcher.wait_for(lambda item: len(chats(watcher, text)) == 2)
    finally:
        await watcher.close()


# -- members and typing ---------------------------------------------------------------------------
async def test_members_lists_each_user_once_however_many_tabs(
    stack: StackProcess, http: aiohttp.ClientSession, second_browser: aiohttp.ClientSession
) -> None:
    room = "random"
    async with browser() as carol_browser:
        tab1 = await RawClient.connect(carol_browser, stack, "Carol", room)
        tab2 = await RawClient.connect(carol_browser, stack, "Carol", room)
        dave = await RawClient.connect(second_browser, stack, "Dave", room)
        try:
            assert tab1.user_id == tab2.user_id != dave.user_id
            reply = await dave.request("members", None, "members")
            assert reply["room"] == room
            mine = [m for m in reply["members"] if m["userId"] in (tab1.user_id, dave.user_id)]
            assert sorted(mine, key=lambda m: m["name"]) == [
                {"userId": tab1.user_id, "name": "Carol", "guest": True},
                {"userId": dave.user_id, "name": "Dave", "guest": True},
            ]
            await tab2.close()
            await tab1.close()
            await dave.wait_for(of_kind("left", name="Carol"))
            await asyncio.sleep(0.3)
            after = await dave.request("members", {}, "members")
            assert tab1.user_id not in [m["userId"] for m in after["members"]]
        finally:
            for client in (tab1, tab2, dave):
                await client.close()


async def test_typing_reaches_the_room_but_not_the_sender_at_most_every_two_seconds(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    typist = await RawClient.connect(http, stack, "Typist", "general")
    reader = await RawClient.connect(http, stack, "Reader", "general")
    try:

        def typing_from(user: str) -> Predicate:
            return of_kind("typing", **{"from": user})

        await typist.send_event("typing", None)
        notice = await reader.wait_for(typing_from(typist.user_id))
        assert notice.data == {
            "kind": "typing",
            "from": typist.user_id,
            "name": "Typist",
            "guest": True,
            "room": "general",
        }
        for _ in range(3):
            await typist.send_event("typing", None)
        await asyncio.sleep(1.0)
        assert len([i for i in reader.history if typing_from(typist.user_id)(i)]) == 1
        assert not [i for i in typist.history if typing_from(typist.user_id)(i)]
        await asyncio.sleep(1.2)
        await typist.send_event("typing", {})
        await reader.wait_for(
            lambda _: len([i for i in reader.history if typing_from(typist.user_id)(i)]) == 2
        )
    finally:
        await typist.close()
        await reader.close()


async def test_rate_limit_answers_with_an_error_reply(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    sender = await RawClient.connect(http, stack, "Chatty", "general")
    try:
        texts = [unique("burst") for _ in range(11)]
        for text in texts:
            await sender.send_chat(text)
        error = await sender.wait_for(of_kind("error"))
        assert "slow down" in error.data["reason"] and "10" in error.data["reason"]
        for text in texts[:10]:
            await sender.wait_for(chat(text, sender.user_id))
        await sender.assert_never(chat(texts[10]), within=0.5)
        assert not sender.ws.closed
    finally:
        await sender.close()


# -- identity ----------------------------------------------------------------------------------------
async def test_two_guests_with_the_same_name_are_different_users(
    stack: StackProcess, http: aiohttp.ClientSession, second_browser: aiohttp.ClientSession
) -> None:
    async with browser() as first_browser:
        one = await RawClient.connect(first_browser, stack, "Alice", "lobby")
        two = await RawClient.connect(second_browser, stack, "Alice", "lobby")
        try:
            assert one.user_id != two.user_id
            assert one.user_id.startswith("guest-") and two.user_id.startswith("guest-")
            text = unique("from the first alice")
            await one.send_chat(text)
            got = await two.wait_for(chat(text))
            assert (got.data["from"], got.data["name"]) == (one.user_id, "Alice")
        finally:
            await one.close()
            await two.close()


async def test_a_guest_keeps_its_id_across_reloads_and_cannot_claim_another(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    async def negotiate(session: aiohttp.ClientSession, name: str) -> tuple[dict[str, Any], str]:
        async with session.get(stack.api("negotiate"), params={"name": name}) as response:
            assert response.status == 200
            return await response.json(), response.headers.get("Set-Cookie", "")

    async with browser() as session:
        first, cookie = await negotiate(session, "Zoé")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "chat_guest=" in cookie
        again, _ = await negotiate(session, "Zoé renamed")
        assert again["userId"] == first["userId"] and again["name"] == "Zoé renamed"
    async with browser() as other:
        forged_value = first["userId"] + ".forged-signature"
        other.cookie_jar.update_cookies({"chat_guest": forged_value})
        stranger, _ = await negotiate(other, "Zoé")
        assert stranger["userId"] != first["userId"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("José", "José"), ("Jose\u0301", "José"), ("李雷", "李雷"), ("  Ünïcødé  ", "Ünïcødé")],
)
async def test_unicode_names_are_accepted_in_nfc(
    stack: StackProcess, http: aiohttp.ClientSession, raw: str, expected: str
) -> None:
    client = await RawClient.connect(http, stack, raw, "lobby")
    try:
        assert client.name == expected
        text = unique("hola")
        await client.send_chat(text)
        assert (await client.wait_for(chat(text))).data["name"] == expected
    finally:
        await client.close()


@pytest.mark.parametrize(
    "name", ["\u202eevil", "a\u2066b", "zero\u200bwidth", "bell\x07", "", " ", "x" * 33], ids=repr
)
async def test_invisible_bidi_and_overlong_names_are_refused(
    stack: StackProcess, http: aiohttp.ClientSession, name: str
) -> None:
    async with http.get(stack.api("negotiate"), params={"name": name}) as response:
        assert response.status == 400
        assert "name" in (await response.json())["error"]


@pytest.fixture(scope="module")
def rooms_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    settings = {**TEST_SETTINGS, "ChatRooms": "alpha, beta,gamma"}
    running = start_stack_process(
        tmp_path_factory.mktemp("rooms"), access_key=new_access_key(), settings=settings
    )
    try:
        yield running
    finally:
        assert running.stop(signal.SIGTERM) == 0


async def test_negotiate_reflects_chat_rooms(rooms_stack: StackProcess, http: aiohttp.ClientSession) -> None:
    async with http.get(rooms_stack.api("negotiate"), params={"name": "Ann"}) as response:
        body = await response.json()
    assert body["rooms"] == ["alpha", "beta", "gamma"] and body["room"] == "alpha"
    async with http.get(rooms_stack.api("negotiate"), params={"name": "Ann", "room": "lobby"}) as response:
        assert response.status == 400
        assert (await response.json())["rooms"] == ["alpha", "beta", "gamma"]
    client = await RawClient.connect(http, rooms_stack, "Ann", "gamma")
    try:
        await client.send_chat("in gamma")
        assert (await client.wait_for(chat("in gamma"))).data["room"] == "gamma"
    finally:
        await client.close()
