"""Edits, deletes, reactions and unread counts end to end (``python -m devhost``, Azurite)."""

from __future__ import annotations

import asyncio
import json

import pytest
from azure.data.tables import TableServiceClient

from devhost.storage import ACCOUNT, ACCOUNT_KEY
from tests.chat.e2e.clients import RawClient, Received, chat
from tests.chat.e2e.stack_process import StackProcess

from .people import People, ask, kind_is, refused, unique

pytestmark = pytest.mark.e2e


async def said(client: RawClient, text: str) -> str:
    """Send ``text`` and return its id (from the sender's own copy of the broadcast)."""
    await client.send_chat(text)
    return str((await client.wait_for(chat(text, client.user_id))).data["id"])


def stored_rows(stack: StackProcess, room: str, message_id: str) -> list[dict]:
    """The message's rows as they are in Azurite (both orders), read past the app."""
    endpoint = f"{stack.storage_url.rstrip('/')}"
    if not endpoint.endswith(ACCOUNT):
        endpoint += f"/{ACCOUNT}"
    conn = f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
    table = TableServiceClient.from_connection_string(f"{conn}TableEndpoint={endpoint};").get_table_client(
        "chathistory"
    )
    rows = table.query_entities("PartitionKey eq @p", parameters={"p": room})
    return [dict(row) for row in rows if row.get("id") == message_id or row["RowKey"].endswith(message_id)]


async def test_edit_and_delete_only_by_the_right_people(stack: StackProcess, people: People) -> None:
    alice, owner = await people.person("Alice")
    bob, moderator = await people.person("Bob")
    carol, member = await people.person("Carol")
    room = (await ask(owner, "create", {"name": "Desk", "members": [bob.user_id, carol.user_id]}, "room"))[
        "room"
    ]
    rid = room["id"]
    await ask(owner, "role", {"room": rid, "userId": bob.user_id, "role": "moderator"}, "member")
    for tab in (owner, moderator, member):
        await ask(tab, "open", {"room": rid}, "opened")
    by_carol, by_bob = await said(member, unique("carol's")), await said(moderator, unique("bob's"))
    by_alice = await said(owner, unique("alice's"))

    assert "only its author" in await refused(moderator, "edit", {"id": by_carol, "text": "bob was here"})
    assert "only its author" in await refused(owner, "edit", {"id": by_carol, "text": "alice was here"})
    await member.send_event("edit", {"id": by_carol, "text": "carol, edited"})
    edited = await owner.wait_for(kind_is("edited", id=by_carol))
    assert (edited.data["text"], edited.data["room"]) == ("carol, edited", rid) and edited.data["editedAt"]

    assert "owner or moderator" in await refused(member, "delete", {"id": by_bob})
    assert "owner or moderator" in await refused(member, "delete", {"id": by_alice})
    await moderator.send_event("delete", {"id": by_carol})  # a moderator deletes a member's message
    await member.wait_for(kind_is("deleted", id=by_carol, room=rid))
    await owner.send_event("delete", {"id": by_bob})  # the owner deletes the moderator's
    await moderator.wait_for(kind_is("deleted", id=by_bob))
    assert "no such message" in await refused(member, "edit", {"id": by_carol, "text": "back"})

    page = {m["id"]: m for m in (await ask(member, "history", {"limit": 10}, "history"))["messages"]}
    assert page[by_carol] == {"kind": "chat", "id": by_carol, "room": rid, "deleted": True}
    assert page[by_bob]["deleted"] is True and "text" not in page[by_bob]
    assert page[by_alice]["text"].startswith("alice's") and "editedAt" not in page[by_alice]
    rows = stored_rows(stack, rid, by_carol) + stored_rows(stack, rid, by_bob)
    assert len([row for row in rows if row.get("deleted")]) == 4  # both orders of both messages
    for row in rows:  # no text, name or author left in storage (the claims keep id and time)
        assert not {"text", "name", "userId"} & set(row), row

    # in a public room nobody moderates: only the author deletes
    lobby_a, lobby_b = await alice.tab("lobby"), await bob.tab("lobby")
    public_id = await said(lobby_a, unique("public"))
    assert "only its author" in await refused(lobby_b, "delete", {"id": public_id})
    await lobby_a.send_event("edit", {"id": public_id, "text": "public, edited"})
    await lobby_b.wait_for(kind_is("edited", id=public_id))
    reply = await ask(lobby_b, "history", {"limit": 20}, "history")
    [mine] = [m for m in reply["messages"] if m["id"] == public_id]
    assert mine["text"] == "public, edited" and mine["editedAt"] == (
        next(i.data["editedAt"] for i in lobby_b.history if kind_is("edited", id=public_id)(i))
    )


async def test_ten_concurrent_reactions_are_all_counted(people: People) -> None:
    host, host_tab = await people.person("Host")
    crowd = [await people.person(f"Fan{n}") for n in range(10)]
    room = (
        await ask(host_tab, "create", {"name": "Stage", "members": [p.user_id for p, _ in crowd]}, "room")
    )["room"]
    tabs = [tab for _, tab in crowd]
    for tab in [host_tab, *tabs]:
        await ask(tab, "open", {"room": room["id"]}, "opened")
    message_id = await said(host_tab, unique("react to me"))
    await asyncio.gather(
        *(tab.send_event("react", {"id": message_id, "emoji": "👍🏽", "on": True}) for tab in tabs)
    )

    def tally(item: Received) -> bool:
        return kind_is("reactions", id=message_id)(item)

    await host_tab.wait_for(
        lambda _: max([i.data["version"] for i in host_tab.history if tally(i)] or [0]) >= 10
    )
    newest = max((i.data for i in host_tab.history if tally(i)), key=lambda d: d["version"])
    assert newest["reactions"] == [{"emoji": "👍🏽", "count": 10, "users": newest["reactions"][0]["users"]}]
    assert set(newest["reactions"][0]["users"]) == {p.user_id for p, _ in crowd}
    page = await ask(host_tab, "history", {"limit": 5}, "history")
    [message] = [m for m in page["messages"] if m["id"] == message_id]
    assert message["reactions"][0]["count"] == 10

    # one emoji at a time, 20 different at most; taking one back
    for bad in ("👍👍", "a", "1", "👍\u0301", "", 5):
        assert "emoji" in await refused(tabs[0], "react", {"id": message_id, "emoji": bad})
    await tabs[0].send_event("react", {"id": message_id, "emoji": "👍🏽", "on": False})
    await host_tab.wait_for(lambda i: tally(i) and i.data["reactions"][0]["count"] == 9)
    for emoji in ["🇫🇷", "👩‍👩‍👧", "1️⃣", *"😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰🤔"]:
        await host_tab.send_event("react", {"id": message_id, "emoji": emoji})
    assert "at most 20" in await refused(host_tab, "react", {"id": message_id, "emoji": "🙃"})


async def test_unread_notices_reach_every_tab_of_a_user_and_read_clears_them(people: People) -> None:
    uma, first_tab = await people.person("Uma")
    second_tab = await uma.tab("general")  # the same user on another tab, viewing another room
    vic, poster = await people.person("Vic")
    room = (await ask(poster, "create", {"name": "Ping", "members": [uma.user_id]}, "room"))["room"]
    rid = room["id"]
    await ask(poster, "open", {"room": rid}, "opened")
    await said(poster, unique("one"))
    latest = await said(poster, unique("two"))
    for tab in (first_tab, second_tab):
        await tab.wait_for(kind_is("unread", room=rid, unread=2))
    rooms = {r["id"]: r for r in (await ask(second_tab, "rooms", None, "rooms"))["rooms"]}
    assert (rooms[rid]["unread"], rooms[rid]["kind"], rooms[rid]["role"]) == (2, "private", "member")

    seen = len(second_tab.history)
    await first_tab.send_event("read", {"room": rid, "id": latest})
    for tab in (first_tab, second_tab):
        await tab.wait_for(kind_is("unread", room=rid, unread=0), since=seen if tab is second_tab else 0)
    # viewing the room: no unread notice for what arrives there
    await ask(first_tab, "open", {"room": rid}, "opened")
    text = unique("three")
    seen = len(second_tab.history)
    await poster.send_chat(text)
    await first_tab.wait_for(chat(text))
    await asyncio.sleep(0.5)
    assert not [i for i in second_tab.history[seen:] if kind_is("unread", room=rid)(i)]
    # a read marker never moves back
    await first_tab.send_event("read", {"room": rid, "id": "0000000000001aaaaaaaa"})
    await second_tab.wait_for(kind_is("unread", room=rid, unread=1), since=seen)


async def test_history_members_and_room_events_are_rate_limited(people: People) -> None:
    _, tab = await people.person("Hasty")
    for _ in range(20):
        await tab.send_event("history", {"limit": 1})
    reason = await refused(tab, "members", None)
    assert "slow down" in reason and "20" in reason
    for n in range(10):
        await tab.send_event("open", {"room": "general" if n % 2 else "lobby"})
    assert "slow down" in await refused(tab, "open", {"room": "random"})


async def test_display_names_cannot_pass_for_the_page_own_words(stack: StackProcess, people: People) -> None:
    person, _ = await people.person("Someone")
    for name in (
        "You",
        "ＹＯＵ",
        "server",
        "System:",
        "Bob joined",
        "Bob left",
        "Ann is typing",
        "Server: ok",
    ):
        async with person.session.get(stack.api("negotiate"), params={"name": name}) as response:
            assert response.status == 400, name
            assert "name" in (await response.json())["error"]
    for name in ("\u0301\u0301", "\u3164", "\u200b", "\u2800"):
        async with person.session.get(stack.api("negotiate"), params={"name": name}) as response:
            assert response.status == 400, repr(name)
    async with person.session.get(stack.api("negotiate"), params={"name": "Youssef"}) as response:
        assert response.status == 200


async def test_broadcasts_and_history_say_who_is_a_guest(people: People) -> None:
    guest, tab = await people.person("Gus")
    text = unique("guest says")
    message_id = await said(tab, text)
    live = await tab.wait_for(chat(text))
    assert live.data["guest"] is True
    page = await ask(tab, "history", {"limit": 10}, "history")
    [stored] = [m for m in page["messages"] if m["id"] == message_id]
    assert stored["guest"] is True and stored["name"] == guest.name
    joined = next(i for i in tab.history if kind_is("joined", **{"from": guest.user_id})(i))
    assert joined.data["guest"] is True
    assert json.dumps(stored)  # plain JSON
