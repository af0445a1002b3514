"""HTTP-level comparison: our Functions app on the dev host vs ``@azure/web-pubsub-express``.

Both serve the same handler, an echo of a user ``message`` event (``bench/echo_app.py`` on
``python -m devhost.functions``, real HTTP; ``bench/express_upstream.mjs`` on node), and get
the same signed requests (text/plain body, CloudEvents headers, valid ``ce-signature``) from
one load generator:

* the generator is this module (``--generate``) in its own Python process: aiohttp, a fixed
  number of connections each sending its next request when the previous answer arrived
  (closed loop), latencies from ``time.perf_counter``. One tool for both sides, nothing to
  install; its own CPU time is printed so a saturated generator is visible.
* servers are pinned to CPU 0 and the generator to CPU 1 (2-core machines), rounds alternate
  between the two sides so drift hits both; the table shows medians over rounds.

express does not verify ``ce-signature`` (it accepts a forged request); ours does, which is
part of what ours costs. Run: ``python -m bench.http_compare [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.upstream_requests import CONNECTION_STRING, PRIMARY_KEY, event_headers  # noqa: E402

HOST = "127.0.0.1"
SERVER_CPU = 0
LOAD_CPU = 1
BODY = b"hello bench"
ROUTE = "/api/bench/message"


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


def _headers(keys: tuple[str, ...] = (PRIMARY_KEY,)) -> dict[str, str]:
    return event_headers("message", hub="bench", user_id="bench", content_type="text/plain", keys=keys)


# -- load generator (runs in its own process) ----------------------------------------------------
async def generate(url: str, seconds: float, concurrency: int, warmup: float) -> dict[str, object]:
    import aiohttp

    headers = _headers()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, end = start + warmup, start + warmup + seconds
    cpu_start = time.process_time()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            while True:
                sent = time.perf_counter()
                if loop.time() >= end:
                    return
                async with session.post(url, data=BODY, headers=headers) as response:
                    await response.read()
                if loop.time() >= measure_from:
                    latencies.append(time.perf_counter() - sent)
                    statuses[response.status] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "statuses": dict(statuses),
        "generator_cpu": time.process_time() - cpu_start,
    }


def run_generator(url: str, seconds: float, concurrency: int, warmup: float) -> dict[str, object]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.http_compare",
            "--generate",
            url,
            "--seconds",
            str(seconds),
            "--concurrency",
            str(concurrency),
            "--warmup",
            str(warmup),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: _pin(LOAD_CPU),
    )
    return json.loads(out.stdout)


# -- servers --------------------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own http URL
            return
        except urllib.error.HTTPError:
            return  # answering (with 4xx for a bare GET)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_ours(work: Path) -> Server:
    settings = work / "local.settings.json"
    values = {"FUNCTIONS_WORKER_RUNTIME": "python", "WebPubSubConnectionString": CONNECTION_STRING}
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WebPubSub", "AzureFunctionsJobHost"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devhost.functions",
            "--host",
            HOST,
            "--port",
            str(port),
            "--app-dir",
            str(ROOT),
            "--module",
            "bench.echo_app",
            "--settings",
            str(settings),
            "--log-level",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: _pin(SERVER_CPU),
    )
    server = Server("ours: bench.echo_app on devhost.functions", process, f"http://{HOST}:{port}{ROUTE}")
    try:
        _wait_until_answering(server.url, process)
    except RuntimeError:
        server.stop()
        raise
    return server


def start_express() -> Server:
    node = shutil.which("node")
    if node is None or not (ROOT / "tests/node/node_modules/@azure/web-pubsub-express").is_dir():
        raise RuntimeError("needs node and tests/node/node_modules (npm ci --prefix tests/node)")
    process = subprocess.Popen(
        [node, str(ROOT / "bench/express_upstream.mjs")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: _pin(SERVER_CPU),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("express_upstream.mjs exited before listening")
    port = json.loads(line)["port"]
    return Server("@azure/web-pubsub-express 1.1.0", process, f"http://{HOST}:{port}{ROUTE}")


def probe(url: str, keys: tuple[str, ...]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=BODY, headers=_headers(keys), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own http URL
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


# -- report ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s per side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--generate", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        print(json.dumps(asyncio.run(generate(args.generate, args.seconds, args.concurrency, args.warmup))))
        return 0
    if args.quick:
        args.rounds, args.seconds = 1, 2.0
    with tempfile.TemporaryDirectory() as work:
        servers = [start_ours(Path(work))]
        try:
            servers.append(start_express())
            for server in servers:  # same semantics: a signed message is echoed back
                status, body = probe(server.url, (PRIMARY_KEY,))
                if status != 200 or body != BODY:
                    raise RuntimeError(f"{server.name} answered {status} {body!r}, expected 200 echo")
            forged = {
                server.name: probe(server.url, ("not-the-key-0123456789abcdefghijklmnopqrstuv",))[0]
                for server in servers
            }
            results: dict[str, list[dict[str, object]]] = {server.name: [] for server in servers}
            for _ in range(args.rounds):
                for server in servers:
                    results[server.name].append(
                        run_generator(server.url, args.seconds, args.concurrency, args.warmup)
                    )
        finally:
            for server in servers:
                server.stop()
    print(
        f"signed `message` events, text/plain {len(BODY)} B, echo reply; {args.concurrency} connections, "
        f"{args.rounds} x {args.seconds:g} s per side (medians); "
        f"servers on CPU {SERVER_CPU}, load on CPU {LOAD_CPU}"
    )
    print(f"{'upstream':<44}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'gen CPU':>9}  statuses")
    summary = {}
    for name, rounds in results.items():
        rps = statistics.median(float(r["rps"]) for r in rounds)  # type: ignore[arg-type]
        p50 = statistics.median(float(r["p50_ms"]) for r in rounds)  # type: ignore[arg-type]
        p99 = statistics.median(float(r["p99_ms"]) for r in rounds)  # type: ignore[arg-type]
        cpu = statistics.median(float(r["generator_cpu"]) for r in rounds) / (args.seconds + args.warmup)  # type: ignore[arg-type]
        statuses: Counter[str] = Counter()
        for r in rounds:
            statuses.update({str(k): int(v) for k, v in r["statuses"].items()})  # type: ignore[union-attr]
        summary[name] = (rps, p99)
        print(f"{name:<44}{rps:>9.0f}{p50:>9.2f}{p99:>9.2f}{cpu:>8.0%}  {dict(statuses)}")
    (ours_rps, ours_p99), (ex_rps, ex_p99) = summary.values()
    print(f"ratio ours / express: req/s {ours_rps / ex_rps:.2f}x, p99 {ours_p99 / ex_p99:.2f}x")
    print(
        "note: express does not verify ce-signature, ours does: a forged signature got "
        + ", ".join(f"{status} from {name.split(':')[0]}" for name, status in forged.items())
    )
    print(
        "chat sample: not measured here (its handlers broadcast through the REST API, so the result "
        "would measure the Web PubSub endpoint too; see bench/emulator.py for that path)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
