"""Soak clients: many in-process aiohttp WebSocket clients that talk, drop and leave.

Each ``SoakClient`` runs logical connections (``Visit``) one after another until the
deadline: negotiate through the app, connect with ``json.reliable.webpubsub.azure.v1`` or
``json.webpubsub.azure.v1``, send ``say`` events (one at a time, waiting for the ack), and
leave after a random stay. Reliable clients sometimes drop their TCP connection without a
close frame and recover it with ``awps_connection_id`` + ``awps_reconnection_token``.

Everything a visit saw is recorded with ``time.monotonic()`` stamps so the test can decide
afterwards which messages it must have received:

* ``t_connected``: the ``connected`` system message arrived, so the room was joined;
* ``t_end``: the client decided to leave. It then sends a ``ping`` and reads until the
  ``pong``: the emulator writes the pong after every frame it queued before it read the
  ping, so everything sent to the room before ``t_end`` has been read before the socket closes.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

HUB = "relay"  # the template's test app (tests/fixture_app)
RELIABLE = "json.reliable.webpubsub.azure.v1"
JSON = "json.webpubsub.azure.v1"
ACK_EVERY = 16  # reliable: send sequenceAck after this many new messages (and on leaving)
WAIT = 30.0  # generous: faults make single events take up to ~10 s (slow answer + retries)


class VisitFailed(Exception):
    """Negotiate or the WebSocket handshake failed (recorded, counted by the test)."""


@dataclass
class Chat:
    text: str
    room: str
    t_start: float
    t_ack: float = 0.0
    ok: bool = False
    error: str = ""


@dataclass
class Visit:
    """One logical connection (survives transport drops when reliable)."""

    client: int
    protocol: str
    user: str
    room: str
    connection_id: str = ""
    reconnection_token: str = ""
    t_connected: float = 0.0
    t_end: float = 0.0
    ending: str = ""  # "close" | "drop" (no recovery: the emulator's window expires)
    probes: list[int] = field(default_factory=list)  # probe numbers, in order of arrival
    chats: set[str] = field(default_factory=set)
    chat_repeats: list[str] = field(default_factory=list)  # chat texts received again (new sequence id)
    sent: list[Chat] = field(default_factory=list)
    recoveries: int = 0
    duplicates: int = 0  # replayed sequence ids already seen (expected after a recovery)
    sequence_errors: list[str] = field(default_factory=list)
    last_sequence_id: int = 0
    last_acked: int = 0
    drained: bool = False  # the pong before leaving arrived
    errors: list[str] = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        return self.protocol == RELIABLE


@dataclass
class Settings:
    deadline: float
    stay_seconds: tuple[float, float] = (4.0, 20.0)
    chat_interval: tuple[float, float] = (2.0, 8.0)
    reliable_share: float = 0.5
    drop_rate: float = 0.15  # per chat turn of a reliable visit: drop and recover
    final_drop_share: float = 0.2  # reliable visits that end with a drop, not a close
    rooms: tuple[str, ...] = ("lobby",)


class SoakClient:
    def __init__(
        self,
        index: int,
        session: aiohttp.ClientSession,
        functions_url: str,
        emulator_url: str,
        settings: Settings,
        rng: random.Random,
    ) -> None:
        self.index = index
        self._http = session
        self._functions_url = functions_url
        self._ws_base = emulator_url.replace("http://", "ws://", 1)
        self._settings = settings
        self._random = rng
        self.visits: list[Visit] = []
        self.failures: list[str] = []
        self._acks: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pong: asyncio.Future[None] | None = None
        self._next_ack = 0
        self._chat_count = 0
        self._tag = uuid.uuid4().hex[:6]  # chat texts are unique across runs of the same index

    async def run(self) -> None:
        while time.monotonic() < self._settings.deadline:
            try:
                await self._visit()
            except VisitFailed as failed:
                self.failures.append(str(failed))
            await asyncio.sleep(self._random.uniform(0.1, 1.5))

    # -- one logical connection -----------------------------------------------------------
    async def _visit(self) -> None:
        s = self._settings
        protocol = RELIABLE if self._random.random() < s.reliable_share else JSON
        visit = Visit(
            client=self.index, protocol=protocol, user=f"u{self.index}", room=self._random.choice(s.rooms)
        )
        url = await self._negotiate(visit)
        ws = await self._open(url, visit)
        self.visits.append(visit)
        reader = asyncio.create_task(self._read(ws, visit))
        leave_at = min(time.monotonic() + self._random.uniform(*s.stay_seconds), s.deadline)
        try:
            while True:
                pause = self._random.uniform(*s.chat_interval)
                if time.monotonic() + pause >= leave_at:
                    await asyncio.sleep(max(0.0, leave_at - time.monotonic()))
                    break
                await asyncio.sleep(pause)
                if visit.reliable and self._random.random() < s.drop_rate:
                    ws, reader = await self._drop_and_recover(ws, reader, visit)
                await self._chat(ws, visit)
            visit.ending = (
                "drop" if visit.reliable and self._random.random() < s.final_drop_share else "close"
            )
            await self._leave(ws, reader, visit)
        finally:
            if not reader.done():
                reader.cancel()
            if not ws.closed:
                await ws.close()

    async def _negotiate(self, visit: Visit) -> str:
        params = {"name": visit.user, "room": visit.room}
        try:
            async with self._http.get(f"{self._functions_url}/api/negotiate", params=params) as response:
                if response.status != 200:
                    raise VisitFailed(f"negotiate answered {response.status}")
                return str((await response.json())["url"])
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise VisitFailed(f"negotiate failed: {type(exc).__name__}") from None

    async def _open(self, url: str, visit: Visit) -> aiohttp.ClientWebSocketResponse:
        try:
            ws = await self._http.ws_connect(
                url, protocols=(visit.protocol,), timeout=aiohttp.ClientWSTimeout(ws_close=5)
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise VisitFailed(f"upgrade refused with {exc.status}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise VisitFailed(f"connect failed: {type(exc).__name__}") from None
        first = await asyncio.wait_for(ws.receive(), WAIT)
        message = json.loads(first.data) if first.type is aiohttp.WSMsgType.TEXT else {}
        if message.get("type") != "system" or message.get("event") != "connected":
            await ws.close()
            raise VisitFailed(f"expected the connected message, got {first.type.name}")
        if not visit.connection_id:
            visit.connection_id = message["connectionId"]
            visit.reconnection_token = message.get("reconnectionToken") or ""
            visit.t_connected = time.monotonic()
        elif message["connectionId"] != visit.connection_id:
            visit.errors.append("recovery gave another connection id")
        return ws

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, visit: Visit) -> None:
        async for frame in ws:
            if frame.type is not aiohttp.WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            kind = message.get("type")
            if kind == "message":
                sequence_id = message.get("sequenceId")
                if visit.reliable:
                    if not isinstance(sequence_id, int):
                        visit.sequence_errors.append("message without sequenceId")
                    elif sequence_id <= visit.last_sequence_id:
                        visit.duplicates += 1  # replayed after a recovery: already handled
                        continue
                    elif sequence_id != visit.last_sequence_id + 1:
                        visit.sequence_errors.append(f"gap: {visit.last_sequence_id} -> {sequence_id}")
                    if isinstance(sequence_id, int):
                        visit.last_sequence_id = sequence_id
                        if sequence_id - visit.last_acked >= ACK_EVERY:
                            await self._ack(ws, visit)
                data = message.get("data")
                if isinstance(data, dict):
                    if data.get("kind") == "probe" and data.get("room") == visit.room:
                        visit.probes.append(int(data["n"]))
                    elif data.get("kind") == "said":  # the app's broadcast of a say event
                        text = str(data.get("text"))
                        if text in visit.chats:  # a second broadcast of one message
                            visit.chat_repeats.append(text)
                        visit.chats.add(text)
            elif kind == "ack":
                future = self._acks.pop(int(message["ackId"]), None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif kind == "pong":
                if self._pong is not None and not self._pong.done():
                    self._pong.set_result(None)

    async def _ack(self, ws: aiohttp.ClientWebSocketResponse, visit: Visit) -> None:
        if visit.last_sequence_id > visit.last_acked and not ws.closed:
            visit.last_acked = visit.last_sequence_id
            await ws.send_str(json.dumps({"type": "sequenceAck", "sequenceId": visit.last_sequence_id}))

    async def _chat(self, ws: aiohttp.ClientWebSocketResponse, visit: Visit) -> None:
        self._chat_count += 1
        self._next_ack += 1
        ack_id = self._next_ack
        text = f"c{self.index}-{self._tag}-{self._chat_count}"
        chat = Chat(text=text, room=visit.room, t_start=time.monotonic())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        frame = {
            "type": "event",
            "event": "say",
            "ackId": ack_id,
            "dataType": "json",
            "data": {"text": chat.text},
        }
        visit.sent.append(chat)
        await ws.send_str(json.dumps(frame))
        try:
            answer = await asyncio.wait_for(future, WAIT)
        except TimeoutError:
            self._acks.pop(ack_id, None)
            chat.error = "no ack"
            return
        chat.t_ack = time.monotonic()
        chat.ok = bool(answer.get("success"))
        if not chat.ok:
            chat.error = str(answer.get("error"))

    async def _drop_and_recover(
        self, ws: aiohttp.ClientWebSocketResponse, reader: asyncio.Task[None], visit: Visit
    ) -> tuple[aiohttp.ClientWebSocketResponse, asyncio.Task[None]]:
        """Cut the TCP connection without a close frame, wait a little, recover it."""
        _abort(ws)
        await asyncio.wait({reader}, timeout=5)
        await asyncio.sleep(self._random.uniform(0.05, 1.0))
        url = (
            f"{self._ws_base}/client/hubs/{HUB}?awps_connection_id={visit.connection_id}"
            f"&awps_reconnection_token={visit.reconnection_token}"
        )
        try:
            new_ws = await self._open(url, visit)
        except VisitFailed as failed:
            visit.errors.append(f"recovery failed: {failed}")
            raise
        visit.recoveries += 1
        return new_ws, asyncio.create_task(self._read(new_ws, visit))

    async def _leave(
        self, ws: aiohttp.ClientWebSocketResponse, reader: asyncio.Task[None], visit: Visit
    ) -> None:
        visit.t_end = time.monotonic()
        self._pong = asyncio.get_running_loop().create_future()
        await ws.send_str('{"type":"ping"}')
        try:
            await asyncio.wait_for(self._pong, WAIT)
            visit.drained = True
        except TimeoutError:
            visit.errors.append("no pong before leaving")
        if visit.ending == "drop":
            _abort(ws)  # the emulator ends the connection when its recovery window expires
        else:
            await self._ack(ws, visit)
            await ws.close()
        await asyncio.wait({reader}, timeout=5)


def _abort(ws: aiohttp.ClientWebSocketResponse) -> None:
    connection = ws._conn  # aiohttp keeps the upgraded connection here; abort() sends no close frame
    if connection is not None and connection.transport is not None:
        connection.transport.abort()
