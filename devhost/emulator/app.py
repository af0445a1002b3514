"""App factory and in-process runner for the emulator.

    app = create_app(config)                  # aiohttp.web.Application, not started
    async with start_emulator(config) as emu:  # bound to a free port when config.port == 0
        emu.connection_string, emu.endpoint

One port serves REST (``/api/...``), client WebSockets (``/client/...``) and health
(``HEAD /api/health``). The upstream ``ClientSession`` and the settings-file watcher live
in cleanup contexts, so nothing is created at import time.

Secrets stay out of logs: the emulator never logs keys, tokens or signatures. Run the app
without aiohttp's access log (``run_emulator`` does), because client URLs carry their
access token in the query string.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from shared.logsafe import log_safe

from .clients import ClientEndpoint
from .config import ConfigError, EmulatorConfig, load_settings_file
from .guard import LoopbackGuard
from .hubs import HubRegistry
from .inspector import INSPECTOR_PATH, mount_inspector
from .latency import latency_middleware
from .rest import RestApi, error_response
from .upstream import UpstreamCaller
from .watch import watch_rest

log = logging.getLogger("devhost.emulator")

CONFIG_KEY = web.AppKey("emulator_config", EmulatorConfig)
HUBS_KEY = web.AppKey("emulator_hubs", HubRegistry)
CLIENTS_KEY = web.AppKey("emulator_clients", ClientEndpoint)
UPSTREAM_KEY = web.AppKey("emulator_upstream", UpstreamCaller)
CONNECTION_LIMIT = 100  # pooled upstream connections


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The one broad catch of the HTTP adapter: log the bug, answer a generic 500."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error for %s %s", log_safe(request.method), log_safe(request.raw_path))
        return error_response(500, "InternalServerError", "internal error", head=request.method == "HEAD")


async def _upstream_context(app: web.Application) -> AsyncIterator[None]:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTION_LIMIT),
        cookie_jar=aiohttp.DummyCookieJar(),  # one session for every connection: share no cookies
        auto_decompress=True,
    )
    upstream = UpstreamCaller(session, app[CONFIG_KEY], app[HUBS_KEY].watchers)
    app[UPSTREAM_KEY] = upstream
    app[CLIENTS_KEY].bind_upstream(upstream)
    yield
    await app[CLIENTS_KEY].shutdown()
    app[CLIENTS_KEY].bind_upstream(None)
    await session.close()


def _apply_settings_file(config: EmulatorConfig, path: Path) -> None:
    config.handlers.replace_file_settings(load_settings_file(path))
    log.info("event handlers loaded from %s: hubs %s", path, ", ".join(config.handlers.hubs()) or "none")


async def _watch_settings(config: EmulatorConfig, path: Path) -> None:
    """Hot reload: re-read the file when its mtime changes; keep the old settings on errors."""
    last = path.stat().st_mtime_ns if path.exists() else None
    while True:
        await asyncio.sleep(config.reload_interval)
        try:
            current = path.stat().st_mtime_ns
        except OSError:
            continue
        if current == last:
            continue
        last = current
        try:
            _apply_settings_file(config, path)
        except ConfigError as exc:
            log.warning("keeping previous event handlers: %s", exc)


async def _settings_context(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG_KEY]
    task = None
    if config.settings_file is not None and config.reload_interval > 0:
        task = asyncio.get_running_loop().create_task(_watch_settings(config, config.settings_file))
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(config: EmulatorConfig) -> web.Application:
    """Build the emulator app (not started). Reads ``config.settings_file`` once, now.

    Raises:
        ConfigError: the settings file is missing or invalid.
    """
    if config.settings_file is not None:
        _apply_settings_file(config, config.settings_file)
    # bodies above the message limit are refused with 413 before a handler sees them
    guard = LoopbackGuard((config.host, config.public_host, *config.allowed_hosts))
    delay = latency_middleware(lambda: config.rest_latency)
    app = web.Application(
        middlewares=[_errors, guard.middleware, delay], client_max_size=config.max_message_bytes
    )
    hubs = HubRegistry()
    clients = ClientEndpoint(config, hubs)
    rest = RestApi(config, hubs, clients)
    app[CONFIG_KEY] = config
    app[HUBS_KEY] = hubs
    app[CLIENTS_KEY] = clients
    app.router.add_route("GET", "/client/hubs/{hub}", clients.handle)
    app.router.add_route("GET", "/client/hubs/{hub}/", clients.handle)
    app.router.add_route("GET", "/client", clients.handle)
    app.router.add_route("GET", "/client/", clients.handle)
    app.router.add_route("*", "/api/{tail:.*}", watch_rest(rest.handle, hubs.watchers))
    mount_inspector(app, config, hubs)
    app.cleanup_ctx.append(_upstream_context)
    app.cleanup_ctx.append(_settings_context)
    return app


def banner(config: EmulatorConfig, port: int) -> str:
    """What the CLI prints on start (contains the access key: for the console only)."""
    endpoint = config.endpoint(port)
    ws_endpoint = endpoint.replace("http://", "ws://", 1)
    hubs = config.handlers.hubs()
    lines = [
        f"Azure Web PubSub emulator listening on http://{config.host}:{port}",
        f"Connection string: {config.connection_string(port)}",
        f"Client URL:        {ws_endpoint}/client/hubs/{{hub}}?access_token={{token}}",
        f"Health:            HEAD {endpoint}/api/health",
        f"Inspector:         {endpoint}{INSPECTOR_PATH}",
        "Event handlers:    " + (", ".join(hubs) if hubs else "none configured"),
    ]
    return "\n".join(lines)


@dataclass(slots=True)
class RunningEmulator:
    """A started emulator; ``stop()`` (or leaving ``start_emulator``) shuts it down."""

    app: web.Application
    runner: web.AppRunner
    config: EmulatorConfig
    port: int

    @property
    def endpoint(self) -> str:
        return self.config.endpoint(self.port)

    @property
    def connection_string(self) -> str:
        return self.config.connection_string(self.port)

    @property
    def hubs(self) -> HubRegistry:
        return self.app[HUBS_KEY]

    @property
    def clients(self) -> ClientEndpoint:
        return self.app[CLIENTS_KEY]

    async def stop(self) -> None:
        await self.runner.cleanup()


async def run_emulator(config: EmulatorConfig) -> RunningEmulator:
    """Start the emulator on ``config.host``/``config.port`` (0 = a free port)."""
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    port = config.port
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            port = int(address[1])
            break
    return RunningEmulator(app=app, runner=runner, config=config, port=port)


@contextlib.asynccontextmanager
async def start_emulator(config: EmulatorConfig) -> AsyncIterator[RunningEmulator]:
    """``async with start_emulator(cfg) as emu:`` - started on entry, stopped on exit."""
    emulator = await run_emulator(config)
    try:
        yield emulator
    finally:
        await emulator.stop()
