"""``python -m bench [--quick]``: every benchmark in ``bench/``, one table after another.

Prints the machine facts first (CPU model, cores, Python, node, date), then for each
benchmark a header line and its own output. Each runs in a fresh interpreter
(``python -m bench.<name>``) so none inherits another's imports, caches or threads.
``--quick`` passes smaller sizes (about two minutes in all, for a smoke check); the default
takes a few minutes on a 2-core machine. A missing or failing benchmark is reported and the
rest still run; the exit code is 1 if any failed. The chat sample's benchmarks (``chat``,
``instance``) are skipped, with the reason, in a project without ``chat/`` (a fork).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = "chat"  # the package the sample's benchmarks measure
# (module, what it measures, full arguments, --quick arguments), in the order they are shown.
BENCHMARKS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "handler",
        "per-event cost through the Functions adapter vs a minimal handler",
        (),
        ("--events", "3000"),
    ),
    ("coldstart", "import function_app vs its third-party dependencies", (), ("--rounds", "5")),
    (
        "emulator",
        "emulator fan-out and chat round trip vs a minimal aiohttp server",
        (),
        ("--clients", "200", "--messages", "20", "--rounds", "1", "--seconds", "3"),
    ),
    ("http_compare", "our app on the dev host vs @azure/web-pubsub-express over HTTP", (), ("--quick",)),
    (
        "instance",
        "chat events per Flex instance and cost per million messages, by concurrency and REST latency",
        (),
        ("--quick",),
    ),
    (
        "chat",
        "chat message end to end (send -> every member) with vs without history writes",
        (),
        ("--seconds", "3", "--rounds", "2"),
    ),
    (
        "chat_rooms",
        "chat message p50 in a private vs a public room (access control), open, concurrent reactions",
        (),
        ("--messages", "40", "--opens", "8", "--reactors", "10"),
    ),
    (
        "table_ops",
        "one storage call to Azurite through shared.tables/claims, and the alternatives (upserts, batches)",
        (),
        ("--calls", "100", "--rounds", "2"),
    ),
)
TIMEOUT = 600.0  # per benchmark
# Benchmarks of the chat sample rather than of the template.
SAMPLE_BENCHMARKS = frozenset({"chat", "instance"})


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "not installed"
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def machine_facts() -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"machine: {cpu_model()}, {os.cpu_count()} cores ({affinity} usable), "
        f"{platform.system()} {platform.release()}\n"
        f"python {platform.python_version()} ({sys.executable}), node {node_version()}, {now}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a two-minute smoke run")
    parser.add_argument("only", nargs="*", help="run only these benchmarks (e.g. handler http_compare)")
    args = parser.parse_args(argv)
    print(machine_facts(), flush=True)
    failed = []
    started = time.monotonic()
    for name, what, full, quick in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        print(f"\n== bench/{name}.py: {what}{' (quick)' if args.quick else ''} ==", flush=True)
        if not (ROOT / "bench" / f"{name}.py").exists():
            print("(not present, skipped)")
            continue
        if name in SAMPLE_BENCHMARKS and not (ROOT / SAMPLE / "__init__.py").exists():
            print(f"(skipped: it measures the chat sample, and this project has no {SAMPLE}/ package)")
            continue
        begin = time.monotonic()
        command = [sys.executable, "-m", f"bench.{name}", *(quick if args.quick else full)]
        try:
            result = subprocess.run(command, cwd=ROOT, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            print(f"(timed out after {TIMEOUT:.0f} s)")
            failed.append(name)
            continue
        if result.returncode != 0:
            print(f"(exited with {result.returncode})")
            failed.append(name)
        print(f"({time.monotonic() - begin:.0f} s)", flush=True)
    print(
        f"\ntotal {time.monotonic() - started:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
