"""The template's e2e clients (``tests/e2e/clients.py``) speaking the chat: rooms, ``chat`` events
and the chat's broadcasts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from tests.e2e import clients as template
from tests.e2e.clients import (
    JSON_SUBPROTOCOL,
    WAIT,
    Predicate,
    Received,
    Recorder,
    UpgradeRefused,
    from_user,
    presence,
    redact,
)
from tests.e2e.stack_process import StackProcess

__all__ = [
    "JSON_SUBPROTOCOL",
    "WAIT",
    "Predicate",
    "RawClient",
    "Received",
    "Recorder",
    "SdkClient",
    "UpgradeRefused",
    "any_chat_from",
    "chat",
    "error_reply",
    "from_user",
    "negotiate",
    "presence",
    "redact",
]


# The kinds of the chat's replies to a client's own events (docs/chat-protocol.md).
REPLY_KINDS = frozenset({"error", "history", "members", "rooms", "opened", "room", "member"})


def chat(text: str, sender: str | None = None, room: str | None = None) -> Predicate:
    def matches(item: Received) -> bool:
        data = item.data
        return (
            isinstance(data, dict)
            and data.get("kind") == "chat"
            and data.get("text") == text
            and (sender is None or data.get("from") == sender)
            and (room is None or data.get("room") == room)
        )

    return matches


def error_reply(fragment: str) -> Predicate:
    def matches(item: Received) -> bool:
        data = item.data
        return isinstance(data, dict) and data.get("kind") == "error" and fragment in str(data.get("reason"))

    return matches


def any_chat_from(sender: str) -> Predicate:
    return lambda item: (
        isinstance(item.data, dict) and item.data.get("kind") == "chat" and item.data.get("from") == sender
    )


async def negotiate(
    session: aiohttp.ClientSession, stack: StackProcess, name: str, room: str = "lobby"
) -> dict[str, Any]:
    return await template.negotiate(session, stack, name, room=room)


class RawClient(template.RawClient):
    """A raw WebSocket chat client in ``room``."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, negotiated: dict[str, Any]) -> None:
        super().__init__(ws, negotiated)
        self.room: str = negotiated["room"]

    @classmethod
    async def connect(  # type: ignore[override]
        cls,
        session: aiohttp.ClientSession,
        stack: StackProcess,
        name: str,
        room: str = "lobby",
        *,
        subprotocol: str | None = JSON_SUBPROTOCOL,
    ) -> RawClient:
        return await super().connect(session, stack, name, subprotocol=subprotocol, params={"room": room})

    async def request_any(self, event: str, data: Any) -> dict[str, Any]:
        """Send a custom event and return the app's reply to it, whatever its kind. The reply
        comes before the event's ack; other server messages (notices to the user) may come
        between, so it is the last reply-shaped server message before the ack."""
        seen = len(self.history)
        ack_id = await self.send_event(event, data)
        await self.wait_for(lambda item: item.source == "ack" and item.data == ack_id, since=seen)
        replies = [
            item.data
            for item in self.history[seen:]
            if item.source == "server"
            and isinstance(item.data, dict)
            and item.data.get("kind") in REPLY_KINDS
        ]
        assert replies, f"no reply to {event}; history: {self.history[seen:]!r}"
        return replies[-1]  # type: ignore[no-any-return]

    async def send_chat(self, text: Any) -> int:
        """JSON clients: a ``chat`` event with an ackId (returned). Simple clients: a text frame."""
        if self.ws.protocol is None:
            await self.send_text(text)
            return 0
        return await self.send_event("chat", {"text": text})


class SdkClient(template.SdkClient):
    """The official client SDK as a chat client in ``room``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        stack: StackProcess,
        name: str,
        params: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(session, stack, name, params)
        self.room = (params or {}).get("room", "lobby")

    @classmethod
    async def connect(  # type: ignore[override]
        cls, session: aiohttp.ClientSession, stack: StackProcess, name: str, room: str = "lobby"
    ) -> SdkClient:
        return await super().connect(session, stack, name, params={"room": room})

    async def send_chat(self, text: str) -> None:
        """``send_event`` waits for the service's ack and raises if it is negative."""
        await self.send_event("chat", {"text": text})
