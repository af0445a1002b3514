"""The emulator's one hook point for tools that watch it (the inspector page).

The emulator reports what it does to ``Watchers``; tools ``add`` a ``Watcher`` to receive it.
Every call site checks ``watchers.active`` (a plain attribute) first, so an emulator nobody
watches pays one attribute load per hook and builds nothing.

Reports carry raw references (headers, bodies, connections) and must be cheap to make: a
watcher copies what it needs and does its formatting (and redaction of secrets) later, off
the emulator's hot path. Watchers must not raise and must not block.

Hook points: ``upstream.py`` (each event-handler call attempt), the REST route in ``app.py``
(each ``/api/`` call), ``clients.py`` (each client frame received), ``hubs.py`` (each frame
queued for a client, a broadcast counted inline, and membership changes).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from .hubs import Connection
    from .messages import Delivery


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """One HTTP request the emulator made (upstream) or served (REST), with its outcome.

    ``status`` is ``None`` when no answer came (``error`` names the failure). Times are
    ``time.time()`` seconds; ``duration`` is seconds.
    """

    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes
    started: float
    duration: float
    status: int | None
    response_headers: Mapping[str, str]
    response_body: bytes
    error: str | None = None


class Watcher(Protocol):
    def upstream_call(self, exchange: HttpExchange) -> None:
        """The emulator called an event handler (one attempt; retries are separate calls)."""

    def rest_call(self, exchange: HttpExchange) -> None:
        """The emulator answered a data-plane REST call (``/api/...``)."""

    def frame_in(self, conn: Connection, data: str | bytes) -> None:
        """A client sent a frame (before the emulator acts on it)."""

    def frame_out(self, conn: Connection, frame: Delivery | str, recipients: int, at: float) -> None:
        """A frame was queued for ``recipients`` clients, ``conn`` the first, at ``at`` (``time.time()``).

        ``frame`` is a data message (a broadcast is reported once) or a system/ack frame.
        """

    def state_changed(self, hub: str) -> None:
        """Connections or group memberships of ``hub`` changed."""


class Watchers:
    """Fans reports out to the added watchers; ``active`` is true while there is one.

    Broadcasts are coalesced here, on the hot path: the first recipient of a ``Delivery``
    calls ``delivery_started``; the following ones (the same object, consecutively) only
    bump ``repeats`` inline. The broadcast is reported when the next one starts or when a
    watcher calls ``flush_delivery`` (before it reads its queue).
    """

    __slots__ = ("active", "_watchers", "last_delivery", "repeats", "_first", "_started")

    def __init__(self) -> None:
        self.active = False
        self._watchers: tuple[Watcher, ...] = ()
        self.last_delivery: Delivery | None = None
        self.repeats = 0
        self._first: Connection | None = None
        self._started = 0.0

    def add(self, watcher: Watcher) -> None:
        self._watchers = (*self._watchers, watcher)
        self.active = True

    def remove(self, watcher: Watcher) -> None:
        self._watchers = tuple(w for w in self._watchers if w is not watcher)
        self.active = bool(self._watchers)
        if not self.active:
            self.last_delivery = self._first = None

    def upstream_call(self, exchange: HttpExchange) -> None:
        for watcher in self._watchers:
            watcher.upstream_call(exchange)

    def rest_call(self, exchange: HttpExchange) -> None:
        for watcher in self._watchers:
            watcher.rest_call(exchange)

    def frame_in(self, conn: Connection, data: str | bytes) -> None:
        for watcher in self._watchers:
            watcher.frame_in(conn, data)

    def frame_out(self, conn: Connection, frame: str) -> None:
        """A system, ack or pong frame for one connection."""
        at = time.time()
        for watcher in self._watchers:
            watcher.frame_out(conn, frame, 1, at)

    def delivery_started(self, conn: Connection, delivery: Delivery) -> None:
        """``conn`` is the first recipient of ``delivery``; see the class docstring."""
        self.flush_delivery()
        self.last_delivery = delivery
        self.repeats = 0
        self._first = conn
        self._started = time.time()

    def flush_delivery(self) -> None:
        """Report the open broadcast now (its recipients so far are all it will have)."""
        delivery, first = self.last_delivery, self._first
        if delivery is None or first is None:
            return
        self.last_delivery = self._first = None
        for watcher in self._watchers:
            watcher.frame_out(first, delivery, self.repeats + 1, self._started)

    def state_changed(self, hub: str) -> None:
        for watcher in self._watchers:
            watcher.state_changed(hub)


def watch_rest(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], watchers: Watchers
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``handler`` (the REST API), reporting each call to ``watchers`` while any watch."""

    async def watched(request: web.Request) -> web.StreamResponse:
        if not watchers.active:
            return await handler(request)
        started, clock = time.time(), time.perf_counter()
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
            return response
        finally:
            duration = time.perf_counter() - clock
            body = b""
            if response is not None and request.body_exists:
                try:  # read after the handler (cached if it read it), which answers 413 itself
                    body = await request.read()
                except (web.HTTPException, OSError, RuntimeError):
                    body = b""
            answer = response.body if isinstance(response, web.Response) else b""
            watchers.rest_call(
                HttpExchange(
                    method=request.method,
                    url=str(request.rel_url),
                    request_headers=request.headers,
                    request_body=body,
                    started=started,
                    duration=duration,
                    status=response.status if response is not None else 500,
                    response_headers=response.headers if response is not None else {},
                    response_body=answer if isinstance(answer, bytes) else b"",
                    error=None if response is not None else "unhandled error",
                )
            )

    return watched


UNWATCHED = Watchers()  # the default of connections that belong to no hub yet; never has watchers
