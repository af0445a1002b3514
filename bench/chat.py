"""Benchmark: a chat message end to end, with and without history writes, side by side.

    python -m bench.chat [--rooms 5] [--members 10] [--rate 20] [--seconds 5] [--rounds 3]

Two stacks run as ``python -m devhost`` subprocesses on free ports of 127.0.0.1, identical
but for the history store: one with Azurite (every chat message is written to Table Storage
before it is broadcast, as in production), one with ``--no-storage`` and no ``ChatStorage``
setting (broadcast only). This process holds every client (``json.webpubsub.azure.v1``
WebSockets on aiohttp), ``--rooms`` rooms of ``--members`` each, on each stack.

Rounds alternate between the two stacks (A B A B ...), so drift of the shared machine hits
both alike. In a round, every 1/``--rate`` s a member of the next room sends a ``chat``
event; the latency of a message is from just before the send until the **last** member of
its room (the sender included) has received the broadcast. Printed: p50/p99 per stack and
the ratio with/without history (target: the write adds < 25 % at p50).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SUBPROTOCOL = "json.webpubsub.azure.v1"
_URL_LINE = re.compile(r"^Functions host: (http://\S+)")


@dataclass
class Stack:
    label: str
    process: subprocess.Popen[str]
    functions_url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_stack(label: str, work: Path, *, history: bool, rooms: list[str]) -> Stack:
    values = {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "ChatAllowGuests": "true",
        "ChatRooms": ",".join(rooms),
        "ChatRateLimitMessages": "10000",
    }
    work.mkdir(parents=True, exist_ok=True)
    settings = work / "local.settings.json"
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": values}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WebPubSub", "Chat", "DEVHOST_"))}
    env["PYTHONUNBUFFERED"] = "1"
    args = [sys.executable, "-m", "devhost", "--functions-port", "0", "--emulator-port", "0"]
    args += ["--host", HOST, "--public-host", HOST, "--settings", str(settings), "--log-level", "WARNING"]
    args += ["--storage-port", "0", "--storage-dir", str(work / "azurite")] if history else ["--no-storage"]
    process = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    url = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = _URL_LINE.match(line)
        url = match.group(1) if match else url
        if line.startswith("Chat page:"):
            break
    if not url:
        process.kill()
        raise RuntimeError(f"{label}: python -m devhost did not start")
    # keep draining its output so the pipe never fills
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return Stack(label, process, url)


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


async def run(args: argparse.Namespace) -> None:
    rooms = [f"room{i}" for i in range(args.rooms)]
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        stacks = [
            start_stack("history (Azurite)", Path(tmp) / "history", history=True, rooms=rooms),
            start_stack("no history", Path(tmp) / "plain", history=False, rooms=rooms),
        ]
        try:
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
        finally:
            for stack in stacks:
                stack.stop()
    print(
        f"chat send -> every member received: {args.rooms} rooms x {args.members} members, "
        f"{args.rate:g} msg/s, {args.rounds} alternating rounds of {args.seconds:g} s per stack"
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
    print(
        f"ratio history / no history: p50 {h50 / b50:.2f}x (+{(h50 - b50):.2f} ms), "
        f"p99 {h99 / b99:.2f}x; target p50 < 1.25x: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=5)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second, all rooms together")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per stack, alternating")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
