"""WebSocket chat clients for e2e tests: raw aiohttp (with and without the JSON subprotocol)
and the official ``azure-messaging-webpubsubclient`` SDK, all negotiating through the app.

Every client keeps what it received in ``history`` as ``Received`` records so tests can wait
for a message (``wait_for``) or check that one never came (``assert_never``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .stack_process import StackProcess

JSON_SUBPROTOCOL = "json.webpubsub.azure.v1"
# Kinds of the chat's replies to an event (docs/chat-protocol.md); notices are other kinds.
REPLY_KINDS = frozenset({"error", "history", "members", "rooms", "opened", "room", "member"})
WAIT = 10.0
_TOKEN = re.compile(r"(access_token=)[^&'\"\s]+")


def redact(text: str) -> str:
    """Client URLs carry a token: keep it out of assertion messages and logs."""
    return _TOKEN.sub(r"\1<redacted>", text)


class _RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        return True


# The SDK logs the client URL when a connection attempt fails.
logging.getLogger("azure.messaging.webpubsubclient.aio._client").addFilter(_RedactTokens())


class UpgradeRefused(AssertionError):
    """The WebSocket upgrade was answered with an HTTP error status."""

    def __init__(self, status: int, log: str = "") -> None:
        super().__init__(f"WebSocket upgrade refused with HTTP {status}\n{log}".rstrip())
        self.status = status


@dataclass(frozen=True)
class Received:
    """One message: ``source`` is "group", "server", "ack", "system" or "raw" (simple clients)."""

    source: str
    data: Any
    frame: Any = None


Predicate = Callable[[Received], bool]


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


def presence(kind: str, user: str, room: str | None = None) -> Predicate:
    def matches(item: Received) -> bool:
        data = item.data
        return (
            isinstance(data, dict)
            and data.get("kind") == kind
            and data.get("from") == user
            and (room is None or data.get("room") == room)
        )

    return matches


def error_reply(fragment: str) -> Predicate:
    def matches(item: Received) -> bool:
        data = item.data
        return isinstance(data, dict) and data.get("kind") == "error" and fragment in str(data.get("reason"))

    return matches


def from_user(user: str) -> Predicate:
    """Anything (chat or presence) naming ``user`` as its sender."""
    return lambda item: isinstance(item.data, dict) and item.data.get("from") == user


def any_chat_from(sender: str) -> Predicate:
    return lambda item: (
        isinstance(item.data, dict) and item.data.get("kind") == "chat" and item.data.get("from") == sender
    )


async def negotiate(
    session: aiohttp.ClientSession, stack: StackProcess, name: str, room: str = "lobby"
) -> dict:
    async with session.get(stack.api("negotiate"), params={"name": name, "room": room}) as response:
        body = await response.json()
        assert response.status == 200, body
        return body


class Recorder:
    """History plus a condition to wait on."""

    def __init__(self) -> None:
        self.history: list[Received] = []
        self._changed = asyncio.Condition()

    async def record(self, item: Received) -> None:
        async with self._changed:
            self.history.append(item)
            self._changed.notify_all()

    async def wait_for(self, predicate: Predicate, timeout: float = WAIT, since: int = 0) -> Received:
        """The first item (from index ``since`` of ``history``) matching ``predicate``."""

        async def find() -> Received:
            async with self._changed:
                while True:
                    for item in self.history[since:]:
                        if predicate(item):
                            return item
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(f"not received within {timeout}s; history: {self.history!r}") from None

    async def assert_never(self, predicate: Predicate, within: float = 1.0) -> None:
        await asyncio.sleep(within)
        found = [item for item in self.history if predicate(item)]
        assert not found, f"unexpected: {found!r}"


class RawClient(Recorder):
    """A WebSocket client on aiohttp. With ``subprotocol=None`` it is a *simple* client."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, negotiated: dict[str, Any]) -> None:
        super().__init__()
        self.ws = ws
        self.negotiated = negotiated
        self.user_id: str = negotiated["userId"]
        self.name: str = negotiated["name"]
        self.room: str = negotiated["room"]
        self._next_ack = 1
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        session: aiohttp.ClientSession,
        stack: StackProcess,
        name: str,
        room: str = "lobby",
        *,
        subprotocol: str | None = JSON_SUBPROTOCOL,
    ) -> RawClient:
        negotiated = await negotiate(session, stack, name, room)
        protocols = (subprotocol,) if subprotocol else ()
        try:
            ws = await session.ws_connect(negotiated["url"], protocols=protocols, autoping=True)
        except aiohttp.WSServerHandshakeError as refused:
            # Not re-raised: its message holds the token. The stack's log says why instead.
            stack.sync_output()
            why = [line for line in stack.output if "refused" in line or "rejected" in line]
            raise UpgradeRefused(refused.status, "\n".join(why[-4:])) from None
        assert ws.protocol == subprotocol, f"server picked {ws.protocol!r}"
        client = cls(ws, negotiated)
        if subprotocol:
            await client.wait_for(lambda item: item.source == "system" and item.data == "connected")
        return client

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self.record(self._parse(message.data))
            elif message.type == aiohttp.WSMsgType.BINARY:
                await self.record(Received("raw", message.data))

    def _parse(self, text: str) -> Received:
        try:
            frame = json.loads(text)
        except ValueError:
            return Received("raw", text)
        if self.ws.protocol is None:
            return Received("raw", frame, text)
        kind = frame.get("type")
        if kind == "message":
            return Received(frame.get("from", "?"), frame.get("data"), frame)
        if kind == "system":
            return Received("system", frame.get("event"), frame)
        if kind == "ack":
            return Received("ack", frame.get("ackId"), frame)
        return Received(str(kind), frame, frame)

    async def send_chat(self, text: Any) -> int:
        """JSON clients: a ``chat`` event with an ackId (returned). Simple clients: a text frame."""
        if self.ws.protocol is None:
            await self.ws.send_str(text)
            return 0
        return await self.send_event("chat", {"text": text})

    async def send_event(self, event: str, data: Any) -> int:
        """A custom event with JSON data and an ackId (returned); JSON clients only."""
        ack_id = self._next_ack
        self._next_ack += 1
        await self.ws.send_json(
            {"type": "event", "event": event, "dataType": "json", "data": data, "ackId": ack_id}
        )
        return ack_id

    async def request(self, event: str, data: Any, kind: str) -> dict[str, Any]:
        """Send a custom event and wait for the server's reply of ``kind`` to it."""
        seen = len(self.history)
        await self.send_event(event, data)

        def reply(item: Received) -> bool:
            return item.source == "server" and isinstance(item.data, dict) and item.data.get("kind") == kind

        found = await self.wait_for(reply, since=seen)
        return found.data  # type: ignore[no-any-return]

    async def request_any(self, event: str, data: Any) -> dict[str, Any]:
        """Send a custom event and return the server's reply to it, whatever its kind (the
        reply comes before the event's ack, so it is the last server message before it)."""
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

    async def wait_for_ack(self, ack_id: int) -> dict:
        item = await self.wait_for(lambda r: r.source == "ack" and r.data == ack_id)
        return item.frame

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            pass


class SdkClient(Recorder):
    """The official Python client SDK (async), getting its URL from ``/api/negotiate``."""

    def __init__(self, session: aiohttp.ClientSession, stack: StackProcess, name: str, room: str) -> None:
        super().__init__()
        from azure.messaging.webpubsubclient.aio import WebPubSubClient, WebPubSubClientCredential

        self.user_id = ""  # assigned by the server at negotiate
        self.name = name
        self.room = room
        self.negotiations = 0

        async def client_access_url() -> str:
            self.negotiations += 1
            negotiated = await negotiate(session, stack, name, room)
            self.user_id = negotiated["userId"]
            return negotiated["url"]

        self.client = WebPubSubClient(
            credential=WebPubSubClientCredential(client_access_url_provider=client_access_url),
            reconnect_retry_total=0,
        )

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, stack: StackProcess, name: str, room: str = "lobby"
    ) -> SdkClient:
        from azure.messaging.webpubsubclient.models import CallbackType

        self = cls(session, stack, name, room)

        async def on_group(args: Any) -> None:
            await self.record(Received("group", args.data, args))

        async def on_server(args: Any) -> None:
            await self.record(Received("server", args.data, args))

        await self.client.subscribe(CallbackType.GROUP_MESSAGE, on_group)
        await self.client.subscribe(CallbackType.SERVER_MESSAGE, on_server)
        try:
            await self.client.open()
        except Exception as failed:  # OpenClientError's message holds the client URL
            raise AssertionError(f"SDK client did not open: {redact(str(failed))}") from None
        return self

    async def send_chat(self, text: str) -> None:
        """``send_event`` waits for the service's ack and raises if it is negative."""
        from azure.messaging.webpubsubclient.models import WebPubSubDataType

        await self.client.send_event("chat", {"text": text}, WebPubSubDataType.JSON)

    async def close(self) -> None:
        await self.client.close()
