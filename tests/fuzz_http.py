"""Run fuzz cases in process and through a real dev host, and count what comes back.

The fuzz tests generate requests with hypothesis in batches; each batch is sent to the app's
functions in this process (``func.HttpRequest`` objects, as the worker builds them) and, as raw
bytes over sockets, to ``python -m devhost.functions`` serving the same app in a child process,
many at once. Header values may hold lone surrogates (U+DC80-U+DCFF): they stand for bytes that
are not UTF-8 and go on the wire as those bytes, which aiohttp turns back into the same
surrogates. The child's log must hold no traceback when it stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0
CONCURRENCY = 16  # requests in flight at once against the dev host
# Variables of the developer's shell that would change how the app under test behaves.
_SCRUBBED_PREFIXES = ("WebPubSub", "Chat", "DEVHOST_", "AzureFunctionsJobHost", "WEBSITE_AUTH")


@dataclass(frozen=True)
class WireRequest:
    """One request as bytes on the wire: ``target`` is the path and query, already encoded."""

    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines.append(f"Content-Length: {len(self.body)}")
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("utf-8", "surrogateescape") + self.body


def header_safe(value: str) -> bool:
    """Whether ``value`` can be put on a header line as it is (no line break, no NUL)."""
    return not any(char in value for char in "\r\n\0")


@dataclass
class Tally:
    """Answers of one side (in process or through the dev host) of one fuzz suite, with the wall
    time spent on them and the CPU time of the process that answered."""

    cases: int = 0
    five_xx: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, status: int) -> None:
        self.cases += 1
        self.five_xx += status >= 500
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def line(self, where: str) -> str:
        common = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items())[:6])
        timing = f"{self.seconds:.1f} s wall, {self.cpu_seconds:.1f} s CPU"
        return f"{where}: {self.cases} cases, {self.five_xx} 5xx, {timing} ({common})"


@dataclass
class Figures:
    suite: str
    in_process: Tally = field(default_factory=Tally)
    dev_host: Tally = field(default_factory=Tally)
    started: float = field(default_factory=time.perf_counter)
    started_cpu: float = field(default_factory=time.process_time)

    def summary(self) -> str:
        """One line; the whole test's time includes generating the cases (in this process)."""
        wall, cpu = time.perf_counter() - self.started, time.process_time() - self.started_cpu
        whole = f"{wall:.1f} s wall, {cpu:.1f} s CPU"
        return (
            f"fuzz {self.suite} ({whole} in all): "
            + self.in_process.line("in process")
            + "; "
            + self.dev_host.line("through the dev host (its CPU)")
        )


@dataclass
class DevHostProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def cpu_seconds(self) -> float:
        """CPU time the dev host process has used so far (0 where /proc is not available)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def dev_host_process(app_dir: Path, settings: Mapping[str, str], work_dir: Path) -> Iterator[DevHostProcess]:
    """``python -m devhost.functions`` for ``app_dir`` on a free port of 127.0.0.1, stopped with
    SIGTERM on exit; fails if its log holds a traceback by then."""
    settings_path = work_dir / "local.settings.json"
    settings_path.write_text(json.dumps({"IsEncrypted": False, "Values": dict(settings)}), encoding="utf-8")
    log = work_dir / "devhost.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "devhost.functions", "--app-dir", str(app_dir)]
    command += ["--settings", str(settings_path), "--port", "0", "--host", "127.0.0.1"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        running = DevHostProcess(process, _wait_for_port(process, log), log)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    text = running.log_text()
    assert "Traceback" not in text, f"the dev host logged a traceback:\n{text[-4000:]}"


def _wait_for_port(process: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if "listening on http://" in text:
            address = text.split("listening on http://", 1)[1].split()[0]
            return int(address.rsplit(":", 1)[1])
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"the dev host did not start:\n{log.read_text(errors='replace')}")


async def status_of(port: int, request: WireRequest) -> int:
    """Send ``request`` on a new connection; the answer's status (the body is read and dropped)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request.encode(f"127.0.0.1:{port}"))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
        await asyncio.wait_for(reader.read(), timeout=30)  # until the server closes
    finally:
        writer.close()
    parts = status_line.split(b" ", 2)
    assert len(parts) >= 2 and parts[0].startswith(b"HTTP/1."), f"no HTTP answer: {status_line!r}"
    return int(parts[1])


async def statuses_of(port: int, requests: Iterable[WireRequest]) -> list[int]:
    """Every request's status, ``CONCURRENCY`` at a time, in order."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(request: WireRequest) -> int:
        async with gate:
            return await status_of(port, request)

    return await asyncio.gather(*(one(request) for request in requests))


async def run_batch(
    figures: Figures,
    host: DevHostProcess,
    batch: Sequence[Any],
    in_process: Callable[[Any], Awaitable[int]],
    on_the_wire: Callable[[Any], WireRequest],
) -> None:
    """Answer every case in this process (one after another), then through the dev host (many at
    once); any 5xx fails the test with the case that caused it."""
    started, started_cpu = time.perf_counter(), time.process_time()
    for case in batch:
        status = await in_process(case)
        assert 200 <= status < 500, (status, case)
        figures.in_process.add(status)
    figures.in_process.seconds += time.perf_counter() - started
    figures.in_process.cpu_seconds += time.process_time() - started_cpu
    started, started_cpu = time.perf_counter(), host.cpu_seconds()
    statuses = await statuses_of(host.port, [on_the_wire(case) for case in batch])
    figures.dev_host.seconds += time.perf_counter() - started
    figures.dev_host.cpu_seconds += host.cpu_seconds() - started_cpu
    for case, status in zip(batch, statuses, strict=True):
        assert 200 <= status < 500, (status, case)
        figures.dev_host.add(status)
