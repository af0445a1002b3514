"""A small recording event handler (upstream) for the emulator tests.

It checks every POST's ``ce-signature`` with ``shared.verify.SignatureVerifier`` and
answers the abuse-protection ``OPTIONS``. Behaviour is set per test through the
attributes of ``RecordingUpstream`` (connect answer, replies, delays).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from shared.errors import InvalidSignature
from shared.headers import (
    CE_CONNECTION_ID,
    CE_CONNECTION_STATE,
    CE_EVENT_NAME,
    CE_SIGNATURE,
    WEBHOOK_ALLOWED_ORIGIN,
    WEBHOOK_REQUEST_ORIGIN,
)
from shared.verify import SignatureVerifier


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> str:
        return self.headers.get(CE_EVENT_NAME.lower(), "")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordingUpstream:
    keys: list[str]
    requests: list[Recorded] = field(default_factory=list)
    bad_signatures: int = 0
    # connect: (status, json body or None, extra headers)
    connect_answer: tuple[int, Any, dict[str, str]] = (204, None, {})
    # user events: None = echo the body with its content type
    event_answer: tuple[int, bytes, str, dict[str, str]] | None = None
    event_delay: float = 0.0
    connect_failures: int = 0  # answer this many connect events with 503 first
    allowed_origin: str = "*"
    _changed: asyncio.Condition | None = None

    def of(self, event: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.event == event]

    @property
    def options(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "OPTIONS"]

    async def wait_for(self, event: str, count: int = 1, timeout: float = 5.0) -> list[Recorded]:
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.of(event)) >= count), timeout)
        return self.of(event)

    async def _record(self, request: web.Request) -> Recorded:
        item = Recorded(
            request.method,
            request.path,
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
        )
        self.requests.append(item)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()
        return item

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._changed is None:
            self._changed = asyncio.Condition()
        item = await self._record(request)
        if request.method == "OPTIONS":
            if WEBHOOK_REQUEST_ORIGIN.lower() not in item.headers:
                return web.Response(status=400)
            return web.Response(status=200, headers={WEBHOOK_ALLOWED_ORIGIN: self.allowed_origin})
        try:
            SignatureVerifier(self.keys).verify(
                item.headers.get(CE_SIGNATURE.lower()), item.headers.get(CE_CONNECTION_ID.lower(), "")
            )
        except InvalidSignature:
            self.bad_signatures += 1
            return web.Response(status=401)
        event = item.event
        if event == "connect":
            if self.connect_failures > 0:
                self.connect_failures -= 1
                return web.Response(status=503)
            status, body, headers = self.connect_answer
            if body is None:
                return web.Response(status=status, headers=headers)
            return web.json_response(body, status=status, headers=headers)
        if event in ("connected", "disconnected"):
            return web.Response(status=200)
        if self.event_delay:
            await asyncio.sleep(self.event_delay)
        if self.event_answer is not None:
            status, body, content_type, headers = self.event_answer
            return web.Response(status=status, body=body, headers={"Content-Type": content_type, **headers})
        state = item.headers.get(CE_CONNECTION_STATE.lower())
        headers = {CE_CONNECTION_STATE: state + "+" if state else "s"}
        return web.Response(
            body=item.body, headers={"Content-Type": item.headers.get("content-type", ""), **headers}
        )


def make_upstream_app(upstream: RecordingUpstream) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", upstream.handle)
    return app
