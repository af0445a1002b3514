"""``create_app``: the aiohttp application that serves a Functions app's HTTP triggers.

Startup order matters and mirrors ``func start``: load ``local.settings.json`` into the
environment, read ``host.json``, and only then import the function app, so module-level code sees
its settings. Function keys are not checked, as with ``func start``. Before serving, every
function goes through the Python worker's index-time checks (``validation``): an app the worker
would refuse is refused here too, at start.

Unlike ``func start``, every route answers only requests whose ``Host`` (and ``Origin``, when
sent) names this machine or an allowed host: the emulator's guard (``devhost.emulator.guard``),
because a page that rebinds its own host name to 127.0.0.1 could otherwise post events signed
with the emulator's public key, or fetch tokens from negotiate. Slow clients are cut off by the
deadlines of ``deadlines.py``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from shared.logsafe import log_safe

from ..emulator.guard import LoopbackGuard
from .body_limit import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_BODY_BYTES_KEY,
    continue_unless_oversized,
    max_body_bytes_from,
    refuse_oversized_bodies,
)
from .concurrency import InvocationLimiter
from .conversion import build_request, build_response
from .deadlines import REQUEST_DEADLINES_KEY, RequestDeadlines, body_too_slow, read_body_in_time
from .discovery import OtherFunction, discover_functions, find_function_register, import_app_module
from .home import HOME_PATH, home_page
from .host_config import read_max_concurrent_requests, read_route_prefix
from .invocation import create_executor, invoke, new_invocation_id
from .route_table import RouteTable
from .settings import (
    SAMPLE_FILE,
    SETTINGS_FILE,
    LocalSettings,
    apply_settings,
    ensure_settings_file,
    load_settings,
)

logger = logging.getLogger("devhost.functions")

# The Functions host's default body limit; FUNCTIONS_REQUEST_BODY_SIZE_LIMIT overrides it.
MAX_BODY_BYTES = DEFAULT_MAX_BODY_BYTES
DEFAULT_MODULE = "function_app"
# Same wording as func start's per-invocation line.
_EXECUTED = "Executed 'Functions.%s' (%s, Id=%s, Duration=%dms)"


@dataclass(frozen=True, kw_only=True)
class HostInfo:
    """What was loaded at startup, for the route listing and the CLI."""

    app_dir: Path
    route_prefix: str
    routes: RouteTable
    other_functions: tuple[OtherFunction, ...]
    settings: LocalSettings
    max_concurrent_requests: int | None = None  # None: no limit


HOST_INFO = web.AppKey("host_info", HostInfo)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
LIMITER = web.AppKey("limiter", InvocationLimiter)
HOST_GUARD = web.AppKey("host_guard", LoopbackGuard)
# Not read from host.json: tells create_app to use host.json / the app setting.
FROM_HOST_CONFIG = 0


def create_app(
    app_dir: Path | str = ".",
    *,
    module: str = DEFAULT_MODULE,
    settings_path: Path | str | None = None,
    load_local_settings: bool = True,
    max_body_bytes: int | None = None,
    max_concurrent_requests: int | None = FROM_HOST_CONFIG,
    allowed_hosts: Iterable[str] = (),
    deadlines: RequestDeadlines | None = None,
) -> web.Application:
    """Load settings, import the function app and return an aiohttp app serving its HTTP triggers.

    Args:
        app_dir: directory holding ``function_app.py``, ``host.json`` and the settings files.
        module: module to import from ``app_dir``.
        settings_path: settings file; default ``<app_dir>/local.settings.json``. When it is missing
            it is copied from ``<app_dir>/local.settings.sample.json`` if that exists.
        load_local_settings: False skips the settings file entirely (e.g. the caller did it).
        max_body_bytes: request bodies above this get 413, refused before they are read. Default:
            the ``FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`` setting, else 100 MB, as in the Functions host.
        max_concurrent_requests: invocations allowed at once (one process is one instance, like
            Flex's ``perInstanceConcurrency``); excess requests wait. None: no limit. The default
            reads ``extensions.http.maxConcurrentRequests`` from host.json or the app setting.
        allowed_hosts: names accepted in ``Host``/``Origin`` besides loopback ones (``localhost``,
            ``*.localhost``, loopback addresses): the bind address and public host name;
            ``"*"`` accepts any (the emulator's ``--allow-host``).
        deadlines: how long a client has to send a request's head and body (default 30 s each).

    Raises:
        SettingsError, HostConfigError, DiscoveryError, RouteTemplateError: the app cannot be
        served. Exceptions raised while importing the app module propagate unchanged.
    """
    directory = Path(app_dir).resolve()
    settings = LocalSettings()
    if load_local_settings:
        path = Path(settings_path) if settings_path is not None else directory / SETTINGS_FILE
        ensure_settings_file(path, directory / SAMPLE_FILE)
        settings = load_settings(path)
        apply_settings(settings.values, os.environ)
    route_prefix = read_route_prefix(directory, os.environ)
    if max_concurrent_requests == FROM_HOST_CONFIG:
        max_concurrent_requests = read_max_concurrent_requests(directory, os.environ)
    body_limit = max_body_bytes if max_body_bytes is not None else max_body_bytes_from(os.environ)
    register = find_function_register(import_app_module(directory, module))
    http_functions, others = discover_functions(register)
    info = HostInfo(
        app_dir=directory,
        route_prefix=route_prefix,
        routes=RouteTable.build(http_functions, route_prefix),
        other_functions=tuple(others),
        settings=settings,
        max_concurrent_requests=max_concurrent_requests,
    )
    guard = LoopbackGuard(allowed_hosts)
    # client_max_size bounds bodies streamed without Content-Length; the middleware refuses the rest.
    app = web.Application(
        client_max_size=body_limit, middlewares=[_access_log, guard.middleware, refuse_oversized_bodies]
    )
    app[HOST_INFO] = info
    app[HOST_GUARD] = guard
    app[REQUEST_DEADLINES_KEY] = deadlines or RequestDeadlines()
    app[MAX_BODY_BYTES_KEY] = body_limit
    app[LIMITER] = InvocationLimiter(max_concurrent_requests)
    app.cleanup_ctx.append(_executor_context)
    app.router.add_route("*", "/{path:.*}", _dispatch, expect_handler=_expect_continue)
    return app


async def _expect_continue(request: web.Request) -> None:
    """``Expect: 100-continue`` runs before the middlewares: never invite a refused request's body."""
    if request.app[HOST_GUARD].refusal(request.headers.get("Host"), request.headers.get("Origin")) is None:
        await continue_unless_oversized(request)


async def _executor_context(app: web.Application) -> AsyncIterator[None]:
    executor = create_executor()
    app[EXECUTOR] = executor
    yield
    # Do not wait for a sync function that never returns; its thread finishes on its own.
    executor.shutdown(wait=False, cancel_futures=True)


@web.middleware
async def _access_log(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    # The path as received (still percent-encoded) and escaped: it is the client's text, and a
    # decoded %0a or %1b would forge lines or drive the terminal. No query: it can hold keys.
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = _ms_since(started)
        path = log_safe(request.raw_path.split("?", 1)[0])
        logger.info("%s %s %d %dms", log_safe(request.method), path, status, elapsed)


async def _dispatch(request: web.Request) -> web.StreamResponse:
    info = request.app[HOST_INFO]
    path = request.raw_path.split("?", 1)[0]
    match = info.routes.resolve(request.method, path)
    if match is None:
        if path == HOME_PATH and request.method in ("GET", "HEAD"):
            return home_page(info.routes)  # the host's own page, as in Azure
        return web.Response(status=404)
    body = await read_body_in_time(request)  # raises 413 above client_max_size
    if body is None:
        return await body_too_slow(request)
    function = match.function
    invocation_id = new_invocation_id()
    started = time.perf_counter()
    logger.debug("Executing 'Functions.%s' (Id=%s)", function.name, invocation_id)
    try:
        async with request.app[LIMITER].slot():
            started = time.perf_counter()  # Duration excludes the wait for a slot, as on the host
            result = await invoke(
                function,
                build_request(request, body, match.route_params),
                invocation_id=invocation_id,
                function_directory=str(info.app_dir),
                executor=request.app[EXECUTOR],
            )
        response = build_response(result)
    except Exception:  # noqa: BLE001 - the one broad catch: a user function failed
        elapsed = _ms_since(started)
        logger.exception(_EXECUTED, function.name, "Failed", invocation_id, elapsed)
        return web.Response(status=500)
    elapsed = _ms_since(started)
    logger.info(_EXECUTED, function.name, "Succeeded", invocation_id, elapsed)
    return response


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
