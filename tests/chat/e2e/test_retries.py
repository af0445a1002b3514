"""A write retried by the service (same connection, same ``ce-id``) has one effect: the
signed event is posted twice straight to the function app, as the service does when it did
not see the first answer, and the room sees one broadcast, storage one change."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import pytest

from tests.chat.e2e.clients import RawClient, Received, chat
from tests.chat.e2e.stack_process import HOST, StackProcess
from tests.chat.upstream_requests import event_headers

from .people import People, ask, kind_is, unique

pytestmark = pytest.mark.e2e


async def post_twice(
    http: aiohttp.ClientSession,
    stack: StackProcess,
    event: str,
    data: Any,
    user_id: str,
    state: dict[str, Any],
) -> list[Any]:
    """The same signed event twice (one connection id, one ``ce-id``): both replies."""
    headers = event_headers(
        event,
        connection_id=unique("conn"),
        user_id=user_id,
        keys=(stack.app_access_key,),
        origin=HOST,
        extra={
            "ce-id": unique("ce"),
            "ce-connectionState": base64.b64encode(json.dumps(state).encode()).decode(),
        },
    )
    replies = []
    for _ in range(2):
        async with http.post(
            stack.api(f"chat/{event}"), data=json.dumps(data).encode(), headers=headers
        ) as response:
            assert response.status in (200, 204), await response.text()
            replies.append(await response.json() if response.status == 200 else None)
    return replies


def count(client: RawClient, predicate: Any) -> int:
    return len([item for item in client.history if predicate(item)])


async def test_retried_create_edit_delete_and_react_have_one_effect(
    stack: StackProcess, http: aiohttp.ClientSession, people: People
) -> None:
    alice, tab = await people.person("Alice")
    bob, watcher = await people.person("Bob")
    state = {"room": "lobby", "kind": "public", "role": "member", "name": alice.name}

    first, second = await post_twice(
        http, stack, "create", {"name": "Once", "members": [bob.user_id]}, alice.user_id, state
    )
    assert first["kind"] == second["kind"] == "room" and first["room"]["id"] == second["room"]["id"]
    await watcher.wait_for(kind_is("room-added"))
    listed = [r for r in (await ask(tab, "rooms", None, "rooms"))["rooms"] if r["name"] == "Once"]
    assert len(listed) == 1

    text = unique("to change")
    await tab.send_chat(text)
    message_id = (await watcher.wait_for(chat(text))).data["id"]
    await post_twice(http, stack, "react", {"id": message_id, "emoji": "🎉"}, alice.user_id, state)
    tally = (await watcher.wait_for(kind_is("reactions", id=message_id))).data
    assert (tally["reactions"], tally["version"]) == (
        [{"emoji": "🎉", "count": 1, "users": [alice.user_id]}],
        1,
    )
    await post_twice(http, stack, "edit", {"id": message_id, "text": "changed once"}, alice.user_id, state)
    await post_twice(http, stack, "delete", {"id": message_id}, alice.user_id, state)
    await watcher.wait_for(kind_is("deleted", id=message_id))
    await asyncio.sleep(0.5)
    for kind in ("reactions", "edited", "deleted"):
        assert count(watcher, kind_is(kind, id=message_id)) == 1, kind
    assert count(tab, kind_is("room-added")) == 1  # the creator's notice, once
    assert count(watcher, lambda i: isinstance(i, Received) and kind_is("room-added")(i)) == 1
    page = await ask(watcher, "history", {"limit": 20}, "history")
    assert [m for m in page["messages"] if m["id"] == message_id] == [
        {"kind": "chat", "id": message_id, "room": "lobby", "deleted": True}
    ]
