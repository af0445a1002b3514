"""The soak test's emulator, in its own process so its state and heap can be measured alone.

    python -m tests.soak.emulator_process --upstream URL_TEMPLATE [--recovery-window S]

The access key comes from ``SOAK_ACCESS_KEY`` (kept out of ``ps``). Prints one JSON line
``{"port": N, "control_port": M}`` when both servers listen, then runs until SIGTERM/SIGINT.

The control server (a separate aiohttp app on 127.0.0.1, so the emulator's own routes stay
untouched) answers:

* ``POST /baseline``: ``gc.collect()``, then start ``tracemalloc``. From here on every
  allocation is traced, and one freed again stops counting, so ``traced`` in ``/stats``
  is exactly the heap the emulator process has grown since the baseline and still holds.
* ``GET /stats``: the emulator's state sizes (connections, groups, users, sessions,
  background tasks, unacknowledged messages), live objects of the emulator's per-connection
  types, the traced heap (current and peak) and RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys
import tracemalloc
from collections import Counter

import yarl
from aiohttp import web

from devhost.emulator import EmulatorConfig, EventHandler, RunningEmulator, run_emulator
from devhost.emulator.app import UPSTREAM_KEY

HUB = "relay"  # the template's test app (tests/fixture_app)
# Classes with one instance per connection (or per socket): any left alive after every
# client has gone is a leak.
PER_CONNECTION_TYPES = ("Connection", "_Session", "OutboundQueue", "WebSocketResponse", "WebSocketWriter")


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _live_objects() -> dict[str, int]:
    counts: Counter[str] = Counter()
    for obj in gc.get_objects():
        name = type(obj).__name__
        if name in PER_CONNECTION_TYPES:
            counts[name] += 1
    return {name: counts[name] for name in PER_CONNECTION_TYPES}


def collect_stats(emulator: RunningEmulator) -> dict[str, object]:
    # yarl keeps bounded LRU caches of parsed URLs (256 entries each); client URLs carry a
    # unique token, so their size depends on which URLs came last, not on leaks. Empty them
    # at every reading so the heap comparison sees only what the emulator itself holds.
    yarl.cache_clear()
    gc.collect()
    hubs = {}
    for hub in emulator.hubs:
        hubs[hub.name] = {
            "connections": len(hub.connections),
            # private indexes, read (never changed) to prove nothing is left behind
            "groups": len(hub._groups),
            "users": len(hub._users),
            "user_groups": len(hub._user_groups),
            "unacked": sum(conn.unacked_count for conn in hub.connections.values()),
        }
    clients = emulator.clients
    traced, traced_peak = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)
    return {
        "hubs": hubs,
        "sessions": len(clients._sessions),
        "background_tasks": len(clients._background),
        "live_objects": _live_objects(),
        # open HTTP connections on the emulator's own server (keep-alive REST callers included);
        # once every peer has gone, none may remain
        "server_connections": len(emulator.runner.server.connections) if emulator.runner.server else 0,
        "tracing": tracemalloc.is_tracing(),
        "traced_bytes": traced,
        "traced_peak_bytes": traced_peak,
        "rss_bytes": _rss_bytes(),
    }


async def release_idle_http(emulator: RunningEmulator) -> None:
    """Close idle keep-alive HTTP connections: REST callers' (server side) and upstream (pool).

    Their parser buffers and last headers stay alive as long as the peers keep the sockets
    open; that is pool state, bounded by the pools' limits, not per-client state. The test
    releases them before the final measurement (what they hold from before the baseline is
    not traced anyway), so the heap comparison is left with what WebSocket clients leave behind.
    """
    server = emulator.runner.server
    if server is not None:
        for handler in server.connections:
            handler.close()  # idle keep-alive: closes now; busy: after the current request
    upstream = emulator.app[UPSTREAM_KEY]
    connector = upstream._session.connector
    if connector is not None:
        for idle in list(connector._conns.values()):  # the pool's idle connections (private)
            while idle:
                protocol = idle.pop()[0]
                protocol.close()
        connector._conns.clear()
    await asyncio.sleep(0.5)  # let the transports finish closing


def control_app(emulator: RunningEmulator) -> web.Application:
    async def stats(request: web.Request) -> web.Response:
        return web.json_response(collect_stats(emulator))

    async def baseline(request: web.Request) -> web.Response:
        tracemalloc.stop()
        gc.collect()
        tracemalloc.start(int(request.query.get("frames", "1")))
        return web.json_response(collect_stats(emulator))

    async def release(request: web.Request) -> web.Response:
        """Close idle HTTP keep-alive connections, in and out (see ``release_idle_http``)."""
        await release_idle_http(emulator)
        return web.json_response(collect_stats(emulator))

    async def top(request: web.Request) -> web.Response:
        """The largest traced allocation sites (to explain a failed memory check)."""
        gc.collect()
        if not tracemalloc.is_tracing():
            return web.json_response([])
        lines = [str(stat) for stat in tracemalloc.take_snapshot().statistics("lineno")[:25]]
        return web.json_response(lines)

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/baseline", baseline)
    app.router.add_get("/top", top)
    app.router.add_post("/release", release)
    return app


async def serve(args: argparse.Namespace) -> None:
    config = EmulatorConfig(
        host="127.0.0.1",
        port=0,
        public_host="127.0.0.1",
        access_key=os.environ["SOAK_ACCESS_KEY"],
        recovery_window=args.recovery_window,
    )
    config.handlers.set_hub(HUB, [EventHandler(url_template=args.upstream)])
    emulator = await run_emulator(config)
    runner = web.AppRunner(control_app(emulator), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    control_port = runner.addresses[0][1]
    print(json.dumps({"port": emulator.port, "control_port": control_port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await emulator.clients.shutdown()
        await emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, help="event handler URL template")
    parser.add_argument("--recovery-window", type=float, default=3.0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
