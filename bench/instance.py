"""Benchmark: what one Flex Consumption instance of the chat app carries, and what a message costs.

    python -m bench.instance [--quick] [--concurrency 1,4,16,64] [--latency-ms 5,20] [--seconds 6]

Three processes, as in Azure: the **instance** (``python -m devhost.functions`` serving the real
``function_app`` with ``--concurrency C``, Flex's ``perInstanceConcurrency``: at most C
invocations at once, the rest wait) pinned to CPU 0; the **Web PubSub emulator** with
``--rest-latency-ms L`` (every REST call the app makes takes one in-region round trip longer)
on CPU 1; and this process, holding real WebSocket clients (``json.webpubsub.azure.v1``) on
CPU 1. Clients sit in rooms of two; each sends a ``chat`` event and, as soon as its own message
comes back through the room broadcast, the next one (closed loop). With 2×C clients the
instance always has C invocations running and about C waiting, so the figures are what one
instance sustains, not what a client offers.

Per (L, C): chat events/s the instance served, end-to-end p50/p99 (client send → the
broadcast back at the sender: emulator → upstream HTTP → handler → REST ``send_to_group`` →
emulator → socket), the instance's CPU (percent of one core, and ms per event), and the load
side's CPU (emulator + clients; near 100% means the figure is a lower bound). *Events per
CPU-s* (1000 / CPU ms per event) is what the instance would carry with a whole core to itself:
on a busy machine, where the instance does not get one, it is the steadier figure.

**Cost model** (Flex Consumption, on-demand): billed = instance memory (GB) × seconds the
instance is executing at least one function + a per-execution charge. Under sustained load
an instance is never idle, so each message costs ``memory_GB / (events/s)`` GB-s, whatever the
number of instances Flex scales to. Prices are parameters (defaults: see ``PRICE_SOURCE``);
free grants and the 1 s minimum billing period are left out (they do not change the ratio at
sustained load). The ratio to C=1 (Flex's default for Python) is printed beside each row; the
value deployed by ``infra/app/api.bicep`` is read from there and compared with C=1 at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import jwt

ROOT = Path(__file__).resolve().parents[1]
KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"  # the emulator's public development key
HUB = "chat"
ROOM_SIZE = 2
INSTANCE_CPU = 0
LOAD_CPU = 1
SUBPROTOCOL = "json.webpubsub.azure.v1"
MESSAGE_TIMEOUT = 30.0
BICEP = ROOT / "infra" / "app" / "api.bicep"

# Flex Consumption on-demand meters, pay-as-you-go, USD. The pricing page
# (https://azure.microsoft.com/pricing/details/functions/) renders its figures per region at
# view time; these are the East US figures as published for Flex Consumption, checked 2026-11-27.
# Pass --price-gb-s / --price-per-million for your region and agreement.
PRICE_GB_S = 0.000026
PRICE_PER_MILLION_EXECUTIONS = 0.40
PRICE_SOURCE = (
    "https://azure.microsoft.com/pricing/details/functions/ (Flex Consumption, on demand, checked 2026-11-27)"
)


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def deployed_concurrency() -> int | None:
    """``perInstanceConcurrency`` as set in infra/app/api.bicep (the param default)."""
    match = re.search(r"param\s+httpPerInstanceConcurrency\s+int\s*=\s*(\d+)", BICEP.read_text())
    return int(match.group(1)) if match else None


def deployed_memory_mb() -> int:
    match = re.search(r"param\s+instanceMemoryMB\s+int\s*=\s*(\d+)", BICEP.read_text())
    return int(match.group(1)) if match else 2048


# -- the two server processes -----------------------------------------------------------------


@dataclass
class Process:
    name: str
    process: asyncio.subprocess.Process
    port: int

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.process.pid)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def _drain(stream: asyncio.StreamReader | None) -> None:
    while stream is not None and await stream.readline():
        pass


async def start_emulator(functions_port: int, latency_ms: float) -> Process:
    upstream = f"http://127.0.0.1:{functions_port}/api/{{hub}}/{{event}}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devhost.emulator",
        "--port",
        "0",
        "--hub",
        f"{HUB}={upstream}",
        "--rest-latency-ms",
        str(latency_ms),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=lambda: _pin(LOAD_CPU),
    )
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        if not line:
            raise RuntimeError("the emulator exited before listening")
        found = re.search(r"listening on http://[^:]+:(\d+)", line)
        if found:
            asyncio.get_running_loop().create_task(_drain(process.stdout))
            return Process("emulator", process, int(found.group(1)))


async def start_instance(
    port: int, emulator_port: int, concurrency: int, rooms: int, settings: Path
) -> Process:
    settings.write_text(
        json.dumps(
            {
                "IsEncrypted": False,
                "Values": {
                    "FUNCTIONS_WORKER_RUNTIME": "python",
                    "WebPubSubConnectionString": (
                        f"Endpoint=http://127.0.0.1:{emulator_port};AccessKey={KEY};Version=1.0;"
                    ),
                    # The emulator names itself "localhost" in WebHook-Request-Origin.
                    "WebPubSubAllowedOrigins": "localhost",
                    "ChatRooms": ",".join(f"r{i}" for i in range(rooms)),
                    # The chat's per-connection rate limit (10 per 10 s) would refuse the load.
                    "ChatRateLimitMessages": "1000000",
                },
            }
        )
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devhost.functions",
        "--app-dir",
        str(ROOT),
        "--settings",
        str(settings),
        "--port",
        str(port),
        "--concurrency",
        str(concurrency),
        "--log-level",
        "WARNING",
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=lambda: _pin(INSTANCE_CPU),
    )
    asyncio.get_running_loop().create_task(_drain(process.stderr))
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/api/index") as response:
                    if response.status == 200:
                        return Process("instance", process, port)
            except aiohttp.ClientConnectionError:
                pass
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError("the function app did not start")
            await asyncio.sleep(0.1)


# -- clients ------------------------------------------------------------------------------------


def client_url(emulator_port: int, index: int) -> str:
    claims = {
        "aud": f"http://localhost:{emulator_port}/client/hubs/{HUB}",
        "exp": int(time.time()) + 3600,
        "sub": f"user{index}",
    }
    token = jwt.encode(claims, KEY, algorithm="HS256")
    room = f"r{index // ROOM_SIZE}"
    return f"ws://127.0.0.1:{emulator_port}/client/hubs/{HUB}?room={room}&access_token={token}"


@dataclass
class Window:
    """The measured interval, on the loop clock; events before ``start`` are warm-up."""

    start: float
    end: float


async def chatter(
    ws: aiohttp.ClientWebSocketResponse, user: str, window: Window, latencies: list[float]
) -> int:
    """Send, wait for our own message to come back, repeat until the window closes. Returns losses."""
    loop = asyncio.get_running_loop()
    sequence = lost = 0
    while loop.time() < window.end:
        sequence += 1
        marker = f"{user}#{sequence}"
        frame = {"type": "event", "event": "chat", "dataType": "json", "data": {"text": marker}}
        sent = loop.time()
        await ws.send_str(json.dumps(frame))
        try:
            await asyncio.wait_for(_own_message(ws, marker), MESSAGE_TIMEOUT)
        except TimeoutError:
            lost += 1
            continue
        if window.start <= sent and loop.time() <= window.end:
            latencies.append(loop.time() - sent)
    return lost


async def _own_message(ws: aiohttp.ClientWebSocketResponse, marker: str) -> None:
    while True:
        message = await ws.receive()
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket ended: {message.type}")
        frame = json.loads(message.data)
        data = frame.get("data")
        if frame.get("type") == "message" and isinstance(data, dict) and data.get("text") == marker:
            return


# -- one measurement ------------------------------------------------------------------------------


@dataclass
class Row:
    latency_ms: float
    concurrency: int
    clients: int
    events_per_s: float
    p50_ms: float
    p99_ms: float
    instance_cpu: float  # fraction of one core
    cpu_ms_per_event: float
    load_cpu: float  # emulator + clients, fraction of one core
    lost: int

    def compute_cost_per_million(self, memory_gb: float, price_gb_s: float) -> float:
        """The GB-s part: the instance is busy 1/(events/s) seconds per message."""
        return memory_gb * 1_000_000 / max(self.events_per_s, 1e-9) * price_gb_s

    def cost_per_million(self, memory_gb: float, price_gb_s: float, price_per_million: float) -> float:
        return self.compute_cost_per_million(memory_gb, price_gb_s) + price_per_million


async def measure(
    emulator: Process, functions_port: int, concurrency: int, latency_ms: float, seconds: float, warmup: float
) -> Row:
    clients = max(2 * concurrency, ROOM_SIZE)
    rooms = (clients + ROOM_SIZE - 1) // ROOM_SIZE
    with tempfile.TemporaryDirectory() as scratch:
        instance = await start_instance(
            functions_port, emulator.port, concurrency, rooms, Path(scratch) / "local.settings.json"
        )
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                sockets = []
                for index in range(clients):  # one by one: connect events also queue at the instance
                    ws = await session.ws_connect(client_url(emulator.port, index), protocols=[SUBPROTOCOL])
                    hello = json.loads((await ws.receive(timeout=MESSAGE_TIMEOUT)).data)
                    assert hello.get("event") == "connected", hello
                    sockets.append(ws)
                loop = asyncio.get_running_loop()
                window = Window(loop.time() + warmup, loop.time() + warmup + seconds)
                latencies: list[float] = []
                tasks = [
                    asyncio.create_task(chatter(ws, f"user{i}", window, latencies))
                    for i, ws in enumerate(sockets)
                ]
                await asyncio.sleep(max(window.start - loop.time(), 0))
                cpu_before = (instance.cpu_seconds(), emulator.cpu_seconds(), time.process_time())
                await asyncio.sleep(max(window.end - loop.time(), 0))
                cpu_after = (instance.cpu_seconds(), emulator.cpu_seconds(), time.process_time())
                lost = sum(await asyncio.gather(*tasks))
                await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        finally:
            await instance.stop()
    events = len(latencies)
    instance_cpu = cpu_after[0] - cpu_before[0]
    load_cpu = (cpu_after[1] - cpu_before[1]) + (cpu_after[2] - cpu_before[2])
    ordered = sorted(latencies)
    return Row(
        latency_ms=latency_ms,
        concurrency=concurrency,
        clients=clients,
        events_per_s=events / seconds,
        p50_ms=statistics.median(ordered) * 1000 if ordered else float("nan"),
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else float("nan"),
        instance_cpu=instance_cpu / seconds,
        cpu_ms_per_event=instance_cpu * 1000 / max(events, 1),
        load_cpu=load_cpu / seconds,
        lost=lost,
    )


# -- report ---------------------------------------------------------------------------------------


def print_table(rows: list[Row], memory_gb: float, price_gb_s: float, price_per_million: float) -> None:
    print(
        f"cost model: {memory_gb:g} GB instance x ${price_gb_s}/GB-s x busy seconds"
        f" + ${price_per_million}/million executions; prices: {PRICE_SOURCE}"
    )
    header = (
        "| REST RTT | concurrency | clients | events/s | vs C=1 | p50 ms | p99 ms | instance CPU"
        " | CPU ms/event | events per CPU-s | load-side CPU"
        " | GB-s $/1M msgs | total $/1M msgs | total vs C=1 |"
    )
    print(header)
    print("|" + "---:|" * (header.count("|") - 1))
    base = {row.latency_ms: row for row in rows if row.concurrency == 1}
    for row in rows:
        compute = row.compute_cost_per_million(memory_gb, price_gb_s)
        total = compute + price_per_million
        first = base.get(row.latency_ms)
        speed = ratio = "-"
        if first is not None and first.events_per_s > 0:
            speed = f"{row.events_per_s / first.events_per_s:.1f}x"
            ratio = f"{total / first.cost_per_million(memory_gb, price_gb_s, price_per_million):.2f}x"
        events = f"{row.events_per_s:,.0f}" + (f" ({row.lost} lost)" if row.lost else "")
        cells = [
            f"{row.latency_ms:g} ms",
            str(row.concurrency),
            str(row.clients),
            events,
            speed,
            f"{row.p50_ms:.1f}",
            f"{row.p99_ms:.1f}",
            f"{row.instance_cpu:.0%}",
            f"{row.cpu_ms_per_event:.2f}",
            f"{1000 / row.cpu_ms_per_event:,.0f}" if row.cpu_ms_per_event else "-",
            f"{row.load_cpu:.0%}",
            f"${compute:,.3f}",
            f"${total:,.3f}",
            ratio,
        ]
        print("| " + " | ".join(cells) + " |")


def print_summary(
    rows: list[Row], chosen: int | None, memory_gb: float, price_gb_s: float, price_per_million: float
) -> None:
    if chosen is None:
        print(
            "(infra/app/api.bicep sets no httpPerInstanceConcurrency default: no deployed value to compare)"
        )
        return
    for latency in sorted({row.latency_ms for row in rows}):
        by_c = {row.concurrency: row for row in rows if row.latency_ms == latency}
        if 1 not in by_c or chosen not in by_c:
            continue
        one, picked = by_c[1], by_c[chosen]
        compute_one = one.compute_cost_per_million(memory_gb, price_gb_s)
        compute_picked = picked.compute_cost_per_million(memory_gb, price_gb_s)
        total_one, total_picked = compute_one + price_per_million, compute_picked + price_per_million
        print(
            f"REST RTT {latency:g} ms, per million chat messages, concurrency 1 (Flex's Python default) vs"
            f" {chosen} (deployed): instance time ${compute_one:,.3f} vs ${compute_picked:,.3f}"
            f" ({compute_one / compute_picked:.1f}x); with the execution charge ${total_one:,.3f} vs"
            f" ${total_picked:,.3f} ({total_one / total_picked:.1f}x); events per instance"
            f" {picked.events_per_s / max(one.events_per_s, 1e-9):.1f}x"
        )


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


async def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    functions_port = _free_port()
    for latency in args.latency_ms:
        for concurrency in args.concurrency:
            # A fresh emulator per row: the last row's clients leave disconnected events that it
            # retries against the stopped instance, and the failed abuse-protection checks back
            # off (up to 60 s), which would refuse the next row's first connects.
            emulator = await start_emulator(functions_port, latency)
            try:
                rows.append(
                    await measure(emulator, functions_port, concurrency, latency, args.seconds, args.warmup)
                )
            finally:
                await emulator.stop()
            print(f"  measured RTT {latency:g} ms, concurrency {concurrency}", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instance", description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=_ints, default=[1, 4, 16, 64])
    parser.add_argument("--latency-ms", type=_floats, default=[5.0, 20.0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per combination")
    parser.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds before each")
    parser.add_argument("--quick", action="store_true", help="2 s per combination (a smoke run, ~1 minute)")
    parser.add_argument(
        "--memory-mb", type=int, default=deployed_memory_mb(), help="instance memory (default: api.bicep)"
    )
    parser.add_argument("--price-gb-s", type=float, default=PRICE_GB_S)
    parser.add_argument("--price-per-million", type=float, default=PRICE_PER_MILLION_EXECUTIONS)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup = 2.0, 0.7
    _pin(LOAD_CPU)
    load_before = os.getloadavg()[0]
    rows = asyncio.run(run(args))
    memory_gb = args.memory_mb / 1024
    print(
        f"machine load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        f" ({os.cpu_count()} cores): above ~1 the instance shares its core with other work"
    )
    print_table(rows, memory_gb, args.price_gb_s, args.price_per_million)
    print()
    print_summary(rows, deployed_concurrency(), memory_gb, args.price_gb_s, args.price_per_million)
    return 0


if __name__ == "__main__":
    sys.exit(main())
