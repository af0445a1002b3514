"""``python -m devhost.functions``: serve a Functions app's HTTP triggers, like ``func start``.

The port is ``--port``, else ``Host.LocalHttpPort`` from ``local.settings.json``, else 7071.
``--concurrency N`` lets at most N invocations run at once, like Flex Consumption's
``perInstanceConcurrency`` (default: ``extensions.http.maxConcurrentRequests`` in host.json, else
no limit). Requests must name this machine in ``Host`` (and ``Origin``, when sent): loopback names,
the ``--host`` address, and each ``--allow-host NAME`` (``'*'``: any).
SIGINT/SIGTERM stop it gracefully: in-flight requests get a few seconds to finish.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from ..logs import configure_logging
from .app import DEFAULT_MODULE, FROM_HOST_CONFIG, HOST_INFO, create_app
from .app_clients import close_app_clients
from .discovery import DiscoveryError
from .host_config import HostConfigError, parse_concurrency
from .routes import RouteTemplateError
from .server import DEFAULT_HOST, DEFAULT_PORT, start_host
from .settings import SettingsError

logger = logging.getLogger("devhost.functions")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost.functions", description=__doc__)
    parser.add_argument("--port", type=int, default=None, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--app-dir", type=Path, default=Path("."), help="function app directory (default .)")
    parser.add_argument(
        "--settings", type=Path, default=None, help="settings file (default <app-dir>/local.settings.json)"
    )
    parser.add_argument("--module", default=DEFAULT_MODULE, help=f"app module (default {DEFAULT_MODULE})")
    add_concurrency_option(parser)
    add_allow_host_option(parser)
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser.parse_args(argv)


def add_allow_host_option(parser: argparse.ArgumentParser) -> None:
    """``--allow-host NAME``: shared by this CLI and ``python -m devhost`` (where the emulator
    takes it too)."""
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="accept this name in Host/Origin besides loopback names (repeatable; '*': any,"
        " e.g. in a container)",
    )


def add_concurrency_option(parser: argparse.ArgumentParser) -> None:
    """``--concurrency N``: shared by this CLI and ``python -m devhost``."""
    parser.add_argument(
        "--concurrency",
        type=_concurrency,
        default=FROM_HOST_CONFIG,
        metavar="N",
        help="invocations allowed at once, excess requests wait (Flex's perInstanceConcurrency;"
        " -1: no limit; default: host.json extensions.http.maxConcurrentRequests, else no limit)",
    )


def _concurrency(text: str) -> int | None:
    try:
        return parse_concurrency(text, "--concurrency")
    except HostConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


async def serve(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM. Returns the process exit code."""
    try:
        app = create_app(
            args.app_dir,
            module=args.module,
            settings_path=args.settings,
            max_concurrent_requests=args.concurrency,
            allowed_hosts=(args.host, *args.allow_host),
        )
    except (SettingsError, HostConfigError, DiscoveryError, RouteTemplateError) as exc:
        logger.error("Cannot start: %s", exc)
        return 1
    port = args.port if args.port is not None else app[HOST_INFO].settings.local_http_port or DEFAULT_PORT
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        running = await start_host(app, host=args.host, port=port)
    except OSError as exc:  # typically the port is taken
        logger.error("Cannot start: %s (is another copy running? try another --port)", exc)
        return 1
    logger.info("Functions dev host listening on %s (Ctrl+C to stop)", running.base_url)
    log_concurrency(app[HOST_INFO].max_concurrent_requests)
    try:
        await stop.wait()
    finally:
        logger.info("Stopping the Functions dev host")
        await running.stop()
        await close_app_clients()
    return 0


def log_concurrency(limit: int | None) -> None:
    if limit is not None:
        logger.info("Per-instance concurrency: %d invocation(s) at once; excess requests wait", limit)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.log_level)
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
