"""Optional network latency on the REST API, standing in for an in-region round trip.

Locally the app reaches the emulator over loopback in well under a millisecond, while a
deployed function app reaches Web PubSub over the network. With ``EmulatorConfig.rest_latency``
set (seconds), every data-plane call under ``/api/hubs/`` takes that much longer: half before
the call is handled (request on the wire) and half after (response on the wire), so clients
receive a broadcast about half a round trip before the caller gets its answer. The health
probe and client WebSockets are not delayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REST_PREFIX = "/api/hubs/"


def latency_middleware(
    round_trip: Callable[[], float],
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Delay REST calls by ``round_trip()`` seconds, read per call so tools may change it."""

    @web.middleware
    async def delay(request: web.Request, handler: Handler) -> web.StreamResponse:
        seconds = round_trip()
        if seconds <= 0 or not request.path.startswith(REST_PREFIX):
            return await handler(request)
        await asyncio.sleep(seconds / 2)
        response = await handler(request)
        await asyncio.sleep(seconds / 2)
        return response

    return delay
