"""The request body limit, applied like the Functions host does: before anything reads the body.

The host refuses bodies above ``FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`` bytes (an app setting; 100 MB
when unset). This dev host reads the same setting, after ``local.settings.json`` is applied, and
refuses in two places so that a large upload never sits in memory:

* here, from ``Content-Length``, before routing or reading: the client gets 413 at once (and a
  client that sent ``Expect: 100-continue`` is not invited to send the body first);
* while streaming a body without ``Content-Length`` (chunked): aiohttp's ``client_max_size`` stops
  reading at the limit and answers 413.

Unread bytes of a refused body are discarded by aiohttp as they arrive, never buffered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import hdrs, web
from aiohttp.http import HttpVersion11

from .settings import SettingsError

BODY_LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's default

MAX_BODY_BYTES_KEY = web.AppKey("max_body_bytes", int)


def max_body_bytes_from(environ: Mapping[str, str]) -> int:
    """The limit configured in ``environ``, or the host's default when the setting is unset.

    Raises:
        SettingsError: the setting is not a positive whole number of bytes.
    """
    raw = environ.get(BODY_LIMIT_SETTING, "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingsError(f"{BODY_LIMIT_SETTING} must be a positive whole number of bytes, not {raw!r}")
    return int(raw)


@web.middleware
async def refuse_oversized_bodies(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """413 for a declared ``Content-Length`` above the limit, without reading a byte of the body."""
    limit = request.app[MAX_BODY_BYTES_KEY]
    declared = request.content_length
    if declared is not None and declared > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=declared)
    return await handler(request)


async def continue_unless_oversized(request: web.Request) -> None:
    """``Expect: 100-continue``: invite the body only when it may be sent.

    For an oversized body nothing is sent here, so ``refuse_oversized_bodies``'s 413 is the only
    answer the client gets, before it sends a byte of the body.
    """
    declared = request.content_length
    if declared is not None and declared > request.app[MAX_BODY_BYTES_KEY]:
        return
    expect = request.headers.get(hdrs.EXPECT, "")
    if request.version != HttpVersion11:
        return
    if expect.lower() != "100-continue":
        raise web.HTTPExpectationFailed(text=f"Unknown Expect: {expect}")
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0  # the interim response is not part of the answer's size
