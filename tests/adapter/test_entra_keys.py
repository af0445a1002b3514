"""Entra mode through the adapter, with the tenant's key endpoint played by aiohttp on 127.0.0.1.

The key endpoint is the one thing faked here (Entra cannot be reached); it hangs, fails or
serves the JWKS of a local RSA key, and counts the fetches it sees. The functions are the
ones ``WebPubSubHub`` registers, called with real ``func.HttpRequest`` objects on a real
event loop (async handlers) or in threads (sync handlers), as the Functions worker does.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import azure.functions as func
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from shared import ConnectedEvent, ConnectEvent, WebPubSubHub
from shared import entra as entra_module
from tests.app_index import get_functions
from tests.entra_tokens import ORIGIN, entra_env, jwks, new_key, token
from tests.upstream_requests import HUB, connect_body, http_request

TIMEOUT = 0.8  # the fetch timeout these tests set (the default is a few seconds)


@dataclass
class KeyEndpoint:
    """What the fake key endpoint does now, and how often it was asked."""

    url: str = ""
    mode: str = "serve"  # serve | hang | fail
    document: bytes = b""
    fetches: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
def signing_key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
async def endpoint(signing_key: rsa.RSAPrivateKey) -> AsyncIterator[KeyEndpoint]:
    state = KeyEndpoint(document=jwks((signing_key, "k1")))

    async def keys(request: web.Request) -> web.Response:
        state.fetches += 1
        if state.mode == "hang":
            await state.release.wait()
        if state.mode == "fail":
            return web.Response(status=503)
        return web.Response(body=state.document, content_type="application/json")

    app = web.Application()
    app.router.add_get("/discovery/v2.0/keys", keys)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/discovery/v2.0/keys"
    yield state
    state.release.set()
    await runner.cleanup()


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entra_module, "FETCH_TIMEOUT_SECONDS", TIMEOUT, raising=False)


Endpoint = Callable[[func.HttpRequest], func.HttpResponse | Awaitable[func.HttpResponse]]


def entra_functions(url: str, seen: list[str]) -> dict[str, Endpoint]:
    """An Entra-only hub: ``connected`` is async (event loop), ``connect`` is sync (threads)."""
    hub = WebPubSubHub(HUB, env=entra_env(url))

    @hub.on_connected
    async def connected(event: ConnectedEvent) -> None:
        seen.append("connected")

    @hub.on_connect
    def connect(event: ConnectEvent) -> None:
        seen.append("connect")

    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(hub.blueprint)
    return {f.get_function_name(): f.get_user_function() for f in get_functions(app)}


def entra_request(event: str, bearer: str) -> func.HttpRequest:
    body = connect_body() if event == "connect" else b"{}"
    return http_request(event, body, keys=(), origin=ORIGIN, extra={"Authorization": f"Bearer {bearer}"})


async def call_async(function: Endpoint, request: func.HttpRequest) -> int:
    result = function(request)
    assert inspect.isawaitable(result)
    return (await result).status_code


async def test_a_hanging_key_endpoint_never_blocks_the_event_loop(
    endpoint: KeyEndpoint, signing_key: rsa.RSAPrivateKey
) -> None:
    endpoint.mode = "hang"
    seen: list[str] = []
    connected = entra_functions(endpoint.url, seen)["demo_connected"]
    request = entra_request("connected", token(signing_key))
    lags: list[float] = []

    async def unrelated_work() -> None:  # stands in for GET /api/index on the same loop
        for _ in range(int(TIMEOUT / 0.02) + 10):
            start = time.monotonic()
            await asyncio.sleep(0.02)
            lags.append(time.monotonic() - start - 0.02)

    start = time.monotonic()
    *statuses, _ = await asyncio.gather(*(call_async(connected, request) for _ in range(4)), unrelated_work())
    elapsed = time.monotonic() - start
    assert statuses == [401] * 4 and seen == []
    assert endpoint.fetches == 1  # the four events shared one fetch
    assert max(lags) < 0.25, f"the event loop stalled for {max(lags):.2f}s"
    assert elapsed < 4 * TIMEOUT, f"the events waited one after another ({elapsed:.1f}s)"

    # the failure is remembered: the next token is refused at once, without a fetch
    start = time.monotonic()
    assert await call_async(connected, request) == 401
    assert time.monotonic() - start < TIMEOUT / 2
    assert endpoint.fetches == 1


async def test_sync_handlers_share_one_bounded_fetch_of_a_hanging_endpoint(
    endpoint: KeyEndpoint, signing_key: rsa.RSAPrivateKey
) -> None:
    """Sync functions run in the worker's thread pool: each waits at most the fetch timeout."""
    endpoint.mode = "hang"
    seen: list[str] = []
    connect = entra_functions(endpoint.url, seen)["demo_connect"]
    request = entra_request("connect", token(signing_key))
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        responses = await asyncio.gather(*(loop.run_in_executor(pool, connect, request) for _ in range(4)))
    elapsed = time.monotonic() - start
    assert [r.status_code for r in responses] == [401] * 4  # type: ignore[union-attr]
    assert seen == [] and endpoint.fetches == 1
    assert elapsed < 2 * TIMEOUT


async def test_random_key_ids_do_not_cause_a_fetch_each(
    endpoint: KeyEndpoint, signing_key: rsa.RSAPrivateKey
) -> None:
    seen: list[str] = []
    connected = entra_functions(endpoint.url, seen)["demo_connected"]
    assert await call_async(connected, entra_request("connected", token(signing_key))) == 204
    assert endpoint.fetches == 1
    for _ in range(21):
        forged = token(signing_key, kid=uuid.uuid4().hex)  # a kid the tenant never published
        assert await call_async(connected, entra_request("connected", forged)) == 401
    assert endpoint.fetches == 1
    assert await call_async(connected, entra_request("connected", token(signing_key))) == 204
    assert seen == ["connected", "connected"]


async def test_a_failed_fetch_is_retried_only_after_the_cooldown(
    endpoint: KeyEndpoint, signing_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entra_module, "FAILURE_COOLDOWN_SECONDS", 3600, raising=False)
    endpoint.mode = "fail"
    connected = entra_functions(endpoint.url, [])["demo_connected"]
    request = entra_request("connected", token(signing_key))
    for _ in range(5):
        assert await call_async(connected, request) == 401
    assert endpoint.fetches == 1
    endpoint.mode = "serve"
    monkeypatch.setattr(entra_module, "FAILURE_COOLDOWN_SECONDS", 0, raising=False)  # time has passed
    assert await call_async(connected, request) == 204
    assert endpoint.fetches == 2


async def test_a_newly_published_key_is_used_after_the_refetch_interval(
    endpoint: KeyEndpoint, signing_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entra_module, "UNKNOWN_KID_REFETCH_SECONDS", 3600, raising=False)
    connected = entra_functions(endpoint.url, [])["demo_connected"]
    assert await call_async(connected, entra_request("connected", token(signing_key))) == 204
    rotated = new_key()
    endpoint.document = jwks((signing_key, "k1"), (rotated, "k2"))
    fresh = entra_request("connected", token(rotated, kid="k2"))
    assert await call_async(connected, fresh) == 401  # fetched moments ago: no refetch yet
    monkeypatch.setattr(entra_module, "UNKNOWN_KID_REFETCH_SECONDS", 0, raising=False)  # time has passed
    assert await call_async(connected, fresh) == 204
    assert endpoint.fetches == 2
