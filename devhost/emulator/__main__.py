"""``python -m devhost.emulator``: run the emulator in the foreground until Ctrl+C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from .app import banner, run_emulator
from .config import DEFAULT_HOST, DEFAULT_PORT, ConfigError, EmulatorConfig, EventHandler, parse_hub_option


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devhost.emulator",
        description="Local Azure Web PubSub emulator (development only: the default key is public).",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port for REST and WebSockets (default {DEFAULT_PORT}; 0: any)",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default 127.0.0.1)")
    parser.add_argument("--access-key", help="primary access key (default: the public emulator key)")
    parser.add_argument("--secondary-key", help="secondary access key (also accepted; signs ce-signature)")
    parser.add_argument(
        "--config",
        type=Path,
        help='JSON settings file: {"WebPubSub": {"Hubs": {hub: {"EventHandlers": [...]}}}} (hot-reloaded)',
    )
    parser.add_argument(
        "--hub",
        action="append",
        default=[],
        metavar="NAME=URL_TEMPLATE",
        help="event handler for a hub: all system events and every user event (repeatable)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="accept this name in Host/Origin besides loopback (repeatable; '*': any, e.g. in a container)",
    )
    parser.add_argument(
        "--max-connections", type=int, default=5000, help="client connections, all hubs (default 5000)"
    )
    parser.add_argument(
        "--rest-latency-ms",
        type=float,
        default=0.0,
        help="add this round trip to every REST call, e.g. 5 for an in-region hop (default 0)",
    )
    parser.add_argument("--recovery-window", type=float, default=30.0, help="reliable reconnect window, s")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    options: dict[str, str] = {}
    if args.access_key:
        options["access_key"] = args.access_key
    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        secondary_key=args.secondary_key,
        settings_file=args.config,
        recovery_window=args.recovery_window,
        allowed_hosts=tuple(args.allow_host),
        max_connections=args.max_connections,
        rest_latency=max(args.rest_latency_ms, 0.0) / 1000,
        **options,
    )
    per_hub: dict[str, list[EventHandler]] = {}
    for option in args.hub:  # repeated hubs keep their handlers in order (first match wins)
        hub, handler = parse_hub_option(option)
        per_hub.setdefault(hub, []).append(handler)
    for hub, handlers in per_hub.items():
        config.handlers.set_hub(hub, handlers)
    return config


async def _serve(config: EmulatorConfig) -> None:
    emulator = await run_emulator(config)
    print(banner(config, emulator.port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(config))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {config.host}:{config.port}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
