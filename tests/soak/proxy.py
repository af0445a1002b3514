"""A fault-injecting HTTP proxy between the emulator and the function app.

The emulator's event handler URL points here; each request is either forwarded to the
function app unchanged or, for some ``POST`` events (never the ``OPTIONS`` abuse-protection
check), answered with a fault instead:

* **slow**: wait ``slow_seconds`` (uniform), then forward;
* **error**: answer 500, 502 or 503 without forwarding (the emulator retries 5xx);
* **lost** (only ``lost_events``, e.g. ``say``): forward, let the app handle it, then answer
  502 as if the app's answer had been lost: the emulator retries and the app sees the same
  event (same ``ce-id``) again, which it must neither store nor broadcast twice.

Decisions come from one ``random.Random(seed)``. At most ``max_faults_per_event``
attempts of the same event (same connection id and ``ce-id``: a retry repeats both) fail,
so the emulator's three retries always get one through and every event reaches the app.

The proxy counts what the app itself answered, per event name and status, and how many
``connect``/``connected``/``disconnected`` events of each connection id it forwarded, so
the test can check the app's answers and the exactly-once ``disconnected`` rule.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from shared.headers import CE_CONNECTION_ID, CE_ID

# Not copied between hops (RFC 9110 section 7.6.1), or recomputed by aiohttp.
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade", "te", "trailer"}
)
_ERROR_STATUSES = (500, 502, 503)


@dataclass
class FaultPlan:
    seed: int = 1234
    slow_rate: float = 0.03
    error_rate: float = 0.04
    slow_seconds: tuple[float, float] = (1.0, 3.0)
    max_faults_per_event: int = 2
    lost_rate: float = 0.0
    lost_events: tuple[str, ...] = ("say",)


@dataclass
class ProxyCounts:
    app_statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (event, status) from the app
    injected: Counter[str] = field(default_factory=Counter)  # "slow" / "error"
    forward_errors: Counter[str] = field(default_factory=Counter)  # the app could not be reached
    per_connection: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def forwarded(self, event: str) -> int:
        return sum(n for (name, _), n in self.app_statuses.items() if name == event)

    def server_errors(self) -> dict[str, int]:
        return {f"{name} {status}": n for (name, status), n in self.app_statuses.items() if status >= 500}


class FaultProxy:
    """``app()`` is the aiohttp application; set ``target`` before traffic arrives."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.target = ""  # e.g. http://127.0.0.1:7071
        self.counts = ProxyCounts()
        self._random = random.Random(plan.seed)
        self._faults: Counter[tuple[str, str, str]] = Counter()
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        app.cleanup_ctx.append(self._session_context)
        return app

    async def _session_context(self, app: web.Application):  # type: ignore[no-untyped-def]
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        yield
        await self._session.close()

    def _decide(self, key: tuple[str, str, str]) -> str | None:
        draw = self._random.random()
        can_fail = self._faults[key] < self.plan.max_faults_per_event
        if draw < self.plan.error_rate and can_fail:
            self._faults[key] += 1
            return "error"
        if draw < self.plan.error_rate + self.plan.slow_rate:
            return "slow"
        lost_draw = self._random.random()
        if key[1] in self.plan.lost_events and lost_draw < self.plan.lost_rate and can_fail:
            self._faults[key] += 1
            return "lost"
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None and self.target
        event = request.path.rstrip("/").rsplit("/", 1)[-1]
        connection_id = request.headers.get(CE_CONNECTION_ID, "")
        body = await request.read()
        fault = None
        if request.method == "POST":
            fault = self._decide((connection_id, event, request.headers.get(CE_ID, "")))
            if fault == "error":
                self.counts.injected["error"] += 1
                return web.Response(status=self._random.choice(_ERROR_STATUSES), text="injected fault")
            if fault == "slow":
                self.counts.injected["slow"] += 1
                await asyncio.sleep(self._random.uniform(*self.plan.slow_seconds))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        try:
            async with self._session.request(
                request.method, self.target + request.path_qs, headers=headers, data=body
            ) as answer:
                answer_body = await answer.read()
                status = answer.status
                answer_headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
        except aiohttp.ClientError as exc:
            self.counts.forward_errors[type(exc).__name__] += 1
            return web.Response(status=504, text="proxy could not reach the app")
        self.counts.app_statuses[(event, status)] += 1
        if fault == "lost":
            self.counts.injected["lost"] += 1
            return web.Response(status=502, text="injected fault: the app's answer was lost")
        if connection_id and event in ("connect", "connected", "disconnected"):
            self.counts.per_connection[connection_id][event] += 1
        return web.Response(status=status, body=answer_body, headers=answer_headers)
