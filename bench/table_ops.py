"""Benchmark: what each way of writing to Table Storage costs a handler, one call at a time.

    python -m bench.table_ops [--calls 300] [--rounds 3] [--azurite disk|memory]

A handler that must act once per event (``shared.claims``) waits for one storage write before
its side effect: the claim, one insert. What it stores besides (a chat message's history rows,
a vote) can be written after it. This measures, against one Azurite started here, ``shared``'s
calls and the alternatives a faster design could use, each as wall time per call (p50/p90) and
as CPU per call of this process (the SDK's Python, aiohttp, the kernel) and of Azurite:

* ``bare HTTP``: an unsigned aiohttp request that Azurite refuses (403) at once: the floor
  of any round trip to it from Python, with no SDK and no storage work;
* ``claim``: ``shared.claims.claim`` on a ``shared.tables.Table`` (one insert): the **baseline**;
* ``insert, trimmed pipeline``: the same insert through a ``TableClient`` without the
  policies a local client does not need (proxy, redirect, custom hook, network trace,
  tracing, HTTP logging), passed with the SDK's ``policies=`` option;
* ``2 upserts``: two rows written side by side with ``Table.upsert`` (what the chat does after
  its broadcast: a message in both orders);
* ``batch of 2``: the same two rows as one entity-group transaction;
* ``batch claim+2``: the claim row and both rows as one transaction (creates): everything in
  one round trip, before the side effect;
* ``point read``: ``Table.get`` of one row.

Rounds run the variants in turn (A B C ... A B C ...), so drift of the shared machine hits
them alike; ratios are against ``claim``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from devhost.storage import ACCOUNT, RunningAzurite, start_azurite

HOST = "127.0.0.1"
PARTITION = "bench"
TABLE = "benchtable"
STORAGE_SETTING = "BenchStorage"  # the shared.tables settings prefix, in this process only
Call = Callable[[], Awaitable[object]]


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Sample:
    def __init__(self) -> None:
        self.walls: list[float] = []
        self.cpu = 0.0  # this process, seconds
        self.azurite_cpu = 0.0  # seconds


async def measure(call: Call, calls: int, azurite_pid: int, sample: Sample) -> None:
    for _ in range(10):  # warm-up
        await call()
    azurite_before = _process_cpu(azurite_pid)
    for _ in range(calls):
        started, cpu_started = time.perf_counter(), time.process_time()
        await call()
        sample.walls.append(time.perf_counter() - started)
        sample.cpu += time.process_time() - cpu_started
        await asyncio.sleep(0.002)  # one event at a time, as at a modest message rate
    sample.azurite_cpu += _process_cpu(azurite_pid) - azurite_before


def variants(
    storage: RunningAzurite, http: aiohttp.ClientSession, table: Any, trimmed: Any
) -> tuple[dict[str, Call], str]:
    """The calls to compare, and the key of the row ``point read`` reads: ``table`` is a
    ``shared.tables.Table``, ``trimmed`` a ``TableClient`` with fewer policies; the batches go
    through the table's own SDK client."""
    from azure.data.tables import UpdateMode

    from shared.claims import claim, claim_key
    from shared.events import ConnectionContext

    bare_url = f"http://{storage.host}:{storage.port}/{ACCOUNT}/{TABLE}"
    fields = {"userId": "guest-bench", "name": "bench", "text": "hello", "time": "2026-01-01T00:00:00Z"}
    read_key = uuid.uuid4().hex

    def context() -> ConnectionContext:
        return ConnectionContext(
            hub="bench",
            connection_id="bench-connection",
            event_name="message",
            event_type="azure.webpubsub.user.message",
            event_id=uuid.uuid4().hex,
        )

    def rows() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        key = uuid.uuid4().hex
        return (
            {"PartitionKey": PARTITION, "RowKey": claim_key("bench-connection", key), **fields},
            {"PartitionKey": PARTITION, "RowKey": "m" + key, **fields},
            {"PartitionKey": PARTITION, "RowKey": "r" + key, **fields},
        )

    async def bare() -> None:
        async with http.post(bare_url, json={"RowKey": "x"}) as response:
            await response.read()

    async def claimed() -> None:
        assert (await claim(table, PARTITION, context(), fields)).first

    async def trimmed_insert() -> None:
        event, _, _ = rows()
        await trimmed.create_entity(event, response_preference="return-no-content")

    async def two_upserts() -> None:
        _, forward, backward = rows()
        await asyncio.gather(table.upsert(forward), table.upsert(backward))

    async def batch_rows() -> None:
        _, forward, backward = rows()
        mode = {"mode": UpdateMode.REPLACE}
        await table.client.submit_transaction([("upsert", forward, mode), ("upsert", backward, mode)])

    async def batch_all() -> None:
        await table.client.submit_transaction([("create", row) for row in rows()])

    async def point_read() -> None:
        assert await table.get(PARTITION, "m" + read_key) is not None

    return {
        "bare HTTP (403)": bare,
        "claim (baseline)": claimed,
        "insert, trimmed pipeline": trimmed_insert,
        "2 upserts": two_upserts,
        "batch of 2": batch_rows,
        "batch claim+2": batch_all,
        "point read": point_read,
    }, read_key


async def run(args: argparse.Namespace) -> None:
    from azure.core.pipeline.policies import (
        AsyncRedirectPolicy,
        CustomHookPolicy,
        DistributedTracingPolicy,
        HttpLoggingPolicy,
        NetworkTraceLoggingPolicy,
        ProxyPolicy,
    )
    from azure.data.tables.aio import TableClient

    from shared.closing import close_all
    from shared.tables import _transport, get_table

    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-table-") as tmp:
        storage = await start_azurite(HOST, 0, None if args.azurite == "memory" else Path(tmp))
        try:
            os.environ[STORAGE_SETTING] = storage.connection_string  # this process only
            table = get_table(STORAGE_SETTING, TABLE)
            assert table is not None
            default = TableClient.from_connection_string(storage.connection_string, table_name="x")
            unneeded = (
                ProxyPolicy,
                AsyncRedirectPolicy,
                CustomHookPolicy,
                NetworkTraceLoggingPolicy,
                DistributedTracingPolicy,
                HttpLoggingPolicy,
            )
            policies = [p for p in default._policies if not isinstance(p, unneeded)]  # noqa: SLF001
            await default.close()
            trimmed = TableClient.from_connection_string(
                storage.connection_string,
                table_name=TABLE,
                transport=_transport(),  # shared.tables' own transport: no proxy lookups per call
                policies=policies,
            )
            async with aiohttp.ClientSession() as http:
                calls, read_key = variants(storage, http, table, trimmed)
                await table.upsert({"PartitionKey": PARTITION, "RowKey": "m" + read_key, "text": "x"})
                samples = {name: Sample() for name in calls}
                for _ in range(args.rounds):
                    for name, call in calls.items():
                        await measure(call, args.calls, storage.process.pid, samples[name])
            await trimmed.close()
            await close_all()  # the pooled table client, as the dev host does on stop
        finally:
            await storage.stop()
    load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"one call at a time to Azurite ({args.azurite}), {args.rounds} rounds x {args.calls} calls "
        f"per variant; load average {load_before} before, {load_after} after"
    )
    print(f"{'variant':<26}{'p50 ms':>8}{'p90 ms':>8}{'x claim':>9}{'CPU here ms':>13}{'CPU Azurite ms':>16}")
    base = statistics.median(samples["claim (baseline)"].walls)
    for name, sample in samples.items():
        ordered = sorted(sample.walls)
        p50, p90 = statistics.median(ordered), ordered[int(0.9 * len(ordered))]
        count = len(ordered)
        print(
            f"{name:<26}{p50 * 1000:>8.2f}{p90 * 1000:>8.2f}{p50 / base:>8.2f}x"
            f"{sample.cpu / count * 1000:>13.2f}{sample.azurite_cpu / count * 1000:>16.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--azurite", choices=("disk", "memory"), default="disk")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
