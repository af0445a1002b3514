"""Users for the rooms tests: each with its own cookie jar (one browser profile = one guest
id), any number of tabs, and the room events as one-line calls."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.chat.e2e.clients import RawClient, Received
from tests.chat.e2e.stack_process import StackProcess


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def kind_is(kind: str, **fields: Any):  # type: ignore[no-untyped-def]
    def matches(item: Received) -> bool:
        data = item.data
        return (
            isinstance(data, dict)
            and data.get("kind") == kind
            and all(data.get(k) == v for k, v in fields.items())
        )

    return matches


async def ask(client: RawClient, event: str, data: Any, kind: str) -> dict[str, Any]:
    """Send an event and return its reply; fails if the reply is an error of another kind."""
    reply = await client.request_any(event, data)
    assert reply.get("kind") == kind, f"{event} {data!r} -> {reply!r}"
    return reply


async def refused(client: RawClient, event: str, data: Any) -> str:
    reply = await client.request_any(event, data)
    assert reply.get("kind") == "error", f"{event} {data!r} was not refused: {reply!r}"
    return str(reply["reason"])


class Person:
    """One user (one browser profile) with its tabs."""

    def __init__(self, session: aiohttp.ClientSession, stack: StackProcess, name: str) -> None:
        self.session, self.stack, self.name = session, stack, name
        self.tabs: list[RawClient] = []

    @property
    def user_id(self) -> str:
        return self.tabs[0].user_id

    async def tab(self, room: str = "lobby") -> RawClient:
        client = await RawClient.connect(self.session, self.stack, self.name, room)
        self.tabs.append(client)
        await client.wait_for(
            lambda i: (
                isinstance(i.data, dict)
                and i.data.get("kind") == "joined"
                and i.data.get("from") == client.user_id
            )
        )
        return client


class People:
    def __init__(self, stack: StackProcess) -> None:
        self.stack = stack
        self.sessions: list[aiohttp.ClientSession] = []
        self.people: list[Person] = []

    async def person(self, name: str, room: str = "lobby") -> tuple[Person, RawClient]:
        session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=30)
        )
        self.sessions.append(session)
        person = Person(session, self.stack, unique(name))
        self.people.append(person)
        return person, await person.tab(room)

    async def close(self) -> None:
        for person in self.people:
            for tab in person.tabs:
                await tab.close()
        for session in self.sessions:
            await session.close()


@pytest.fixture
async def people(stack: StackProcess) -> AsyncIterator[People]:
    crowd = People(stack)
    try:
        yield crowd
    finally:
        await crowd.close()
