"""The chat end to end: real WebSocket clients -> emulator -> function app -> emulator -> clients.

Clients: the official Python SDK (reliable JSON subprotocol), a raw ``json.webpubsub.azure.v1``
client and a simple (no subprotocol) client. All negotiate through ``/api/negotiate``.
"""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from .clients import JSON_SUBPROTOCOL, RawClient, SdkClient, any_chat_from, chat, error_reply, presence
from .stack_process import StackProcess

pytestmark = pytest.mark.e2e


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def test_negotiate_gives_an_emulator_url_for_the_requested_room(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    name = unique("nia")
    async with http.get(stack.api("negotiate"), params={"name": name, "room": "general"}) as response:
        body = await response.json()
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
    emulator_ws = stack.emulator_url.replace("http://", "ws://")
    assert body["url"].startswith(f"{emulator_ws}/client/hubs/chat?access_token=")
    assert "&room=general&" in body["url"]
    assert body["userId"].startswith("guest-") and body["userId"] != name
    assert (body["name"], body["guest"], body["room"]) == (name, True, "general")
    assert body["rooms"] == ["lobby", "general", "random"]

    async with http.get(stack.api("negotiate"), params={"name": name, "room": "attic"}) as response:
        assert response.status == 400
        assert "room" in (await response.json())["error"]
    async with http.get(stack.api("negotiate"), params={"name": "\u202eevil", "room": "lobby"}) as response:
        assert response.status == 400


async def test_sdk_and_raw_clients_chat_and_see_each_other_join_and_leave(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    alice_name, bob_name = unique("alice"), unique("bob")
    alice = await SdkClient.connect(http, stack, alice_name, "lobby")
    try:
        assert alice.negotiations == 1
        await alice.wait_for(presence("joined", alice.user_id, "lobby"))
        bob = await RawClient.connect(http, stack, bob_name, "lobby")
        bob_id = bob.user_id
        await bob.wait_for(presence("joined", bob_id, "lobby"))
        joined = await alice.wait_for(presence("joined", bob_id, "lobby"))
        assert joined.data["name"] == bob_name

        ack_id = await bob.send_chat("hello from bob")
        got = await alice.wait_for(chat("hello from bob", bob_id, "lobby"))
        assert got.data["time"].endswith("Z")
        assert got.data["name"] == bob_name and len(got.data["id"]) == 21
        assert (await bob.wait_for_ack(ack_id))["success"] is True
        await bob.wait_for(chat("hello from bob", bob_id))  # the sender sees its own message too

        await alice.send_chat("hi bob, from the SDK")
        await bob.wait_for(chat("hi bob, from the SDK", alice.user_id, "lobby"))

        await bob.close()
        await alice.wait_for(presence("left", bob_id, "lobby"))
    finally:
        await alice.close()


async def test_simple_client_chats_through_the_message_event(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    plain_name, json_name = unique("plain"), unique("json")
    listener = await RawClient.connect(http, stack, json_name, "random")
    plain = await RawClient.connect(http, stack, plain_name, "random", subprotocol=None)
    try:
        assert plain.ws.protocol is None
        await listener.wait_for(presence("joined", plain.user_id, "random"))
        await plain.send_chat("  plain text frame  ")
        await listener.wait_for(chat("plain text frame", plain.user_id, "random"))
        # Simple clients get the broadcast JSON as a text frame of its own.
        raw = await plain.wait_for(chat("plain text frame", plain.user_id))
        assert raw.source == "raw"

        await listener.send_chat("reply to plain")
        await plain.wait_for(chat("reply to plain", listener.user_id, "random"))
    finally:
        await plain.close()
        await listener.close()


async def test_rooms_are_separate(stack: StackProcess, http: aiohttp.ClientSession) -> None:
    in_lobby, in_general = unique("lobbyist"), unique("generalist")
    lobby = await RawClient.connect(http, stack, in_lobby, "lobby")
    general = await RawClient.connect(http, stack, in_general, "general")
    try:
        await lobby.send_chat("lobby only")
        await general.send_chat("general only")
        await lobby.wait_for(chat("lobby only", lobby.user_id))
        await general.wait_for(chat("general only", general.user_id))
        await lobby.assert_never(any_chat_from(general.user_id), within=0.5)
        await general.assert_never(any_chat_from(lobby.user_id), within=0.1)
        await lobby.assert_never(presence("joined", general.user_id), within=0)
    finally:
        await lobby.close()
        await general.close()


@pytest.mark.parametrize("subprotocol", [JSON_SUBPROTOCOL, None], ids=["json-client", "simple-client"])
async def test_empty_and_overlong_text_get_an_error_reply_and_the_connection_stays_usable(
    stack: StackProcess, http: aiohttp.ClientSession, subprotocol: str | None
) -> None:
    sender_name, watcher_name = unique("sender"), unique("watcher")
    watcher = await RawClient.connect(http, stack, watcher_name, "general")
    sender = await RawClient.connect(http, stack, sender_name, "general", subprotocol=subprotocol)
    try:
        empty_ack = await sender.send_chat("   ")
        await sender.wait_for(error_reply("empty"))
        too_long = "x" * 2001
        await sender.send_chat(too_long)
        await sender.wait_for(error_reply("longer than 2000"))
        if subprotocol:
            # The event itself was handled: the service acks it; the refusal is in the reply.
            assert (await sender.wait_for_ack(empty_ack))["success"] is True
            error = await sender.wait_for(error_reply("empty"))
            assert error.source == "server"

        await sender.send_chat("still here")
        await watcher.wait_for(chat("still here", sender.user_id, "general"))
        assert not sender.ws.closed
        await watcher.assert_never(chat(too_long), within=0)
        await watcher.assert_never(lambda item: item.data == {"kind": "chat", "text": ""}, within=0)
        assert len([item for item in watcher.history if any_chat_from(sender.user_id)(item)]) == 1
    finally:
        await sender.close()
        await watcher.close()


async def test_a_sender_cannot_choose_its_name_or_room_in_the_message(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    mallory, watcher_name = unique("mallory"), unique("watcher")
    watcher = await RawClient.connect(http, stack, watcher_name, "lobby")
    sender = await RawClient.connect(http, stack, mallory, "lobby")
    try:
        await sender.ws.send_json(
            {
                "type": "event",
                "event": "chat",
                "dataType": "json",
                "data": {"text": "who am i", "from": "admin", "room": "general"},
                "ackId": 1,
            }
        )
        got = await watcher.wait_for(chat("who am i"))
        assert (got.data["from"], got.data["name"], got.data["room"]) == (sender.user_id, mallory, "lobby")
        # Publishing straight to a group is not allowed: the token only grants join/leave.
        await sender.ws.send_json(
            {
                "type": "sendToGroup",
                "group": "lobby",
                "dataType": "json",
                "data": {"kind": "chat"},
                "ackId": 2,
            }
        )
        ack = await sender.wait_for_ack(2)
        assert ack["success"] is False
        assert ack["error"]["name"] == "Forbidden"
    finally:
        await sender.close()
        await watcher.close()
