"""Benchmark: a chat message end to end, with and without history writes, side by side.

    python -m bench.chat [--rooms 5] [--members 10] [--rate 20] [--seconds 5] [--rounds 3]
                         [--topology split|one-loop] [--azurite disk|memory]

Two stacks on free ports of 127.0.0.1, identical but for the history store: one whose app
has ``ChatStorage`` pointing at an Azurite started here (every chat message is claimed in
Table Storage before it is broadcast, as in production), one without (broadcast only).
``--topology split`` (default) runs each stack as ``python -m devhost.emulator`` plus
``python -m devhost.functions``, two processes, as the service and the app are in Azure;
``one-loop`` runs ``python -m devhost`` (both on one event loop, as ``scripts/dev`` does).
``--azurite disk`` (default) is how ``python -m devhost`` runs Azurite (data on disk, so
history survives a restart); ``memory`` is ``--inMemoryPersistence``.
This process holds every client (``json.webpubsub.azure.v1`` WebSockets on aiohttp),
``--rooms`` rooms of ``--members`` each, on each stack.

Rounds alternate between the two stacks (A B A B ...), so drift of the shared machine hits
both alike. In a round, every 1/``--rate`` s a member of the next room sends a ``chat``
event; the latency of a message is from just before the send until the **last** member of
its room (the sender included) has received the broadcast. Printed: p50/p99 per stack, the
ratio with/without history (target: the write adds < 25 % at p50), the load average, and
what one storage round trip costs on its own (the claim each message waits for, and a bare
HTTP request to Azurite), next to the 25 % budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from devhost.emulator.config import DEFAULT_ACCESS_KEY
from devhost.storage import ACCOUNT, RunningAzurite, start_azurite
from shared.closing import close_all
from shared.events import ConnectionContext

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SUBPROTOCOL = "json.webpubsub.azure.v1"


@dataclass
class Stack:
    label: str
    processes: list[subprocess.Popen[bytes]]
    functions_url: str
    storage: RunningAzurite | None = None

    async def stop(self) -> None:
        for process in self.processes:  # SIGTERM: each stops gracefully
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                await asyncio.to_thread(process.wait, 20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.storage is not None:
            await self.storage.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _launch(module: list[str], work: Path, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (work / f"{name}.log").open("wb")  # read it if a stack does not start
    return subprocess.Popen(
        [sys.executable, "-m", *module],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def _wait_http(url: str, processes: list[subprocess.Popen[bytes]], label: str) -> None:
    """Until ``url`` answers at all (any status), or fail if a process exits or 60 s pass."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in processes):
                break
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)):
                    return
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.2)
    for process in processes:
        if process.poll() is None:
            process.kill()
    raise RuntimeError(f"{label}: did not start (see its *.log in the work folder)")


async def start_stack(
    label: str, work: Path, *, storage: RunningAzurite | None, rooms: list[str], topology: str
) -> Stack:
    """One chat stack on free ports of 127.0.0.1, talking to ``storage`` (None: no history).

    ``one-loop``: ``python -m devhost`` (emulator and function app on one event loop, as
    ``scripts/dev`` runs them). ``split``: ``python -m devhost.emulator`` and
    ``python -m devhost.functions`` as two processes, like the service and the app in Azure.
    """
    emulator_port, functions_port = _free_port(), _free_port()
    emulator_url = f"http://{HOST}:{emulator_port}"
    values = {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "ChatAllowGuests": "true",
        "ChatRooms": ",".join(rooms),
        "ChatRateLimitMessages": "10000",
    }
    if storage is not None:
        values["ChatStorage"] = storage.connection_string
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WebPubSub", "Chat", "DEVHOST_"))}
    env["PYTHONUNBUFFERED"] = "1"
    common = ["--host", HOST, "--log-level", "WARNING"]
    if topology == "one-loop":
        # --no-storage: the app uses ChatStorage from the settings (the Azurite started here)
        args = ["devhost", "--functions-port", str(functions_port), "--emulator-port", str(emulator_port)]
        args += [*common, "--public-host", HOST, "--no-storage", "--settings", str(work / "settings.json")]
        _write_settings(work, values)
        processes = [_launch(args, work, "devhost", env)]
    else:
        upstream = f"http://{HOST}:{functions_port}/api/{{hub}}/{{event}}"
        emulator = [
            "devhost.emulator",
            "--host",
            HOST,
            "--port",
            str(emulator_port),
            "--hub",
            f"chat={upstream}",
        ]
        # the host name the emulator signs its events with (WebHook-Request-Origin), which the
        # app checks against its endpoint: the emulator's CLI always uses "localhost"
        endpoint = f"http://localhost:{emulator_port}"
        values["WebPubSubConnectionString"] = (
            f"Endpoint={endpoint};AccessKey={DEFAULT_ACCESS_KEY};Version=1.0;"
        )
        _write_settings(work, values)
        functions = ["devhost.functions", "--port", str(functions_port), *common]
        functions += ["--settings", str(work / "settings.json")]
        processes = [_launch(emulator, work, "emulator", env), _launch(functions, work, "functions", env)]
    functions_url = f"http://{HOST}:{functions_port}"
    await _wait_http(f"{emulator_url}/api/health", processes, label)
    await _wait_http(f"{functions_url}/", processes, label)
    return Stack(label, processes, functions_url, storage)


def _write_settings(work: Path, values: dict[str, str]) -> None:
    settings = {"IsEncrypted": False, "Values": values}
    (work / "settings.json").write_text(json.dumps(settings), encoding="utf-8")


@dataclass
class Member:
    ws: aiohttp.ClientWebSocketResponse
    room: str
    pending: dict[str, float] = field(default_factory=dict)


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    lost: int = 0


class RoomSet:
    """The clients of one stack and the bookkeeping of in-flight messages."""

    def __init__(self) -> None:
        self.members: dict[str, list[Member]] = {}
        self.waiting: dict[str, tuple[float, int]] = {}  # text -> (t0, receipts still missing)
        self.current: Round | None = None
        self.readers: list[asyncio.Task[None]] = []

    async def read(self, member: Member) -> None:
        async for frame in member.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            data = message.get("data") if message.get("type") == "message" else None
            if not (isinstance(data, dict) and data.get("kind") == "chat"):
                continue
            now = time.perf_counter()
            text = data.get("text", "")
            entry = self.waiting.get(text)
            if entry is None:
                continue
            t0, missing = entry
            if missing == 1:
                del self.waiting[text]
                if self.current is not None:
                    self.current.latencies.append(now - t0)
            else:
                self.waiting[text] = (t0, missing - 1)

    async def connect(self, http: aiohttp.ClientSession, stack: Stack, rooms: list[str], size: int) -> None:
        for room in rooms:
            self.members[room] = []
            for index in range(size):
                async with http.get(
                    f"{stack.functions_url}/api/negotiate", params={"name": f"m{index}", "room": room}
                ) as response:
                    url = (await response.json())["url"]
                ws = await http.ws_connect(url, protocols=(SUBPROTOCOL,))
                member = Member(ws, room)
                self.members[room].append(member)
                self.readers.append(asyncio.create_task(self.read(member)))

    async def run_round(self, rate: float, seconds: float, sequence: int) -> Round:
        self.current = result = Round()
        rooms = list(self.members)
        count = int(rate * seconds)
        start = time.perf_counter()
        for n in range(count):
            room = rooms[n % len(rooms)]
            sender = self.members[room][(n // len(rooms)) % len(self.members[room])]
            text = f"r{sequence}-{n}-{uuid.uuid4().hex[:6]}"
            self.waiting[text] = (time.perf_counter(), len(self.members[room]))
            await sender.ws.send_json(
                {"type": "event", "event": "chat", "dataType": "json", "data": {"text": text}}
            )
            delay = start + (n + 1) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        settle = time.perf_counter() + 5
        while self.waiting and time.perf_counter() < settle:
            await asyncio.sleep(0.05)
        result.lost = len(self.waiting)
        self.waiting.clear()
        self.current = None
        return result

    async def close(self) -> None:
        for members in self.members.values():
            for member in members:
                await member.ws.close()
        for reader in self.readers:
            reader.cancel()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Floor:
    """What one storage round trip costs on its own, measured from this process."""

    claim_ms: float  # p50 of HistoryStore.claim: the write each message waits for
    claim_cpu_ms: float  # this process's CPU per claim (the SDK's Python, aiohttp, the kernel)
    bare_ms: float  # p50 of a bare aiohttp request to Azurite (unsigned: answered 403 at once)
    azurite_cpu_ms: float | None  # Azurite's CPU per claim (from /proc), None if unknown


def _process_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def measure_floor(storage: RunningAzurite, count: int = 200) -> Floor:
    """Time ``count`` claims (the handler's own code) and bare requests, one at a time."""
    os.environ["ChatStorage"] = storage.connection_string  # this process only; stacks are running
    # This process only uses the history store: the hub's "no access key" error is not for it.
    logging.getLogger("webpubsub").setLevel(logging.CRITICAL)
    from chat import history
    from chat.ids import new_message_id

    store = history.get_store()
    assert store is not None
    walls: list[float] = []
    cpu = 0.0
    azurite_cpu = _process_cpu(storage.process.pid)
    for n in range(count + 20):  # the first 20 warm up
        message = history.StoredMessage(new_message_id(), "guest-floor", "floor", "floor", f"f{n}", "")
        context = ConnectionContext(
            hub="chat",
            connection_id="floor",
            event_name="chat",
            event_type="azure.webpubsub.user.chat",
            event_id=uuid.uuid4().hex,
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        assert await store.claim(message, context) is None
        if n >= 20:
            walls.append(time.perf_counter() - started)
            cpu += time.process_time() - cpu_started
        if n == 19:
            azurite_cpu = _process_cpu(storage.process.pid)
        await asyncio.sleep(0.002)
    azurite_after = _process_cpu(storage.process.pid)
    await close_all()  # the pooled table client
    bare: list[float] = []
    url = f"http://{storage.host}:{storage.port}/{ACCOUNT}/floor"
    async with aiohttp.ClientSession() as http:
        for n in range(count + 20):
            started = time.perf_counter()
            async with http.post(url, json={"RowKey": str(n)}) as response:
                await response.read()
            if n >= 20:
                bare.append(time.perf_counter() - started)
            await asyncio.sleep(0.002)
    used = None if azurite_cpu is None or azurite_after is None else (azurite_after - azurite_cpu) / count
    return Floor(
        claim_ms=statistics.median(walls) * 1000,
        claim_cpu_ms=cpu / count * 1000,
        bare_ms=statistics.median(bare) * 1000,
        azurite_cpu_ms=None if used is None else used * 1000,
    )


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def run(args: argparse.Namespace) -> None:
    rooms = [f"room{i}" for i in range(args.rooms)]
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        work = Path(tmp)
        location = None if args.azurite == "memory" else work / "azurite"
        storage = await start_azurite(HOST, 0, location)
        stacks: list[Stack] = []
        try:
            stacks.append(
                await start_stack(
                    "history (Azurite)",
                    work / "history",
                    storage=storage,
                    rooms=rooms,
                    topology=args.topology,
                )
            )
            stacks.append(
                await start_stack(
                    "no history", work / "plain", storage=None, rooms=rooms, topology=args.topology
                )
            )
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60)
            ) as http:
                sets = []
                for stack in stacks:
                    room_set = RoomSet()
                    await room_set.connect(http, stack, rooms, args.members)
                    sets.append(room_set)
                # warm-up: imports, pools, the table's creation, abuse-protection validation
                for room_set in sets:
                    await room_set.run_round(args.rate, 1.0, -1)
                results: list[list[Round]] = [[], []]
                for sequence in range(args.rounds):
                    for index, room_set in enumerate(sets):
                        results[index].append(await room_set.run_round(args.rate, args.seconds, sequence))
                for room_set in sets:
                    await room_set.close()
            floor = await measure_floor(storage)
        finally:
            for stack in stacks:
                await stack.stop()
            await storage.stop()
    print(
        f"chat send -> every member received: {args.rooms} rooms x {args.members} members, "
        f"{args.rate:g} msg/s, {args.rounds} alternating rounds of {args.seconds:g} s per stack"
    )
    print(
        f"topology {args.topology}, Azurite {args.azurite}; "
        f"load average (1/5/15 min) {load_before} before, {load_average()} after"
    )
    print(f"{'stack':<20}{'messages':>9}{'lost':>6}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'round p50s':>24}")
    summary = []
    for stack, rounds in zip(stacks, results, strict=True):
        latencies = [v for r in rounds for v in r.latencies]
        p50, p90, p99 = (percentile(latencies, q) * 1000 for q in (0.5, 0.9, 0.99))
        per_round = " ".join(f"{statistics.median(r.latencies) * 1000:.1f}" for r in rounds if r.latencies)
        lost = sum(r.lost for r in rounds)
        print(
            f"{stack.label:<20}{len(latencies):>9}{lost:>6}{p50:>9.2f}{p90:>9.2f}{p99:>9.2f}{per_round:>24}"
        )
        summary.append((p50, p99))
    (h50, h99), (b50, b99) = summary
    verdict = "met" if h50 / b50 < 1.25 else "NOT met"
    pairs = [
        statistics.median(h.latencies) / statistics.median(b.latencies)
        for h, b in zip(*results, strict=True)
        if h.latencies and b.latencies
    ]
    spread = f", {min(pairs):.2f}-{max(pairs):.2f}x round by round" if pairs else ""
    print(
        f"ratio history / no history: p50 {h50 / b50:.2f}x (+{(h50 - b50):.2f} ms{spread}), "
        f"p99 {h99 / b99:.2f}x; target p50 < 1.25x: {verdict}"
    )
    azurite_cpu = "?" if floor.azurite_cpu_ms is None else f"{floor.azurite_cpu_ms:.2f}"
    print(
        f"one storage round trip alone (after the rounds, from this process): HistoryStore.claim "
        f"p50 {floor.claim_ms:.2f} ms (CPU: this process {floor.claim_cpu_ms:.2f} ms, Azurite "
        f"{azurite_cpu} ms); a bare HTTP request to Azurite p50 {floor.bare_ms:.2f} ms; "
        f"the 25 % budget is {0.25 * b50:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=5)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second, all rooms together")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per stack, alternating")
    parser.add_argument(
        "--topology",
        choices=("split", "one-loop"),
        default="split",
        help="split: emulator and function app in two processes, as in Azure (default); "
        "one-loop: python -m devhost, both on one event loop",
    )
    parser.add_argument(
        "--azurite",
        choices=("disk", "memory"),
        default="disk",
        help="Azurite's persistence: disk (what python -m devhost runs; default) or memory",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
