"""Benchmark: what each way of writing a chat message to Azurite costs, one call at a time.

    python -m bench.table_ops [--calls 300] [--rounds 3] [--azurite disk|memory]

The chat waits for one storage write before each broadcast (``HistoryStore.claim``) and does
two more after it (``HistoryStore.save``). This measures, against one Azurite started here,
the alternatives a faster design could use, each as wall time per call (p50/p90) and as CPU
per call of this process (the SDK's Python, aiohttp, the kernel) and of Azurite:

* ``bare HTTP``: an unsigned aiohttp request that Azurite refuses (403) at once: the floor
  of any round trip to it from Python, with no SDK and no storage work;
* ``claim``: ``HistoryStore.claim``, the handler's own code (one insert): the **baseline**;
* ``insert, trimmed pipeline``: the same insert through a ``TableClient`` without the
  policies a local client does not need (proxy, redirect, custom hook, network trace,
  tracing, HTTP logging), passed with the SDK's ``policies=`` option;
* ``save``: ``HistoryStore.save``, the two history rows as two upserts side by side;
* ``batch m+r``: the same two rows as one entity-group transaction;
* ``batch claim+m+r``: the event row and both history rows as one transaction (creates):
  everything in one round trip, before the broadcast.

Rounds run the variants in turn (A B C ... A B C ...), so drift of the shared machine hits
them alike; ratios are against ``claim``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
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
ROOM = "bench"
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
        await asyncio.sleep(0.002)  # one message at a time, as at a modest chat rate
    sample.azurite_cpu += _process_cpu(azurite_pid) - azurite_before


def variants(
    storage: RunningAzurite, http: aiohttp.ClientSession, store: Any, trimmed: Any
) -> dict[str, Call]:
    """The calls to compare: ``store`` is the chat's ``HistoryStore``, ``trimmed`` a
    ``TableClient`` with fewer policies; the batches go through the store's own client."""
    from azure.data.tables import UpdateMode

    # This process only uses the history store: the hub's "no access key" error is not for it.
    logging.getLogger("webpubsub").setLevel(logging.CRITICAL)
    from chat import history
    from chat.ids import new_message_id, reverse_key

    table = store._table  # noqa: SLF001 - a benchmark looks inside on purpose
    bare_url = f"http://{storage.host}:{storage.port}/{ACCOUNT}/{ROOM}"

    def message() -> history.StoredMessage:
        return history.StoredMessage(new_message_id(), "guest-bench", "bench", ROOM, "hello", "")

    def rows(m: history.StoredMessage) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        fields = {"id": m.id, "userId": m.user_id, "name": m.name, "text": m.text, "time": m.time}
        return (
            {"PartitionKey": ROOM, "RowKey": history.event_key("bench", uuid.uuid4().hex), **fields},
            {"PartitionKey": ROOM, "RowKey": history.MESSAGE + m.id, **fields},
            {"PartitionKey": ROOM, "RowKey": history.REVERSED + reverse_key(m.id), **fields},
        )

    async def bare() -> None:
        async with http.post(bare_url, json={"RowKey": "x"}) as response:
            await response.read()

    async def claim() -> None:
        assert await store.claim(message(), history.event_key("bench", uuid.uuid4().hex)) is None

    async def trimmed_insert() -> None:
        event, _, _ = rows(message())
        await trimmed.create_entity(event, response_preference="return-no-content")

    async def save() -> None:
        await store.save(message())

    async def batch_rows() -> None:
        _, forward, backward = rows(message())
        mode = {"mode": UpdateMode.REPLACE}
        await table.submit_transaction([("upsert", forward, mode), ("upsert", backward, mode)])

    async def batch_all() -> None:
        await table.submit_transaction([("create", row) for row in rows(message())])

    return {
        "bare HTTP (403)": bare,
        "claim (baseline)": claim,
        "insert, trimmed pipeline": trimmed_insert,
        "save (2 upserts)": save,
        "batch m+r": batch_rows,
        "batch claim+m+r": batch_all,
    }


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

    # This process only uses the history store: the hub's "no access key" error is not for it.
    logging.getLogger("webpubsub").setLevel(logging.CRITICAL)
    from chat import history

    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-table-") as tmp:
        storage = await start_azurite(HOST, 0, None if args.azurite == "memory" else Path(tmp))
        try:
            os.environ["ChatStorage"] = storage.connection_string  # this process only
            store = history.get_store()
            assert store is not None
            await store.page(ROOM, before=None, after=None, limit=1)  # creates the table
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
                table_name=store._table.table_name,  # noqa: SLF001
                transport=history._transport(),  # noqa: SLF001
                policies=policies,
            )
            async with aiohttp.ClientSession() as http:
                calls = variants(storage, http, store, trimmed)
                samples = {name: Sample() for name in calls}
                for _ in range(args.rounds):
                    for name, call in calls.items():
                        await measure(call, args.calls, storage.process.pid, samples[name])
            await trimmed.close()
            await history.close_stores()
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
