"""Benchmark: the emulator against a minimal aiohttp broadcast server, side by side.

    python -m bench.emulator [--clients 1000] [--messages 50] [--rate 200] [--seconds 8]

Both servers run as subprocesses pinned to CPU 0; this process holds every client
(aiohttp WebSockets) on CPU 1, so clients never share a process with a server.

1. Fan-out: ``--messages`` broadcasts of a ~150-byte JSON message to ``--clients``
   connected sockets (emulator: REST ``send_to_all``; baseline: ``POST /broadcast``).
   Reported as deliveries per second of wall time (first trigger to last receipt)
   and per second of server CPU time.
2. Chat round trip: clients sit in rooms of 10; every 1/``--rate`` s the next client
   sends to its room (emulator: ``sendToGroup`` on ``json.webpubsub.azure.v1``;
   baseline: a raw frame) and we time until the sender gets its own message back.

3. The emulator with its inspector open and streaming (``--no-inspector`` skips it), in
   rounds alternating with the closed rounds on the same connected clients, so both see the
   same machine: a subscriber on ``/inspector/stream`` (what the page uses) reads and parses
   every batch, so the emulator reports every broadcast, frame and REST call as it would to
   a browser. ``--inspector-page`` opens the real page in headless Chromium instead.

The ratio columns are emulator / baseline (higher is better for throughput, lower for
latency); the inspector column should match the plain emulator's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt

ROOT = Path(__file__).resolve().parents[1]
KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"
HUB = "bench"
ROOM_SIZE = 10
FLUSH_WAIT = 0.3  # > the inspector's flush interval
SERVER_CPU = 0
CLIENT_CPU = 1


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    port: int

    def cpu_seconds(self) -> float:
        """utime + stime of the server process, from /proc (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


async def start_server(name: str, argv: list[str], pattern: str) -> Server:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=lambda: _pin(SERVER_CPU),
    )
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        if not line:
            raise RuntimeError(f"{name} exited before listening")
        match = re.search(pattern, line)
        if match:
            # keep draining stdout so the server never blocks on a full pipe
            asyncio.get_running_loop().create_task(_drain(process.stdout))
            return Server(name, process, int(match.group(1)))


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


# -- the two servers' client-side dialects --------------------------------------------------


class Dialect:
    """How clients connect, broadcast and chat on one kind of server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.base = f"http://127.0.0.1:{server.port}"

    def socket_url(self, index: int) -> tuple[str, list[str]]:
        raise NotImplementedError

    async def broadcast(self, session: aiohttp.ClientSession, body: str) -> None:
        raise NotImplementedError

    def chat_frame(self, room: str, data: str) -> str:
        raise NotImplementedError

    def chat_data(self, frame: str) -> str:
        raise NotImplementedError


class BaselineDialect(Dialect):
    def socket_url(self, index: int) -> tuple[str, list[str]]:
        return f"{self.base}/ws?room=r{index // ROOM_SIZE}", []

    async def broadcast(self, session: aiohttp.ClientSession, body: str) -> None:
        async with session.post(f"{self.base}/broadcast", data=body) as resp:
            assert resp.status == 202

    def chat_frame(self, room: str, data: str) -> str:
        return data

    def chat_data(self, frame: str) -> str:
        return frame


class InspectorStream:
    """What the inspector page does: hold ``/inspector/stream`` open and parse every batch."""

    def __init__(self, server: Server) -> None:
        self.origin = f"http://127.0.0.1:{server.port}"
        self.batches = 0
        self.events = 0
        self.broadcasts = 0  # fan-out events (one per broadcast, however many recipients)
        self.bytes = 0
        self.dropped = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self, session: aiohttp.ClientSession) -> None:
        """Acquire what watching needs (nothing for a stream reader)."""

    async def start(self, session: aiohttp.ClientSession) -> None:
        self._ws = await session.ws_connect(f"{self.origin}/inspector/stream", origin=self.origin)
        self._task = asyncio.get_running_loop().create_task(self._read(self._ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.count(msg.data)

    def count(self, text: str | bytes) -> None:
        batch = json.loads(text)
        self.batches += 1
        self.bytes += len(text)
        self.dropped += batch.get("dropped", 0)
        events = batch.get("events", [])
        self.events += len(events)
        self.broadcasts += sum(1 for e in events if e.get("dir") == "out" and e.get("recipients", 0) > 1)

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            self._ws = self._task = None

    async def close(self) -> None:
        """Release what ``open`` acquired."""

    def summary(self) -> str:
        return (
            f"inspector stream: {self.batches} batches, {self.events:,} events "
            f"({self.broadcasts} fan-out), {self.bytes / 1e6:.1f} MB, {self.dropped} dropped by the emulator"
        )


class InspectorPage(InspectorStream):
    """The inspector page itself in headless Chromium (``--inspector-page``), rendering every batch.

    Chromium inherits this process's CPU pin, so it competes with the clients, not the server:
    compare the server-CPU row; the wall-clock rows then also carry the browser's cost.
    """

    CHROMIUM = "/usr/bin/chromium"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self._playwright: Any = None
        self._browser: Any = None
        self._page: Any = None

    async def open(self, session: aiohttp.ClientSession) -> None:
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=self.CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        self._page = await self._browser.new_page()
        self._page.on("websocket", self._on_websocket)

    def _on_websocket(self, ws: Any) -> None:
        if ws.url.endswith("/inspector/stream"):
            ws.on("framereceived", self.count)

    async def start(self, session: aiohttp.ClientSession) -> None:
        await self._page.goto(f"{self.origin}/")
        await self._page.wait_for_function("document.getElementById('live').dataset.state === 'live'")

    async def stop(self) -> None:
        shown = await self._page.locator("#events > li").count()
        print(f"  inspector page: {shown} entries in the traffic list", file=sys.stderr)
        await self._page.goto("about:blank")

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()


class EmulatorDialect(Dialect):
    def socket_url(self, index: int) -> tuple[str, list[str]]:
        claims = {
            "aud": f"http://localhost:{self.server.port}/client/hubs/{HUB}",
            "exp": int(time.time()) + 3600,
            "sub": f"user{index}",
            "role": ["webpubsub.sendToGroup"],
            "webpubsub.group": [f"r{index // ROOM_SIZE}"],
        }
        token = jwt.encode(claims, KEY, algorithm="HS256")
        return f"{self.base}/client/hubs/{HUB}?access_token={token}", ["json.webpubsub.azure.v1"]

    async def broadcast(self, session: aiohttp.ClientSession, body: str) -> None:
        url = f"http://localhost:{self.server.port}/api/hubs/{HUB}/:send?api-version=2024-12-01"
        token = jwt.encode({"aud": url, "exp": int(time.time()) + 60}, KEY, algorithm="HS256")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with session.post(url, data=body, headers=headers) as resp:
            assert resp.status == 202, resp.status

    def chat_frame(self, room: str, data: str) -> str:
        return json.dumps({"type": "sendToGroup", "group": room, "dataType": "text", "data": data})

    def chat_data(self, frame: str) -> str:
        message = json.loads(frame)
        return str(message.get("data", "")) if message.get("type") == "message" else ""


# -- clients ---------------------------------------------------------------------------------


class Clients:
    """``count`` WebSockets with one reader task each."""

    def __init__(self, dialect: Dialect, session: aiohttp.ClientSession, count: int) -> None:
        self.dialect = dialect
        self.session = session
        self.count = count
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.received = 0
        self.target = 0
        self.done = asyncio.Event()
        self.on_frame: Callable[[int, str], None] | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        semaphore = asyncio.Semaphore(50)

        async def one(index: int) -> aiohttp.ClientWebSocketResponse:
            url, protocols = self.dialect.socket_url(index)
            async with semaphore:
                return await self.session.ws_connect(url, protocols=protocols, compress=0, autoping=True)

        self.sockets = list(await asyncio.gather(*(one(i) for i in range(self.count))))
        self._readers = [
            asyncio.get_running_loop().create_task(self._read(i, ws)) for i, ws in enumerate(self.sockets)
        ]
        await asyncio.sleep(0.5)  # let the emulator's connected system messages arrive
        self.received = 0

    async def _read(self, index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            if self.on_frame is not None:
                self.on_frame(index, msg.data)
                continue
            self.received += 1
            if self.received == self.target:
                self.done.set()

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def fanout(clients: Clients, messages: int) -> tuple[float, float]:
    """Return (deliveries per wall second, deliveries per server CPU second)."""
    body = json.dumps({"kind": "broadcast", "text": "x" * 100, "n": 0})
    clients.received = 0
    clients.target = clients.count * messages
    clients.done.clear()
    cpu_before = clients.dialect.server.cpu_seconds()
    started = time.perf_counter()
    for _ in range(messages):
        await clients.dialect.broadcast(clients.session, body)
    await asyncio.wait_for(clients.done.wait(), 120)
    elapsed = time.perf_counter() - started
    cpu = clients.dialect.server.cpu_seconds() - cpu_before
    deliveries = clients.target
    return deliveries / elapsed, deliveries / max(cpu, 1e-3)


async def chat(clients: Clients, rate: float, seconds: float) -> list[float]:
    """Round-trip latencies in milliseconds at a steady send rate."""
    pending: dict[str, float] = {}
    latencies: list[float] = []
    dialect = clients.dialect

    def on_frame(index: int, frame: str) -> None:
        data = dialect.chat_data(frame)
        sender, _, _ = data.partition("|")
        if sender == str(index):
            sent = pending.pop(data, None)
            if sent is not None:
                latencies.append((time.perf_counter() - sent) * 1000)

    clients.on_frame = on_frame
    interval = 1 / rate
    total = int(rate * seconds)
    loop_start = time.perf_counter()
    for n in range(total):
        target = loop_start + n * interval
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        index = n % clients.count
        data = f"{index}|{n}"
        pending[data] = time.perf_counter()
        await clients.sockets[index].send_str(dialect.chat_frame(f"r{index // ROOM_SIZE}", data))
    deadline = time.perf_counter() + 5
    while pending and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    clients.on_frame = None
    if pending:
        print(f"  warning: {len(pending)} chat messages never came back", file=sys.stderr)
    return latencies


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Result:
    fanout_wall: float
    fanout_cpu: float
    p50: float
    p99: float
    samples: int


async def measure(
    dialect: Dialect, args: argparse.Namespace, inspector: InspectorStream | None = None
) -> dict[str, Result]:
    """``{"plain": Result}``; with ``inspector`` also ``"watched"``, its rounds alternating
    with the plain ones on the same connected clients, so both see the same machine load."""
    modes = ["plain", "watched"] if inspector is not None else ["plain"]
    walls: dict[str, list[float]] = {mode: [] for mode in modes}
    cpus: dict[str, list[float]] = {mode: [] for mode in modes}
    latencies: dict[str, list[float]] = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        if inspector is not None:
            await inspector.open(session)
        clients = Clients(dialect, session, args.clients)
        await clients.connect()
        await fanout(clients, 5)  # warm-up
        for _ in range(args.rounds):
            for mode in modes:
                async with watching(inspector if mode == "watched" else None, session):
                    wall, cpu = await fanout(clients, args.messages)
                walls[mode].append(wall)
                cpus[mode].append(cpu)
        for mode in modes:
            async with watching(inspector if mode == "watched" else None, session):
                latencies[mode] = await chat(clients, args.rate, args.seconds)
        await clients.close()
        if inspector is not None:
            await inspector.close()
    return {
        mode: Result(
            max(walls[mode]),
            max(cpus[mode]),
            percentile(latencies[mode], 0.5),
            percentile(latencies[mode], 0.99),
            len(latencies[mode]),
        )
        for mode in modes
    }


@contextlib.asynccontextmanager
async def watching(inspector: InspectorStream | None, session: aiohttp.ClientSession) -> AsyncIterator[None]:
    """The inspector open (and its first message shown) for the duration of the block."""
    if inspector is None:
        yield
        return
    await inspector.start(session)
    await asyncio.sleep(0.2)  # the hello (history and state) is sent before timing starts
    try:
        yield
    finally:
        await asyncio.sleep(FLUSH_WAIT)  # the last batch of this block
        await inspector.stop()


async def run(args: argparse.Namespace) -> tuple[dict[str, Result], InspectorStream | None]:
    _pin(CLIENT_CPU)
    baseline = await start_server("baseline", ["bench/baseline_server.py", "0"], r"listening on (\d+)")
    emulator = await start_server(
        "emulator", ["-m", "devhost.emulator", "--port", "0"], r"listening on http://[^:]+:(\d+)"
    )
    watcher = InspectorPage if args.inspector_page else InspectorStream
    stream = None if args.no_inspector else watcher(emulator)
    results: dict[str, Result] = {}
    try:
        print("measuring baseline ...", file=sys.stderr, flush=True)
        results["baseline"] = (await measure(BaselineDialect(baseline), args))["plain"]
        label = "emulator" if stream is None else "emulator, inspector closed and open in turns"
        print(f"measuring {label} ...", file=sys.stderr, flush=True)
        emulated = await measure(EmulatorDialect(emulator), args, stream)
        results["emulator"] = emulated["plain"]
        if "watched" in emulated:
            results["inspector"] = emulated["watched"]
    finally:
        await baseline.stop()
        await emulator.stop()
    return results, stream


def table(results: dict[str, Result], args: argparse.Namespace, stream: InspectorStream | None) -> str:
    base, emu = results["baseline"], results["emulator"]
    watched = results.get("inspector")
    metrics: list[tuple[str, str, Callable[[Result], float]]] = [
        ("fan-out, deliveries/s (wall)", "{:,.0f}", lambda r: r.fanout_wall),
        ("fan-out, deliveries/server CPU-s", "{:,.0f}", lambda r: r.fanout_cpu),
        (f"chat p50 ms @ {args.rate:g} msg/s", "{:.2f}", lambda r: r.p50),
        (f"chat p99 ms @ {args.rate:g} msg/s", "{:.2f}", lambda r: r.p99),
    ]
    samples = " / ".join(str(r.samples) for r in results.values())
    header = f"{'metric':36} {'baseline':>12} {'emulator':>12} {'emu/base':>9}"
    if watched is not None:
        header += f" {'+inspector':>12} {'insp/base':>9}"
    lines = [
        f"{args.clients} clients, {args.messages} broadcasts x {args.rounds} rounds, "
        f"chat {args.seconds:g} s ({samples} samples)",
        header,
    ]
    for label, fmt, value in metrics:
        b, e = value(base), value(emu)
        line = f"{label:36} {fmt.format(b):>12} {fmt.format(e):>12} {e / b:>8.2f}x"
        if watched is not None:
            w = value(watched)
            line += f" {fmt.format(w):>12} {w / b:>8.2f}x"
        lines.append(line)
    verdict_fanout = "PASS" if emu.fanout_wall / base.fanout_wall >= 0.7 else "FAIL"
    verdict_p99 = "PASS" if emu.p99 < 50 else "FAIL"
    lines.append(f"targets: fan-out >= 0.7x baseline: {verdict_fanout}; chat p99 < 50 ms: {verdict_p99}")
    if watched is not None and stream is not None:
        kept = (watched.fanout_wall / base.fanout_wall) / (emu.fanout_wall / base.fanout_wall)
        verdict = "PASS" if kept >= 0.95 else "CHECK"
        lines.append(
            f"inspector open: fan-out ratio {watched.fanout_wall / base.fanout_wall:.2f}x vs "
            f"{emu.fanout_wall / base.fanout_wall:.2f}x closed "
            f"({kept:.2f} of it kept, target >= 0.95: {verdict})"
        )
        lines.append(stream.summary())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=50, help="broadcasts per fan-out round")
    parser.add_argument("--rounds", type=int, default=3, help="fan-out rounds (best is reported)")
    parser.add_argument("--rate", type=float, default=200.0, help="chat messages per second")
    parser.add_argument("--seconds", type=float, default=8.0, help="chat duration")
    parser.add_argument(
        "--no-inspector", action="store_true", help="skip the run with the inspector page streaming"
    )
    parser.add_argument(
        "--inspector-page",
        action="store_true",
        help="watch with the inspector page in headless Chromium instead of a stream reader",
    )
    args = parser.parse_args(argv)
    results, stream = asyncio.run(run(args))
    print(table(results, args, stream))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
