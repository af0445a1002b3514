"""Slow clients: a request's head, then its body, must arrive in time, or the connection is closed.

Without a deadline a client can hold a socket (and a file descriptor and some memory) for as long
as it likes by sending half a request; the outside review held 300 such sockets open for more
than 95 seconds. Two deadlines, both counted from a fixed point so that a client trickling one
byte at a time cannot extend them:

* **head** (``headers``): from the moment the connection opens, or the previous answer was sent,
  until the request line and headers are complete. This is aiohttp's ``keepalive_timeout``
  (from aiohttp 3.14.4 it also covers a connection's first request): the connection is closed
  without an answer, as for an idle keep-alive connection;
* **body** (``body``): from the end of the head until the whole body has been read; then
  ``408 Request Timeout`` is sent and the connection closed.

Neither limits how long a function may run: once the body is read, the invocation takes as
long as it takes (the Functions host has its own ``functionTimeout``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

DEFAULT_HEAD_SECONDS = 30.0  # Kestrel's RequestHeadersTimeout; also above aiohttp clients' 15 s keep-alive
DEFAULT_BODY_SECONDS = 30.0


@dataclass(frozen=True)
class RequestDeadlines:
    """Seconds a client has to send a request's head, and then its body."""

    headers: float = DEFAULT_HEAD_SECONDS
    body: float = DEFAULT_BODY_SECONDS

    def __post_init__(self) -> None:
        if not (self.headers > 0 and self.body > 0):
            raise ValueError("request deadlines must be positive numbers of seconds")


REQUEST_DEADLINES_KEY = web.AppKey("request_deadlines", RequestDeadlines)


async def read_body_in_time(request: web.Request) -> bytes | None:
    """The request's whole body, or ``None`` when it did not arrive before the body deadline."""
    try:
        async with asyncio.timeout(request.app[REQUEST_DEADLINES_KEY].body):
            return await request.read()
    except TimeoutError:
        return None


async def body_too_slow(request: web.Request) -> web.StreamResponse:
    """Answer 408 and hang up: the rest of the body is not waited for (nor read and discarded)."""
    response = web.Response(status=408, text="request body not received in time")
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    if request.transport is not None:
        request.transport.close()  # after the 408 has been written; unread bytes are dropped
    return response
