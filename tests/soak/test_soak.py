"""Soak and fault test: hundreds of clients against the emulator and a real function app (the
template's test app, ``tests/fixture_app``: rooms, a ``say`` event claimed once in Table Storage
and broadcast), with a fault-injecting proxy between them. Marked ``soak`` (and ``e2e``).

    client tasks (this process) ──ws──▶ emulator (child process, tracemalloc)
                                            │ events            ▲ REST sends (said, probes)
                                            ▼                   │
                                  FaultProxy (this process) ──▶ fixture app on devhost.functions
                                  slow 1-3 s / 5xx / lost          (child process) ──▶ Azurite
                                  answers, seeded                  (a claim row per said message)

For ``SOAK_SECONDS`` (default 60) ``SOAK_CLIENTS`` (default 500) clients, half of them
``json.reliable.webpubsub.azure.v1``, visit one of ``SOAK_ROOMS`` rooms, talk, sometimes drop
and recover their TCP connection, leave and come back. Meanwhile this process sends numbered
``probe`` messages to every room through the REST API (``SOAK_PROBE_INTERVAL`` s per room).
``SOAK_SEED`` seeds the clients and the faults. Afterwards:

(a) every accepted connection (the client got its ``connected`` message) reached the app with
    exactly one ``disconnected`` event, counted per connection id at the proxy;
(b) every reliable connection received, with contiguous ``sequenceId``s, every probe and every
    acknowledged chat message sent to its room while it was connected, in order, no gaps;
(c) the emulator is back at its baseline: no connections, groups, users, sessions, background
    tasks or per-connection objects, and its traced heap growth since the baseline (tracemalloc,
    started after a warm-up) is under ``HEAP_TOLERANCE`` of what the peak load needed;
(d) the function app answered no forwarded event with a 5xx (statuses counted at the proxy);
(e) storage: every acknowledged message is stored (its event claim, ``shared.claims``) exactly
    once, although the proxy "lost" the app's answer to some of them (``lost_rate``: the
    emulator retried those, so the app handled them twice), and no client received any twice.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from devhost.storage import RunningAzurite, start_azurite

from .clients import Settings, SoakClient, Visit
from .proxy import FaultPlan, FaultProxy

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
FIXTURE_APP = REPO / "tests" / "fixture_app"
HUB = "relay"
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "500"))
ROOMS = int(os.environ.get("SOAK_ROOMS", "20"))
SEED = int(os.environ.get("SOAK_SEED", "1234"))
PROBE_INTERVAL = float(os.environ.get("SOAK_PROBE_INTERVAL", "1.0"))
WARMUP_SECONDS = float(os.environ.get("SOAK_WARMUP_SECONDS", "10"))
RECOVERY_WINDOW = 3.0  # emulator: a dropped reliable connection ends after this long
RAMP_SECONDS = 5.0  # clients start spread over this time
SETTLE_TIMEOUT = 60.0  # for the last disconnected events after the clients have gone
HEAP_TOLERANCE = 0.05  # of the peak heap growth; see (c) above
# Always tolerated: bounded caches (yarl URLs, json key memo), dict tables sized for the peak.
HEAP_FLOOR = 1024 * 1024
START_TIMEOUT = 30.0
LOST_RATE = float(os.environ.get("SOAK_LOST_RATE", "0.05"))  # say events whose answer is "lost"
HISTORY_TABLE = "soakhistory"
_SCRUBBED_PREFIXES = ("WebPubSub", "Relay", "DEVHOST_", "AzureFunctionsJobHost", "WEBSITE_AUTH", "SOAK_")

pytestmark = [pytest.mark.soak, pytest.mark.e2e, pytest.mark.timeout(SECONDS + 240)]


# -- processes ---------------------------------------------------------------------------------
@dataclass
class Child:
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def _wait_for_line(child: Child, pattern: str) -> re.Match[str]:
    regex = re.compile(pattern)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for line in child.log.read_text(errors="replace").splitlines():
            match = regex.search(line)
            if match:
                return match
        if child.process.poll() is not None:
            break
        time.sleep(0.1)
    child.stop()
    raise AssertionError(f"no line matched {pattern!r}:\n{child.log.read_text(errors='replace')[-4000:]}")


def _failures_logged(log: Path) -> list[str]:
    """The app's log lines about failed invocations, with their tracebacks (for a report)."""
    found: list[str] = []
    in_traceback = False
    for line in log.read_text(errors="replace").splitlines():
        starts = "Failed" in line or "handler raised" in line or line.startswith("Traceback")
        in_traceback = starts or (in_traceback and not line.startswith("["))
        if in_traceback:
            found.append(line)
    return found


def _die_with_parent() -> None:
    # Linux: SIGTERM the child when this process dies, even if it is killed before teardown.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def _spawn(argv: list[str], log: Path, env: dict[str, str]) -> Child:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *argv],
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Child(process, log)


@dataclass
class Stack:
    proxy: FaultProxy
    emulator: Child
    functions: Child
    emulator_url: str
    control_url: str
    functions_url: str
    connection_string: str
    storage: RunningAzurite


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    key = "soak-" + secrets.token_urlsafe(32)
    proxy = FaultProxy(FaultPlan(seed=SEED, lost_rate=LOST_RATE))
    storage = await start_azurite(HOST, 0, tmp_path / "azurite")
    runner = web.AppRunner(proxy.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    proxy_port = runner.addresses[0][1]
    children: list[Child] = []
    try:
        emulator = _spawn(
            [
                "-m",
                "tests.soak.emulator_process",
                "--upstream",
                f"http://{HOST}:{proxy_port}/api/{{hub}}/{{event}}",
                "--recovery-window",
                str(RECOVERY_WINDOW),
            ],
            tmp_path / "emulator.log",
            _env(SOAK_ACCESS_KEY=key),
        )
        children.append(emulator)
        ports = json.loads((await asyncio.to_thread(_wait_for_line, emulator, r'^\{"port".*\}$')).group(0))
        emulator_url = f"http://{HOST}:{ports['port']}"
        connection_string = f"Endpoint={emulator_url};AccessKey={key};Version=1.0;"
        settings = tmp_path / "local.settings.json"
        values = {"FUNCTIONS_WORKER_RUNTIME": "python", "RelayTable": HISTORY_TABLE}
        settings.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
        functions = _spawn(
            [
                "-m",
                "devhost.functions",
                "--host",
                HOST,
                "--port",
                "0",
                "--app-dir",
                str(FIXTURE_APP),
                "--settings",
                str(settings),
            ],
            tmp_path / "functions.log",
            _env(WebPubSubConnectionString=connection_string, RelayStorage=storage.connection_string),
        )
        children.append(functions)
        match = await asyncio.to_thread(_wait_for_line, functions, r"listening on (http://\S+)")
        proxy.target = match.group(1)
        yield Stack(
            proxy=proxy,
            emulator=emulator,
            functions=functions,
            emulator_url=emulator_url,
            control_url=f"http://{HOST}:{ports['control_port']}",
            functions_url=match.group(1),
            connection_string=connection_string,
            storage=storage,
        )
        for child in children:  # the key must never reach a log
            assert key not in child.log.read_text(errors="replace"), (
                f"{child.log.name} contains the access key"
            )
    finally:
        for child in reversed(children):
            child.stop()
        await runner.cleanup()
        await storage.stop()


# -- load ----------------------------------------------------------------------------------------
@dataclass
class Probe:
    n: int
    t_start: float
    t_done: float = 0.0
    ok: bool = False


async def send_probes(
    connection_string: str, rooms: list[str], stop: asyncio.Event
) -> dict[str, list[Probe]]:
    """Numbered messages to every room through the REST API, until ``stop`` is set."""
    from azure.messaging.webpubsubservice.aio import WebPubSubServiceClient

    sent: dict[str, list[Probe]] = {room: [] for room in rooms}
    async with WebPubSubServiceClient.from_connection_string(connection_string, hub=HUB) as service:

        async def one_room(room: str, offset: float) -> None:
            await asyncio.sleep(offset)
            while not stop.is_set():
                probe = Probe(n=len(sent[room]) + 1, t_start=time.monotonic())
                sent[room].append(probe)
                await service.send_to_group(
                    room, {"kind": "probe", "room": room, "n": probe.n}, content_type="application/json"
                )
                probe.t_done, probe.ok = time.monotonic(), True
                await asyncio.sleep(PROBE_INTERVAL)

        await asyncio.gather(
            *(one_room(room, i * PROBE_INTERVAL / len(rooms)) for i, room in enumerate(rooms))
        )
    return sent


async def stored_chats(stack: Stack, rooms: list[str]) -> dict[str, Counter[str]]:
    """Text -> how many rows (the app's event claims, one per handled event) hold it, per room."""
    from azure.data.tables.aio import TableClient

    stored: dict[str, Counter[str]] = {}
    async with TableClient.from_connection_string(stack.storage.connection_string, HISTORY_TABLE) as table:
        for room in rooms:
            query = "PartitionKey eq @room"
            rows = table.query_entities(query, parameters={"room": room}, select=["text"])
            stored[room] = Counter([row["text"] async for row in rows])
    return stored


async def get_stats(http: aiohttp.ClientSession, stack: Stack) -> dict:
    async with http.get(f"{stack.control_url}/stats") as response:
        return await response.json()


def _idle(stats: dict) -> bool:
    return (
        stats["sessions"] == 0
        and stats["background_tasks"] == 0
        and all(not any(hub.values()) for hub in stats["hubs"].values())
    )


async def wait_idle(http: aiohttp.ClientSession, stack: Stack, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stats = await get_stats(http, stack)
        if _idle(stats) or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.5)


async def run_clients(
    stack: Stack, http: aiohttp.ClientSession, count: int, seconds: float, seed: int, ramp: float
) -> list[SoakClient]:
    settings = Settings(deadline=time.monotonic() + seconds, rooms=tuple(f"r{i}" for i in range(ROOMS)))
    master = random.Random(seed)
    clients = [
        SoakClient(i, http, stack.functions_url, stack.emulator_url, settings, random.Random(master.random()))
        for i in range(count)
    ]

    async def start(client: SoakClient) -> None:
        await asyncio.sleep(ramp * client.index / max(count, 1))
        await client.run()

    await asyncio.wait_for(asyncio.gather(*(start(c) for c in clients)), seconds + 120)
    return clients


# -- checks ----------------------------------------------------------------------------------------
def missing_messages(visit: Visit, probes: list[Probe], chats: list) -> tuple[list[int], list[str], str]:
    """What ``visit`` should have received but did not, and how its probe order is broken."""
    order = ""
    got = visit.probes
    if any(b <= a for a, b in zip(got, got[1:], strict=False)):
        order = "out of order or duplicated"
    elif got and got[-1] - got[0] + 1 != len(got):
        order = f"gap within {got[0]}..{got[-1]}"
    received = set(got)
    lost_probes = [
        p.n
        for p in probes
        if p.t_start > visit.t_connected and p.t_done < visit.t_end and p.n not in received
    ]
    lost_chats = [
        c.text
        for c in chats
        if c.t_start > visit.t_connected and c.t_ack < visit.t_end and c.text not in visit.chats
    ]
    return lost_probes, lost_chats, order


def summarize_loss(visits: list[Visit], probes: dict[str, list[Probe]], chats: dict[str, list]) -> dict:
    result = {"visits": 0, "checked": 0, "lost_probes": 0, "lost_chats": 0, "order_errors": 0, "examples": []}
    for visit in visits:
        result["visits"] += 1
        if not visit.drained:
            continue
        result["checked"] += 1
        lost_probes, lost_chats, order = missing_messages(visit, probes[visit.room], chats[visit.room])
        result["lost_probes"] += len(lost_probes)
        result["lost_chats"] += len(lost_chats)
        result["order_errors"] += bool(order) + len(visit.sequence_errors)
        if (lost_probes or lost_chats or order or visit.sequence_errors) and len(result["examples"]) < 5:
            result["examples"].append(
                f"{visit.protocol} {visit.connection_id}: probes {lost_probes[:5]} chats {lost_chats[:5]} "
                f"{order} {visit.sequence_errors[:3]}"
            )
    return result


async def test_soak_with_faults_loses_nothing_and_leaks_nothing(stack: Stack) -> None:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60)
    ) as http:
        # Warm-up at full load, so imports, connection pools and bounded caches (yarl, aiohttp,
        # the abuse-protection result) reach their plateau before the baseline.
        warm = await run_clients(stack, http, CLIENTS, WARMUP_SECONDS, SEED + 1, ramp=RAMP_SECONDS)
        stats = await wait_idle(http, stack, SETTLE_TIMEOUT)
        assert _idle(stats), f"the emulator did not go idle after the warm-up: {stats}"
        async with http.post(f"{stack.control_url}/baseline") as response:
            baseline = await response.json()

        stop_probes = asyncio.Event()
        rooms = [f"r{i}" for i in range(ROOMS)]
        probes_task = asyncio.create_task(send_probes(stack.connection_string, rooms, stop_probes))
        peak: dict = {"connections": 0, "traced_bytes": 0}

        async def sample() -> None:
            while True:
                await asyncio.sleep(5)
                now = await get_stats(http, stack)
                connections = sum(hub["connections"] for hub in now["hubs"].values())
                if now["traced_bytes"] > peak["traced_bytes"]:
                    peak.update(traced_bytes=now["traced_bytes"], rss_bytes=now["rss_bytes"])
                peak["connections"] = max(peak["connections"], connections)

        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        clients = await run_clients(stack, http, CLIENTS, SECONDS, SEED, ramp=RAMP_SECONDS)
        load_seconds = time.monotonic() - started
        sampler.cancel()
        stop_probes.set()
        probes = await probes_task
        final = await wait_idle(http, stack, SETTLE_TIMEOUT)
        settle_seconds = time.monotonic() - started - load_seconds
        stored = await stored_chats(stack, rooms)
        # Every client has gone, so the upstream's work is done: stop the function app so its
        # pooled keep-alive REST connections to the emulator (bounded by the SDK's pool limit,
        # not by the number of clients) close before the heap is read.
        await asyncio.to_thread(stack.functions.stop)
        async with http.post(f"{stack.control_url}/release") as response:
            final = await response.json()
        async with http.get(f"{stack.control_url}/top") as response:
            top_sites = await response.json()

    counts = stack.proxy.counts
    visits = [v for c in clients for v in c.visits]
    all_visits = visits + [v for c in warm for v in c.visits]
    failures = [f for c in clients + warm for f in c.failures]
    chats: dict[str, list] = defaultdict(list)
    for visit in visits:
        chats[visit.room].extend(c for c in visit.sent if c.ok)
    reliable = summarize_loss([v for v in visits if v.reliable], probes, chats)
    plain = summarize_loss([v for v in visits if not v.reliable], probes, chats)
    sent_chats = [c for v in visits for c in v.sent]
    # the warm-up's chats are in history too: check every acknowledged chat of both phases
    acked = [(v.room, c.text) for v in all_visits for c in v.sent if c.ok]
    not_stored = [text for room, text in acked if stored.get(room, Counter())[text] == 0]
    stored_twice = sorted(text for counts in stored.values() for text, n in counts.items() if n > 1)
    received_twice = [text for v in all_visits for text in v.chat_repeats]
    heap_growth = final["traced_bytes"]
    heap_allowed = max(HEAP_FLOOR, HEAP_TOLERANCE * peak["traced_bytes"])
    report = {
        "parameters": {
            "clients": CLIENTS,
            "seconds": SECONDS,
            "rooms": ROOMS,
            "seed": SEED,
            "probe_interval": PROBE_INTERVAL,
            "faults": vars(stack.proxy.plan),
        },
        "load_seconds": round(load_seconds, 1),
        "settle_seconds": round(settle_seconds, 1),
        "visits": len(visits),
        "reliable_visits": reliable["visits"],
        "recoveries": sum(v.recoveries for v in visits),
        "replayed_duplicates": sum(v.duplicates for v in visits),
        "peak_connections": peak["connections"],
        "chats_sent": len(sent_chats),
        "chats_acked_ok": sum(c.ok for c in sent_chats),
        "chat_failures": sorted({c.error for c in sent_chats if not c.ok}),
        "probes_sent": sum(len(p) for p in probes.values()),
        "visit_failures": failures[:10],
        "visit_errors": [e for v in all_visits for e in v.errors][:10],
        "injected": dict(counts.injected),
        "proxy_forward_errors": dict(counts.forward_errors),
        "app_statuses": {f"{e} {s}": n for (e, s), n in sorted(counts.app_statuses.items())},
        "history": {
            "acked_chats": len(acked),
            "stored_rows": sum(sum(c.values()) for c in stored.values()),
            "not_stored": not_stored[:10],
            "stored_twice": stored_twice[:10],
            "received_twice": received_twice[:10],
        },
        "reliable_loss": reliable,
        "json_loss (not asserted)": plain,
        "heap": {
            "baseline_rss": baseline["rss_bytes"],
            "peak_traced": peak["traced_bytes"],
            "final_traced": heap_growth,
            "allowed": int(heap_allowed),
            "final_rss": final["rss_bytes"],
        },
        "final_state": {
            k: final[k]
            for k in ("hubs", "sessions", "background_tasks", "live_objects", "server_connections")
        },
    }
    print("\nsoak report:", json.dumps(report, indent=1, default=str))

    assert not failures and not report["visit_errors"], report
    assert reliable["checked"] > 0 and all(p.ok for room in probes.values() for p in room), report
    broken: list[str] = []
    # (a) exactly one connected and one disconnected event per accepted connection, none for others
    accepted = {v.connection_id for v in all_visits}
    wrong = {
        cid: dict(counts.per_connection[cid])
        for cid in accepted
        if counts.per_connection[cid]["disconnected"] != 1 or counts.per_connection[cid]["connected"] != 1
    }
    unknown = {cid for cid, c in counts.per_connection.items() if c["disconnected"] and cid not in accepted}
    if wrong or unknown:
        broken.append(
            f"(a) events per connection: {list(wrong.items())[:5]}, unknown ids {sorted(unknown)[:5]}"
        )
    # (b) reliable clients lost nothing, in order
    if reliable["lost_probes"] or reliable["lost_chats"] or reliable["order_errors"]:
        broken.append(f"(b) reliable clients lost messages: {reliable}")
    # (c) the emulator is back at its baseline
    if not _idle(final) or any(final["live_objects"].values()) or final["server_connections"]:
        broken.append(f"(c) emulator state not empty: {report['final_state']}")
    if heap_growth > heap_allowed:
        broken.append(
            f"(c) emulator heap grew by {heap_growth} bytes (allowed {int(heap_allowed)}); largest sites:\n"
            + "\n".join(top_sites[:10])
        )
    # (d) no 5xx from the function app for the events the proxy forwarded
    if counts.server_errors() or counts.forward_errors:
        broken.append(
            f"(d) the app answered 5xx: {counts.server_errors()} {dict(counts.forward_errors)}; its log:\n"
            + "\n".join(_failures_logged(stack.functions.log)[-40:])
        )
    # (e) each acknowledged chat stored once, none stored or broadcast twice, retries happened
    if not_stored or stored_twice or received_twice:
        broken.append(f"(e) history: {report['history']}")
    if LOST_RATE > 0 and not counts.injected["lost"]:
        broken.append("(e) no answer was 'lost': the retried-event path was not exercised")
    assert not broken, "\n".join(broken)


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # aiohttp sessions in this process must talk to 127.0.0.1 directly.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield
