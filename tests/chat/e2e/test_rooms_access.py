"""Who may be in which room, end to end: private rooms and DMs against every way in that a
non-member or a removed member could try (a crafted negotiate or client URL, ``open``, a
hand-made ``joinGroup``/``sendToGroup`` frame, a payload naming the room), and a removed
member's connections leaving at once. Real stack: ``python -m devhost`` with Azurite."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest

from tests.chat.e2e.clients import Received, chat
from tests.chat.e2e.stack_process import StackProcess

from .people import People, ask, kind_is, refused, unique

pytestmark = pytest.mark.e2e


def mentions(room_ids: set[str], secret: str):  # type: ignore[no-untyped-def]
    """Anything that belongs to those rooms or carries the secret text."""

    def matches(item: Received) -> bool:
        text = json.dumps(item.data, ensure_ascii=False) if not isinstance(item.data, str) else item.data
        in_room = isinstance(item.data, dict) and item.data.get("room") in room_ids
        group = isinstance(item.frame, dict) and item.frame.get("group") in room_ids
        return in_room or group or secret in text

    return matches


def with_room(url: str, room: str) -> str:
    """The client URL with its ``room`` query parameter edited, as a user could."""
    parts = urlsplit(url)
    query = [(k, room if k == "room" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_a_non_member_reaches_no_private_room_or_dm_whatever_it_crafts(
    stack: StackProcess, people: People
) -> None:
    secret = unique("secret")
    alice, alice_tab = await people.person("Alice")
    bob, bob_tab = await people.person("Bob")
    mallory, spy = await people.person("Mallory")
    room = (await ask(alice_tab, "create", {"name": "Plans", "members": [bob.user_id]}, "room"))["room"]
    assert (room["kind"], room["role"]) == ("private", "owner") and room["id"].startswith("~r")
    dm = (await ask(alice_tab, "dm", {"userId": bob.user_id}, "room"))["room"]
    private = {room["id"], dm["id"]}
    await ask(alice_tab, "open", {"room": room["id"]}, "opened")
    await ask(bob_tab, "open", {"room": room["id"]}, "opened")
    alice_dm, bob_dm = await alice.tab(dm["id"]), await bob.tab(dm["id"])
    await alice_tab.send_chat(f"{secret} one")
    said = await bob_tab.wait_for(chat(f"{secret} one", alice.user_id, room["id"]))
    message_id = said.data["id"]

    # negotiate, and a client URL whose room was edited: refused before any group is joined
    for target in private:
        params = {"name": mallory.name, "room": target}
        async with mallory.session.get(stack.api("negotiate"), params=params) as response:
            assert response.status == 403
    for target in private:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refusal:
            await mallory.session.ws_connect(
                with_room(spy.negotiated["url"], target), protocols=(spy.ws.protocol,)
            )
        assert refusal.value.status == 403
    # open, and events naming the room in their payload
    for target in private:
        assert "not a member" in await refused(spy, "open", {"room": target})
        assert "not a member" in await refused(spy, "read", {"room": target, "id": message_id})
        for event in ("invite", "remove"):
            await refused(spy, event, {"room": target, "userId": mallory.user_id})
        await refused(spy, "role", {"room": target, "userId": mallory.user_id, "role": "owner"})
    for event, data in (
        ("edit", {"id": message_id, "text": "mine now", "room": room["id"]}),
        ("delete", {"id": message_id, "room": room["id"]}),
        ("react", {"id": message_id, "emoji": "👀", "room": room["id"]}),
    ):
        assert "no such message" in await refused(spy, event, data)
    page = await ask(spy, "history", {"room": room["id"], "limit": 100}, "history")
    members = await ask(spy, "members", {"room": room["id"]}, "members")
    assert page["room"] == members["room"] == "lobby"
    assert not [m for m in page["messages"] if secret in json.dumps(m)]
    # hand-made frames: the token has no roles, so the service refuses them
    for ack_id, frame in enumerate(
        [
            {"type": "joinGroup", "group": room["id"]},
            {"type": "joinGroup", "group": dm["id"]},
            {
                "type": "sendToGroup",
                "group": room["id"],
                "dataType": "json",
                "data": {"kind": "chat", "text": "x"},
            },
            {"type": "leaveGroup", "group": "lobby"},
        ],
        start=100,
    ):
        await spy.ws.send_json({**frame, "ackId": ack_id})
        ack = await spy.wait_for_ack(ack_id)
        assert (ack["success"], ack["error"]["name"]) == (False, "Forbidden"), ack
    rooms = (await ask(spy, "rooms", None, "rooms"))["rooms"]
    assert not private & {r["id"] for r in rooms}

    # and after all that, nothing of either room reaches the spy
    await alice_tab.send_chat(f"{secret} two")
    await alice_dm.send_chat(f"{secret} three")
    await bob_tab.wait_for(chat(f"{secret} two"))
    await bob_dm.wait_for(chat(f"{secret} three", room=dm["id"]))
    await spy.assert_never(mentions(private, secret), within=1.0)
    assert not [
        item
        for item in bob_tab.history
        if isinstance(item.data, dict)
        and item.data.get("from") == mallory.user_id
        and item.data.get("kind") == "chat"
    ]


async def test_a_removed_member_stops_receiving_within_a_second(people: People) -> None:
    secret = unique("after")
    alice, owner = await people.person("Alice")
    bob, member = await people.person("Bob")
    room = (await ask(owner, "create", {"name": "Team", "members": [bob.user_id]}, "room"))["room"]
    await ask(owner, "open", {"room": room["id"]}, "opened")
    await ask(member, "open", {"room": room["id"]}, "opened")
    other_tab = await bob.tab(room["id"])  # a second device viewing the room too
    await owner.send_chat("before")
    await member.wait_for(chat("before"))

    lobby_tab = await bob.tab("lobby")  # Bob elsewhere: stays connected
    started = time.monotonic()
    reply = await ask(owner, "remove", {"room": room["id"], "userId": bob.user_id}, "member")
    assert reply["member"] == {"userId": bob.user_id, "name": bob.name, "role": None}
    for tab in (member, other_tab, lobby_tab):
        await tab.wait_for(kind_is("room-removed", room=room["id"]), timeout=1.0)
    # the tabs viewing the room are out of its group and closed (their state named the room)
    for tab in (member, other_tab):
        await asyncio.wait_for(tab._reader, timeout=max(0.05, 1.0 - (time.monotonic() - started)))
        assert tab.ws.closed
    assert time.monotonic() - started < 1.0
    await owner.send_chat(f"{secret} owner")
    await owner.wait_for(chat(f"{secret} owner"))
    for tab in (member, other_tab, lobby_tab):
        assert not [i for i in tab.history if secret in json.dumps(i.data, ensure_ascii=False)]
    assert not lobby_tab.ws.closed
    # back in through the URL: refused
    async with bob.session.get(
        people.stack.api("negotiate"), params={"name": bob.name, "room": room["id"]}
    ) as r:
        assert r.status == 403
    assert "not a member" in await refused(lobby_tab, "open", {"room": room["id"]})
    await owner.assert_never(
        lambda i: (
            isinstance(i.data, dict)
            and i.data.get("kind") in ("chat", "typing")
            and i.data.get("from") == bob.user_id
        ),
        within=0.3,
    )
    rooms = (await ask(lobby_tab, "rooms", None, "rooms"))["rooms"]
    assert room["id"] not in {r["id"] for r in rooms}


async def test_a_dm_is_the_same_room_from_both_sides(people: People) -> None:
    alice, a = await people.person("Alice")
    bob, b = await people.person("Bob")
    first = (await ask(a, "dm", {"userId": bob.user_id}, "room"))["room"]
    second = (await ask(b, "dm", {"userId": alice.user_id}, "room"))["room"]
    third = (await ask(a, "dm", {"userId": bob.user_id}, "room"))["room"]
    assert first["id"] == second["id"] == third["id"] and first["id"].startswith("~d")
    assert (first["kind"], first["with"], second["with"]) == (
        "dm",
        {"userId": bob.user_id, "name": bob.name},
        {"userId": alice.user_id, "name": alice.name},
    )
    await b.wait_for(kind_is("room-added"))
    await b.assert_never(lambda _: len([i for i in b.history if kind_is("room-added")(i)]) > 1, within=0.3)
    # nobody else can be brought into a DM, and one cannot message oneself
    carol, c = await people.person("Carol")
    assert "direct message" in await refused(a, "invite", {"room": first["id"], "userId": carol.user_id})
    assert "another user" in await refused(a, "dm", {"userId": alice.user_id})
    assert "unknown user" in await refused(a, "dm", {"userId": "guest-nobody-has-this-id-000"})
    await ask(a, "open", {"room": first["id"]}, "opened")
    await ask(b, "open", {"room": first["id"]}, "opened")
    await a.send_chat("just us")
    await b.wait_for(chat("just us", alice.user_id, first["id"]))
    await c.assert_never(lambda i: i.data and "just us" in json.dumps(i.data, ensure_ascii=False), within=0.3)


async def test_roles_decide_who_invites_removes_and_promotes(people: People) -> None:
    alice, owner = await people.person("Alice")
    bob, moderator = await people.person("Bob")
    carol, member = await people.person("Carol")
    dave, _ = await people.person("Dave")
    room = (await ask(owner, "create", {"name": "Ops", "members": [bob.user_id, carol.user_id]}, "room"))[
        "room"
    ]
    rid = room["id"]
    assert "owner" in await refused(moderator, "role", {"room": rid, "userId": bob.user_id, "role": "owner"})
    await ask(owner, "role", {"room": rid, "userId": bob.user_id, "role": "moderator"}, "member")
    assert "owner or a moderator" in await refused(member, "invite", {"room": rid, "userId": dave.user_id})
    added = await ask(moderator, "invite", {"room": rid, "userId": dave.user_id}, "member")
    assert added["member"]["role"] == "member"
    assert "only an owner" in await refused(moderator, "remove", {"room": rid, "userId": alice.user_id})
    assert "last owner" in await refused(owner, "remove", {"room": rid, "userId": alice.user_id})
    assert "last owner" in await refused(
        owner, "role", {"room": rid, "userId": alice.user_id, "role": "member"}
    )
    await ask(moderator, "remove", {"room": rid, "userId": dave.user_id}, "member")
    await ask(member, "remove", {"room": rid, "userId": carol.user_id}, "member")  # leaving
    await ask(owner, "open", {"room": rid}, "opened")
    listed = (await ask(owner, "members", None, "members"))["members"]
    assert sorted((m["userId"], m["role"], m["connected"]) for m in listed) == sorted(
        [(alice.user_id, "owner", True), (bob.user_id, "moderator", False)]
    )
