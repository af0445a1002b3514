"""WebSocket clients for e2e tests: raw aiohttp (with and without the JSON subprotocol) and the
official ``azure-messaging-webpubsubclient`` SDK, each getting its client URL from the app's
``GET /api/negotiate``. Nothing here knows an app's messages, except the predicates at the end,
which describe the template's test app (``tests/fixture_app``, hub ``relay``).

Every client keeps what it received in ``history`` as ``Received`` records so tests can wait
for a message (``wait_for``) or check that one never came (``assert_never``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import aiohttp

from .stack_process import StackProcess

JSON_SUBPROTOCOL = "json.webpubsub.azure.v1"
# Kinds of the chat's replies to an event (docs/chat-protocol.md); notices are other kinds.
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


NEGOTIATE = "negotiate"  # the route of the app's negotiate endpoint, below the route prefix


async def negotiate(
    session: aiohttp.ClientSession, stack: StackProcess, name: str, *, route: str = NEGOTIATE, **params: str
) -> dict[str, Any]:
    """``GET /api/<route>?name=<name>&<params>``: the app's answer (asserted to be a 200)."""
    async with session.get(stack.api(route), params={"name": name, **params}) as response:
        body = await response.json()
        assert response.status == 200, body
        return body  # type: ignore[no-any-return]


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
        self.negotiated = negotiated  # the app's negotiate answer (its "url" holds a token)
        self.user_id: str = negotiated["userId"]
        self.name: str = negotiated["name"]
        self._next_ack = 1
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        session: aiohttp.ClientSession,
        stack: StackProcess,
        name: str,
        *,
        subprotocol: str | None = JSON_SUBPROTOCOL,
        params: Mapping[str, str] | None = None,
        route: str = NEGOTIATE,
    ) -> Self:
        """Negotiate (at ``route``) as ``name`` (plus ``params``), connect, and (JSON clients)
        wait for the ``connected`` message."""
        negotiated = await negotiate(session, stack, name, route=route, **(params or {}))
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

    async def send_text(self, text: str) -> None:
        """Simple clients: one text frame (the service makes it a ``message`` event)."""
        await self.ws.send_str(text)

    async def send_event(self, event: str, data: Any) -> int:
        """A custom event with JSON data and an ackId (returned); JSON clients only."""
        ack_id = self._next_ack
        self._next_ack += 1
        await self.ws.send_json(
            {"type": "event", "event": event, "dataType": "json", "data": data, "ackId": ack_id}
        )
        return ack_id

    async def request(self, event: str, data: Any, kind: str, timeout: float = WAIT) -> dict[str, Any]:
        """Send a custom event and return the app's reply, which must be a JSON object of ``kind``.

        The reply is the first message from the server after the send (an app's reply comes
        ``"from": "server"``; group broadcasts do not): one of another kind fails at once,
        saying what came, instead of waiting out the timeout.
        """
        seen = len(self.history)
        await self.send_event(event, data)
        found = await self.wait_for(lambda item: item.source == "server", timeout, since=seen)
        reply = found.data
        assert isinstance(reply, dict) and reply.get("kind") == kind, f"expected a {kind!r} reply: {reply!r}"
        return reply

    async def wait_for_ack(self, ack_id: int) -> dict[str, Any]:
        item = await self.wait_for(lambda r: r.source == "ack" and r.data == ack_id)
        return item.frame  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            pass


class SdkClient(Recorder):
    """The official Python client SDK (async), getting its URL from ``/api/negotiate``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        stack: StackProcess,
        name: str,
        params: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        from azure.messaging.webpubsubclient.aio import WebPubSubClient, WebPubSubClientCredential

        self.user_id = ""  # assigned by the server at negotiate
        self.name = name
        self.negotiations = 0

        async def client_access_url() -> str:
            self.negotiations += 1
            negotiated = await negotiate(session, stack, name, **(params or {}))
            self.user_id = negotiated["userId"]
            return negotiated["url"]  # type: ignore[no-any-return]

        self.client = WebPubSubClient(
            credential=WebPubSubClientCredential(client_access_url_provider=client_access_url),
            reconnect_retry_total=0,
        )

    @classmethod
    async def connect(
        cls,
        session: aiohttp.ClientSession,
        stack: StackProcess,
        name: str,
        *,
        params: Mapping[str, str] | None = None,
    ) -> Self:
        from azure.messaging.webpubsubclient.models import CallbackType

        self = cls(session, stack, name, params)

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

    async def send_event(self, event: str, data: Any) -> None:
        """A JSON custom event; waits for the service's ack and raises if it is negative."""
        from azure.messaging.webpubsubclient.models import WebPubSubDataType

        await self.client.send_event(event, data, WebPubSubDataType.JSON)

    async def close(self) -> None:
        await self.client.close()


# -- what the template's test app (tests/fixture_app, hub "relay") sends --------------------------
def said(text: str, sender: str | None = None, room: str | None = None) -> Predicate:
    """The relay's broadcast of a ``say`` (or simple client's ``message``) event."""

    def matches(item: Received) -> bool:
        data = item.data
        return (
            isinstance(data, dict)
            and data.get("kind") == "said"
            and data.get("text") == text
            and (sender is None or data.get("from") == sender)
            and (room is None or data.get("room") == room)
        )

    return matches


def presence(kind: str, user: str, room: str | None = None) -> Predicate:
    """``{"kind": "joined" | "left", "from": user, "room": room}``."""

    def matches(item: Received) -> bool:
        data = item.data
        return (
            isinstance(data, dict)
            and data.get("kind") == kind
            and data.get("from") == user
            and (room is None or data.get("room") == room)
        )

    return matches


def from_user(user: str) -> Predicate:
    """Anything (a message or presence) naming ``user`` as its sender."""
    return lambda item: isinstance(item.data, dict) and item.data.get("from") == user
