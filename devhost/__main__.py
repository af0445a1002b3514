"""``python -m devhost``: the whole app on this machine, no Azure account needed.

Starts Azurite (the storage emulator), the Web PubSub emulator and the Functions dev host,
points the app's ``WebPubSubConnectionString`` at the emulator, its storage settings
(``UseDevelopmentStorage=true``) at Azurite and the emulator's hubs (the ones the app serves)
at the app, prints the app's GET routes and runs until Ctrl-C (SIGINT) or SIGTERM, then stops
all three. Azurite keeps its data in ``.azurite/`` (git-ignored), so it survives a restart.
Both servers answer only requests that name this machine in ``Host`` (and ``Origin``, when sent):
loopback names, ``--host``, ``--public-host`` and each ``--allow-host NAME`` (``'*'``: any).

Keys (optional, from the environment so they stay out of ``ps``): ``DEVHOST_ACCESS_KEY`` is the
emulator's access key (default: the official emulator's well-known development key).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from .emulator.config import ConfigError
from .functions.__main__ import add_allow_host_option, add_concurrency_option, log_concurrency
from .functions.app import HOST_INFO
from .functions.discovery import DiscoveryError
from .functions.host_config import HostConfigError
from .functions.routes import RouteTemplateError
from .functions.settings import SettingsError
from .logs import configure_logging
from .stack import (
    DEFAULT_EMULATOR_PORT,
    DEFAULT_FUNCTIONS_PORT,
    DEFAULT_HOST,
    DEFAULT_PUBLIC_HOST,
    DEFAULT_STORAGE_DIR,
    PortTaken,
    RunningStack,
    StackConfig,
    start_stack,
)
from .storage import DEFAULT_TABLE_PORT, AzuriteError

logger = logging.getLogger("devhost")

ACCESS_KEY_VARIABLE = "DEVHOST_ACCESS_KEY"
# Test hook: give the app a different key than the emulator's, to watch every event be refused.
APP_ACCESS_KEY_VARIABLE = "DEVHOST_APP_ACCESS_KEY"
# The option that moves each server of the stack (PortTaken.server).
PORT_OPTIONS = {"functions": "--functions-port", "emulator": "--emulator-port", "storage": "--storage-port"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devhost",
        description="Run the Web PubSub emulator and the Functions dev host together.",
    )
    parser.add_argument(
        "--functions-port",
        type=int,
        default=DEFAULT_FUNCTIONS_PORT,
        help=f"Functions dev host port (default {DEFAULT_FUNCTIONS_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--emulator-port",
        type=int,
        default=DEFAULT_EMULATOR_PORT,
        help=f"Web PubSub emulator port (default {DEFAULT_EMULATOR_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--storage-port",
        type=int,
        default=DEFAULT_TABLE_PORT,
        help=f"Azurite table service port (default {DEFAULT_TABLE_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--storage-dir",
        type=Path,
        default=None,
        help=f"Azurite's data folder (default <app-dir>/{DEFAULT_STORAGE_DIR})",
    )
    parser.add_argument(
        "--no-storage",
        action="store_true",
        help="do not start Azurite; the app's storage settings are used as they are",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument(
        "--public-host",
        default=DEFAULT_PUBLIC_HOST,
        help=f"host name used in URLs given to browsers and the app (default {DEFAULT_PUBLIC_HOST})",
    )
    parser.add_argument(
        "--hub",
        action="append",
        dest="hubs",
        metavar="NAME",
        help="hub whose events go to the app (repeatable; default: every hub the app serves)",
    )
    parser.add_argument("--app-dir", type=Path, default=Path("."), help="function app directory (default .)")
    parser.add_argument(
        "--settings", type=Path, default=None, help="settings file (default <app-dir>/local.settings.json)"
    )
    parser.add_argument(
        "--upstream-path",
        default=None,
        metavar="TEMPLATE",
        help="send hub events to this path on the Functions host instead of the app's routes, "
        "e.g. /api/wrong/{hub}/{event}: a misconfigured hub, for testing (default: the app's routes)",
    )
    add_concurrency_option(parser)
    add_allow_host_option(parser)
    parser.add_argument(
        "--rest-latency-ms",
        type=float,
        default=0.0,
        help="add this round trip to every emulator REST call, e.g. 5 (default 0)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM. Returns the process exit code."""
    config = StackConfig(
        host=args.host,
        public_host=args.public_host,
        functions_port=args.functions_port,
        emulator_port=args.emulator_port,
        hubs=tuple(args.hubs) if args.hubs else None,
        app_dir=args.app_dir.resolve(),
        settings_path=args.settings,
        access_key=os.environ.get(ACCESS_KEY_VARIABLE) or None,
        app_access_key=os.environ.get(APP_ACCESS_KEY_VARIABLE) or None,
        max_concurrent_requests=args.concurrency,
        allowed_hosts=tuple(args.allow_host),
        rest_latency_ms=max(args.rest_latency_ms, 0.0),
        storage=not args.no_storage,
        storage_port=args.storage_port,
        storage_dir=args.storage_dir.resolve() if args.storage_dir else None,
        upstream_path=args.upstream_path,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        stack = await start_stack(config)
    except PortTaken as exc:
        option = PORT_OPTIONS[exc.server]
        logger.error("Cannot start: %s (another copy running?); pass %s 0 for any free port", exc, option)
        return 1
    except OSError as exc:
        logger.error("Cannot start: %s (is another copy running? try other --*-port values)", exc)
        return 1
    except (
        ConfigError,
        SettingsError,
        HostConfigError,
        DiscoveryError,
        RouteTemplateError,
        AzuriteError,
    ) as exc:
        logger.error("Cannot start: %s", exc)
        return 1
    log_concurrency(stack.functions.runner.app[HOST_INFO].max_concurrent_requests)
    if config.rest_latency_ms:
        logger.info("Emulator REST calls take %g ms longer (an in-region round trip)", config.rest_latency_ms)
    if config.upstream_path is not None:
        logger.warning(
            "--upstream-path is set: hub events go to %s, not to the app's routes", config.upstream_path
        )
    if config.app_access_key:
        logger.warning(
            "%s is set: the app holds another key, so it refuses every event", APP_ACCESS_KEY_VARIABLE
        )
    # Machine-readable lines (tests read them) followed by the one a person needs.
    print(f"Web PubSub emulator: {stack.emulator_url}", flush=True)
    print(f"Functions host: {stack.functions_url}", flush=True)
    print(f"Inspector: {stack.inspector_url}  (live connections, upstream calls, frames)", flush=True)
    if stack.storage is not None:
        print(f"Azurite tables: http://{config.host}:{stack.storage.port}", flush=True)
    for line in _app_lines(stack):
        print(line, flush=True)
    print("Ready (Ctrl+C stops)", flush=True)
    try:
        await stop.wait()
    finally:
        logger.info("Stopping")
        await stack.stop()
    logger.info("Stopped")
    return 0


def _app_lines(stack: RunningStack) -> list[str]:
    """What the app serves, for a person: its hubs and the links to its GET routes."""
    lines = [f"Hub {hub}: {', '.join(sorted(events)) or 'no events'}" for hub, events in stack.hubs.items()]
    if not stack.hubs:
        lines.append(
            "No Web PubSub hub: the app registers no WebPubSubHub, so no events reach it "
            "(see 'Writing handlers' in README.md)"
        )
    lines += [f"Open: {url}" for url in stack.get_urls]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.log_level)
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:  # a second Ctrl+C during shutdown
        return 130


if __name__ == "__main__":
    sys.exit(main())
