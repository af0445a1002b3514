"""The live feed: watches the emulator while a page is open and pushes batches to it.

``Feed`` is the inspector's ``Watcher``. It joins the emulator's ``Watchers`` when the
first page subscribes and leaves when the last one goes, so an unwatched emulator pays
nothing. While watching, the hooks only append raw references to a bounded queue; every
``FLUSH_INTERVAL`` a task formats them (redacting secrets), keeps the last ``HISTORY`` for
pages that connect later, and sends one JSON batch to each page.

Bounds: at most ``MAX_PENDING`` unflushed events (the oldest are dropped and counted), a
broadcast is one event however many recipients it has (``Watchers`` counts them), and a
page whose socket is more than ``MAX_SUBSCRIBER_BUFFER`` behind misses batches (counted)
instead of growing the emulator's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import web

from ..hubs import Connection
from ..messages import Delivery
from ..watch import HttpExchange, Watchers
from .redact import Redactor

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.1  # seconds
STATE_INTERVAL = 0.25  # at most this often after a change
STATE_REFRESH = 2.0  # and at least this often (handler settings may be hot-reloaded)
MAX_PENDING = 2000
HISTORY = 300
MAX_SUBSCRIBER_BUFFER = 1024 * 1024
SEND_TIMEOUT = 2.0


@dataclass(slots=True)
class _Subscriber:
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    missed: int = 0


@dataclass(slots=True)
class _Pending:
    events: deque[tuple[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_PENDING))
    dropped: int = 0


def _lookup(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _hub_of_rest_path(url: str) -> str | None:
    segments = urlsplit(url).path.split("/")
    return unquote(segments[3]).lower() if len(segments) > 3 and segments[2] == "hubs" else None


class Feed:
    """Watches the emulator for the pages subscribed to ``/inspector/stream``."""

    def __init__(self, watchers: Watchers, redactor: Redactor, state: Callable[[], dict[str, Any]]) -> None:
        self._watchers = watchers
        self._redactor = redactor
        self._state = state
        self._subscribers: list[_Subscriber] = []
        self._pending = _Pending()
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._state_dirty = True
        self._state_sent = 0.0
        self._task: asyncio.Task[None] | None = None

    # -- Watcher (called by the emulator; cheap, never raising) ------------------------------
    def _push(self, kind: str, item: Any) -> None:
        pending = self._pending
        if len(pending.events) == MAX_PENDING:
            pending.dropped += 1
        pending.events.append((kind, item))

    def upstream_call(self, exchange: HttpExchange) -> None:
        self._push("upstream", exchange)

    def rest_call(self, exchange: HttpExchange) -> None:
        self._push("rest", exchange)

    def frame_in(self, conn: Connection, data: str | bytes) -> None:
        self._push("in", (time.time(), conn.hub, conn.connection_id, conn.user_id, data))

    def frame_out(self, conn: Connection, frame: Delivery | str, recipients: int, at: float) -> None:
        self._push("out", (at, conn.hub, conn.connection_id, conn.user_id, frame, recipients))

    def state_changed(self, hub: str) -> None:
        self._state_dirty = True

    # -- subscribers ---------------------------------------------------------------------------
    async def serve(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        """Stream to one prepared WebSocket until it closes."""
        subscriber = _Subscriber(ws, request.transport)
        await ws.send_str(json.dumps({"type": "hello", "events": list(self._history), **self._state()}))
        self._subscribers.append(subscriber)
        if len(self._subscribers) == 1:
            self._watchers.add(self)
            self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            async for _ in ws:  # the page sends nothing we act on; this waits for the close
                pass
        finally:
            self._subscribers.remove(subscriber)
            if not self._subscribers:
                await self._stop_watching()

    async def _stop_watching(self) -> None:
        self._watchers.remove(self)
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pending = _Pending()
        self._state_dirty = True

    async def close(self) -> None:
        """Close every page's stream (emulator shutdown)."""
        for subscriber in list(self._subscribers):
            await subscriber.ws.close(code=1001, message=b"emulator stopping")

    # -- flushing ------------------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                await self._flush(loop.time())
            except Exception:  # a formatting bug must not stop the feed: log it, keep going
                log.exception("inspector feed flush failed")

    async def _flush(self, now: float) -> None:
        self._watchers.flush_delivery()
        pending, self._pending = self._pending, _Pending()
        events = sorted((self._format(kind, item) for kind, item in pending.events), key=lambda e: e["t"])
        self._history.extend(events)
        batch: dict[str, Any] = {"type": "batch", "events": events}
        if pending.dropped:
            batch["dropped"] = pending.dropped
        due = STATE_INTERVAL if self._state_dirty else STATE_REFRESH
        if now - self._state_sent >= due:
            batch.update(self._state())
            self._state_sent = now
            self._state_dirty = False
        if len(batch) > 2 or events:
            await self._send(batch)

    async def _send(self, batch: dict[str, Any]) -> None:
        # ASCII JSON: client text may hold lone surrogates ("\ud800"), which UTF-8 cannot carry
        text = json.dumps(batch)
        for subscriber in list(self._subscribers):
            ws, transport = subscriber.ws, subscriber.transport
            if ws.closed or not isinstance(transport, asyncio.WriteTransport):
                continue
            if transport.get_write_buffer_size() > MAX_SUBSCRIBER_BUFFER:
                subscriber.missed += 1  # this page is not keeping up: skip it, do not buffer
                continue
            payload = text
            if subscriber.missed:
                payload = json.dumps({**batch, "missedBatches": subscriber.missed})
                subscriber.missed = 0
            try:
                await asyncio.wait_for(ws.send_str(payload), SEND_TIMEOUT)
            except (TimeoutError, ConnectionError, RuntimeError):
                await ws.close(code=1011, message=b"inspector page too slow")

    # -- formatting (redaction happens here, never in the hooks) ---------------------------------
    def _format(self, kind: str, item: Any) -> dict[str, Any]:
        if kind == "upstream":
            return self._upstream(item)
        if kind == "rest":
            return self._rest(item)
        if kind == "in":
            at, hub, connection_id, user_id, data = item
            return {
                "kind": "frame",
                "dir": "in",
                "t": int(at * 1000),
                "hub": hub,
                "connectionId": connection_id,
                "userId": user_id,
                "data": self._redactor.body(data),
            }
        return self._outbound(item)

    def _exchange(self, exchange: HttpExchange) -> dict[str, Any]:
        r = self._redactor
        return {
            "t": int(exchange.started * 1000),
            "ms": round(exchange.duration * 1000, 1),
            "method": exchange.method,
            "url": r.url(exchange.url),
            "status": exchange.status,
            "error": exchange.error,
            "request": {
                "headers": r.headers(exchange.request_headers),
                "body": r.body(exchange.request_body),
            },
            "response": {
                "headers": r.headers(exchange.response_headers),
                "body": r.body(exchange.response_body),
            },
        }

    def _upstream(self, exchange: HttpExchange) -> dict[str, Any]:
        headers = exchange.request_headers
        return {
            "kind": "upstream",
            "hub": _lookup(headers, "ce-hub"),
            "event": _lookup(headers, "ce-eventName") or ("validate" if exchange.method != "POST" else None),
            "connectionId": _lookup(headers, "ce-connectionId"),
            "userId": _lookup(headers, "ce-userId"),
            **self._exchange(exchange),
        }

    def _rest(self, exchange: HttpExchange) -> dict[str, Any]:
        return {"kind": "rest", "hub": _hub_of_rest_path(exchange.url), **self._exchange(exchange)}

    def _outbound(self, item: tuple[float, str, str, str | None, Delivery | str, int]) -> dict[str, Any]:
        at, hub, connection_id, user_id, frame, recipients = item
        text = frame if isinstance(frame, str) else frame.json_frame
        return {
            "kind": "frame",
            "dir": "out",
            "t": int(at * 1000),
            "hub": hub,
            "connectionId": connection_id,  # the first recipient
            "userId": user_id,
            "recipients": recipients,
            "data": self._redactor.body(text),
        }
