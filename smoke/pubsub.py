"""A Web PubSub client speaking ``json.webpubsub.azure.v1``, just enough for a smoke test.

It sends ``event`` frames with an ``ackId`` and waits for the ack, and hands out the
``message`` frames it receives (server replies and group messages) to whoever waits for them.
Failures become ``StepFailed`` with a diagnosis.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from . import diagnoses
from .report import StepFailed

JSON_SUBPROTOCOL = "json.webpubsub.azure.v1"

Frame = dict[str, Any]


class PubSubClient:
    """One connection; ``connected`` (the service's first frame) has been received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, timeout: float) -> None:
        self._ws = ws
        self._timeout = timeout
        self._unread: list[Frame] = []
        self._next_ack_id = 1
        self.connection_id = ""
        self.user_id: str | None = None

    async def wait_connected(self) -> None:
        frame = await self._next(
            "the 'connected' message", lambda f: f.get("type") == "system" and f.get("event") == "connected"
        )
        self.connection_id = str(frame.get("connectionId") or "")
        self.user_id = frame.get("userId")

    async def send_event(self, event: str, data: Any) -> None:
        """Send a custom event (JSON data) and wait for the service's ack of it."""
        ack_id = self._next_ack_id
        self._next_ack_id += 1
        frame = {"type": "event", "event": event, "dataType": "json", "data": data, "ackId": ack_id}
        await self._ws.send_str(json.dumps(frame))
        ack = await self._next(
            f"the ack of the '{event}' event", lambda f: f.get("type") == "ack" and f.get("ackId") == ack_id
        )
        if not ack.get("success"):
            error = ack.get("error") or {}
            name = error.get("name", "error") if isinstance(error, dict) else str(error)
            message = error.get("message", "") if isinstance(error, dict) else ""
            raise StepFailed(
                f"the service answered the '{event}' event with {name}: {message}".rstrip(": "),
                diagnoses.event_failed(event, str(name)),
            )

    async def wait_for_message(self, what: str, matches: Callable[[Any], bool]) -> Any:
        """The ``data`` of the first message frame (from the server or a group) that ``matches``.

        ``what`` names the awaited message in the failure when none comes in time.
        """
        frame = await self._next(what, lambda f: f.get("type") == "message" and matches(f.get("data")))
        return frame.get("data")

    async def close(self) -> int | None:
        await self._ws.close()
        return self._ws.close_code

    async def _next(self, what: str, wanted: Callable[[Frame], bool]) -> Frame:
        """Remove and return the first frame, already received or coming, that is ``wanted``."""
        for index, frame in enumerate(self._unread):
            if wanted(frame):
                return self._unread.pop(index)
        try:
            async with asyncio.timeout(self._timeout):
                while True:
                    frame = await self._receive()
                    if wanted(frame):
                        return frame
                    self._unread.append(frame)
        except TimeoutError:
            raise StepFailed(
                f"{what} did not arrive within {self._timeout:g} s", diagnoses.timed_out(self._timeout)
            ) from None

    async def _receive(self) -> Frame:
        message = await self._ws.receive()
        if message.type is aiohttp.WSMsgType.TEXT:
            try:
                frame = json.loads(message.data)
            except ValueError:
                frame = None
            if isinstance(frame, dict):
                return frame
            raise StepFailed("the service sent a frame that is not a JSON object", diagnoses.UNEXPECTED)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            raise StepFailed(
                f"the service closed the connection (code {self._ws.close_code})", diagnoses.CONNECTION_CLOSED
            )
        if message.type is aiohttp.WSMsgType.ERROR:
            raise StepFailed(
                f"the connection failed: {type(message.data).__name__}", diagnoses.CONNECTION_CLOSED
            )
        raise StepFailed(f"unexpected {message.type.name} frame", diagnoses.UNEXPECTED)
