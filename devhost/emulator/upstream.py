"""Calls to event handlers, made as the service makes them (protocol reference 1-7).

* Abuse protection (section 4): before the first event for a handler URL, ``OPTIONS``
  the URL with ``{event}=validate`` (``GET`` if that answers 404) carrying
  ``WebHook-Request-Origin`` and ``ce-awpsversion``. The answer needs a 2xx status and
  ``WebHook-Allowed-Origin`` of ``*`` or our host. Success is cached for
  ``validation_ttl``; failures back off from 1 s, doubling, up to 60 s.
* Events: ``POST`` in CloudEvents binary mode. Headers come from
  ``shared.headers.build_cloud_event_headers`` and ``ce-signature`` from
  ``shared.verify.build_signature`` (both access keys), so the wire format is written once.
* Timeouts per attempt; 408, 5xx and network errors are retried after
  ``upstream_retry_delays`` (section 7). Timeouts are not retried. The blocking
  ``connect`` event is retried on the same conditions but after the short
  ``connect_retry_delays``: a client's handshake waits on it, so a transient failure still
  gets through while a handler that keeps failing is reported within a second, not ~9 s.

One pooled ``aiohttp.ClientSession`` is shared by every call; ``app.py`` creates it in a
cleanup context. Signatures, keys and full header sets are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from multidict import CIMultiDict

from shared.headers import (
    AWPS_VERSION,
    CE_AWPSVERSION,
    CE_CONNECTION_STATE,
    CONTENT_TYPE,
    TYPE_SYSTEM_PREFIX,
    TYPE_USER_PREFIX,
    WEBHOOK_ALLOWED_ORIGIN,
    WEBHOOK_REQUEST_ORIGIN,
    build_cloud_event_headers,
)
from shared.logsafe import log_safe
from shared.verify import build_signature

from .config import EmulatorConfig, EventHandler
from .hubs import Connection
from .watch import HttpExchange, Watchers

log = logging.getLogger(__name__)

VALIDATE_EVENT = "validate"
MAX_VALIDATION_BACKOFF = 60.0
SYSTEM_CONTENT_TYPE = "application/json; charset=utf-8"


class UpstreamFailure(Exception):
    """The handler could not be reached, timed out, failed validation or answered too much."""


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    status: int
    content_type: str
    body: bytes
    connection_state: str | None = None  # None: header absent, keep the old state
    headers: Mapping[str, str] = field(default_factory=dict)  # the response's, for watchers

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(slots=True)
class _Validation:
    ok: bool
    expires: float
    backoff: float = 1.0


@dataclass(slots=True)
class _ValidationCache:
    entries: dict[str, _Validation] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def redact(url: str) -> str:
    """The URL without its query: templates may carry a secret such as ``?code=<function key>``."""
    return url.split("?", 1)[0]


def allowed_origin_ok(values: list[str], origin: str) -> bool:
    """``WebHook-Allowed-Origin`` (possibly repeated or comma-separated) allows ``origin``."""
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if part == "*" or part == origin.lower():
                return True
    return False


class UpstreamCaller:
    """Validates handler URLs and delivers events to them."""

    def __init__(
        self, session: aiohttp.ClientSession, config: EmulatorConfig, watchers: Watchers | None = None
    ) -> None:
        self._session = session
        self._config = config
        self._watchers = watchers if watchers is not None else Watchers()
        self._cache = _ValidationCache()

    @property
    def origin(self) -> str:
        return self._config.public_host

    # -- abuse protection ----------------------------------------------------------------
    async def validate(self, handler: EventHandler, hub: str) -> bool:
        url = handler.url_for(hub, VALIDATE_EVENT)
        loop = asyncio.get_running_loop()
        lock = self._cache.locks.setdefault(url, asyncio.Lock())
        async with lock:  # one validation in flight per URL; the others reuse its result
            entry = self._cache.entries.get(url)
            if entry is not None and entry.expires > loop.time():
                return entry.ok
            ok = await self._validate_once(url)
            if ok:
                self._cache.entries[url] = _Validation(True, loop.time() + self._config.validation_ttl)
            else:
                backoff = min(entry.backoff * 2, MAX_VALIDATION_BACKOFF) if entry and not entry.ok else 1.0
                self._cache.entries[url] = _Validation(False, loop.time() + backoff, backoff)
            return ok

    async def _validate_once(self, url: str) -> bool:
        headers = {WEBHOOK_REQUEST_ORIGIN: self.origin, CE_AWPSVERSION: AWPS_VERSION}
        timeout = aiohttp.ClientTimeout(total=self._config.validation_timeout)
        try:
            for method in ("OPTIONS", "GET"):
                started, clock = time.time(), time.perf_counter()
                async with self._session.request(method, url, headers=headers, timeout=timeout) as resp:
                    body = await resp.read()
                    if self._watchers.active:
                        self._report_validation(method, url, headers, started, clock, resp, body)
                    if resp.status == 404 and method == "OPTIONS":
                        continue
                    ok = 200 <= resp.status < 300 and allowed_origin_ok(
                        resp.headers.getall(WEBHOOK_ALLOWED_ORIGIN, []), self.origin
                    )
                    if not ok:
                        log.warning(
                            "abuse-protection validation of %s failed (status %s)", redact(url), resp.status
                        )
                    return ok
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("abuse-protection validation of %s failed: %s", redact(url), type(exc).__name__)
        return False

    def _report_validation(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        started: float,
        clock: float,
        resp: aiohttp.ClientResponse,
        body: bytes,
    ) -> None:
        exchange = HttpExchange(
            method=method,
            url=url,
            request_headers=headers,
            request_body=b"",
            started=started,
            duration=time.perf_counter() - clock,
            status=resp.status,
            response_headers=resp.headers,
            response_body=body,
        )
        self._watchers.upstream_call(exchange)

    # -- events --------------------------------------------------------------------------
    async def call(
        self,
        handler: EventHandler,
        conn: Connection,
        event_name: str,
        *,
        system: bool,
        body: bytes,
        content_type: str,
        event_id: str | None = None,
        user_id: str | None = None,
        subprotocol: str | None = None,
        blocking: bool = False,
    ) -> UpstreamResult:
        """Deliver one event and return the handler's answer.

        ``user_id``/``subprotocol`` default to the connection's (the connect event passes
        the token's user and no subprotocol, since the handshake is not finished).
        ``blocking`` (the connect event): short retry delays, see the module doc.

        Raises:
            UpstreamFailure: validation failed, network error or timeout after retries,
                or a response body above the message limit.
        """
        if not await self.validate(handler, conn.hub):
            raise UpstreamFailure("event handler failed abuse-protection validation")
        url = handler.url_for(conn.hub, event_name)
        event_type = (TYPE_SYSTEM_PREFIX if system else TYPE_USER_PREFIX) + event_name
        headers = build_cloud_event_headers(
            hub=conn.hub,
            connection_id=conn.connection_id,
            event_type=event_type,
            event_name=event_name,
            event_id=event_id if event_id is not None else conn.next_event_id(),
            time=_now_iso(),
            origin=self.origin,
            signature=build_signature(self._config.keys, conn.connection_id),
            user_id=user_id if user_id is not None else conn.user_id,
            subprotocol=subprotocol if subprotocol is not None else conn.subprotocol,
            connection_state=conn.connection_state,
        )
        headers[CONTENT_TYPE] = content_type
        return await self._post_with_retries(url, headers, body, event_name, conn.connection_id, blocking)

    async def _post_with_retries(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        event_name: str,
        connection_id: str,
        blocking: bool,
    ) -> UpstreamResult:
        delays = self._config.connect_retry_delays if blocking else self._config.upstream_retry_delays
        shown = log_safe(event_name)  # clients name their events: logged (and in errors) escaped
        for attempt in range(len(delays) + 1):
            try:
                result = await self._attempt(url, headers, body)
            except TimeoutError as exc:
                raise UpstreamFailure(f"{shown} timed out") from exc
            except aiohttp.ClientError as exc:
                if attempt >= len(delays):
                    raise UpstreamFailure(f"{shown} failed: {type(exc).__name__}") from exc
                log.info("%s for %s: %s, retrying", shown, connection_id, type(exc).__name__)
            else:
                if not (result.status == 408 or result.status >= 500) or attempt >= len(delays):
                    return result
                log.info("%s for %s: status %s, retrying", shown, connection_id, result.status)
            await asyncio.sleep(delays[attempt])
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def _attempt(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResult:
        """One POST, reported to the watchers (if any) with its timing and outcome."""
        if not self._watchers.active:
            return await self._post(url, headers, body)
        started, clock = time.time(), time.perf_counter()
        result: UpstreamResult | None = None
        error: str | None = None
        try:
            result = await self._post(url, headers, body)
            return result
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            self._watchers.upstream_call(
                HttpExchange(
                    method="POST",
                    url=url,
                    request_headers=headers,
                    request_body=body,
                    started=started,
                    duration=time.perf_counter() - clock,
                    status=result.status if result else None,
                    response_headers=result.headers if result else {},
                    response_body=result.body if result else b"",
                    error=error or (None if result else "cancelled"),
                )
            )

    async def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResult:
        timeout = aiohttp.ClientTimeout(total=self._config.upstream_timeout)
        limit = self._config.max_message_bytes
        async with self._session.post(url, headers=CIMultiDict(headers), data=body, timeout=timeout) as resp:
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise UpstreamFailure("event handler response exceeds the message size limit")
                chunks.append(chunk)
            state = resp.headers.get(CE_CONNECTION_STATE)
            return UpstreamResult(
                status=resp.status,
                content_type=resp.headers.get(CONTENT_TYPE, ""),
                body=b"".join(chunks),
                connection_state=state,
                headers=resp.headers,
            )
