"""Run a dev host app in the current event loop: start on a port (0 picks a free one), stop cleanly.

Used by ``__main__``, by the combined ``python -m devhost`` launcher and by tests::

    app = create_app("path/to/app")
    async with running_host(app) as host:
        ...  # host.base_url is e.g. "http://127.0.0.1:54321"
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from .app import HOST_INFO, HostInfo
from .deadlines import REQUEST_DEADLINES_KEY, RequestDeadlines

logger = logging.getLogger("devhost.functions")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7071
# How long in-flight requests may finish when stopping, before they are cancelled.
SHUTDOWN_TIMEOUT_SECONDS = 10.0


@dataclass
class RunningHost:
    """A started dev host. Call ``stop()`` (or leave ``running_host``) to shut it down."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop accepting connections, let in-flight requests finish, then run cleanup contexts."""
        await self.runner.cleanup()


async def start_host(
    app: web.Application,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS,
    log_routes: bool = True,
) -> RunningHost:
    """Bind ``app`` (from ``create_app``) to ``host:port`` and start serving it.

    Args:
        port: 0 picks a free port; read it from the result.
        log_routes: log the function list like ``func start`` does.
    """
    # access_log=None: the app's middleware already writes one line per request.
    # keepalive_timeout is the head deadline: a connection that has not completed a request
    # this long after it opened (or after the last answer) is closed (deadlines.py).
    head_deadline = app.get(REQUEST_DEADLINES_KEY, RequestDeadlines()).headers
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=shutdown_timeout, keepalive_timeout=head_deadline
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = runner.addresses[0][1]
    running = RunningHost(runner=runner, host=host, port=bound_port)
    if log_routes:
        for line in format_function_list(app[HOST_INFO], _display_url(host, bound_port)):
            logger.info("%s", line)
    return running


@asynccontextmanager
async def running_host(
    app: web.Application, *, host: str = DEFAULT_HOST, port: int = 0, log_routes: bool = True
) -> AsyncIterator[RunningHost]:
    """``start_host`` as an async context manager that always stops the host."""
    running = await start_host(app, host=host, port=port, log_routes=log_routes)
    try:
        yield running
    finally:
        await running.stop()


def format_function_list(info: HostInfo, base_url: str) -> list[str]:
    """The startup listing: ``name: [GET,POST] http://localhost:7071/api/route`` per function."""
    lines = ["Functions:"]
    for entry in sorted(info.routes.entries, key=lambda e: e.function.name.lower()):
        lines.append(f"\t{entry.function.name}: [{entry.function.method_list}] {base_url}{entry.path}")
    for other in info.other_functions:
        lines.append(f"\t{other.name}: {other.trigger_type} (not run by the dev host)")
    if len(lines) == 1:
        lines.append("\tNo functions found.")
    return lines


def _display_url(host: str, port: int) -> str:
    # Show a URL people can click: wildcard and loopback addresses become "localhost".
    shown = "localhost" if host in ("0.0.0.0", "::", "127.0.0.1", "::1", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"
