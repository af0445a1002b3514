"""Cold start: ``import function_app`` vs importing its third-party dependencies alone, then
the first request.

1. A fresh interpreter imports ``function_app`` and reports which third-party modules that
   loaded (everything in ``sys.modules`` outside the standard library and this repo's own
   packages, the sample's or a fork's included).
2. Fresh interpreters then alternately time

   * ``import function_app``;
   * an import of exactly that list of third-party modules (the difference is what our
     own code costs);
   * our own code alone: the list imported first (not timed), then ``import function_app``
     (what ``python -X importtime`` sums for ``function_app``, ``shared`` and ``chat``,
     without its overhead);

   and, once per round, our own code again with its bytecode cache out of reach, so its
   modules are compiled from source as they are when a deployment has no ``__pycache__``
   and cannot write one.
3. Cold start in Azure is the import *and* the first request: for each event kind, fresh
   interpreters import ``function_app``, build the hub of ``bench/handler.py`` (not timed)
   and time its first request, then a second one (a warm request, for comparison).

Every interpreter reads bytecode from one cache directory the bench owns
(``PYTHONPYCACHEPREFIX``), written by a warm-up: dependencies and our own modules are loaded
the same way whatever the checkout's ``__pycache__`` or ``PYTHONDONTWRITEBYTECODE`` say.
(That variable in the environment once made our modules compile on every run while the
dependencies loaded the bytecode pip wrote: up to 30 ms of difference.)

Prints medians and the ratio (target <= 1.15x, goal <= 1.10x). Run: ``python -m bench.coldstart``
(``--rounds``, ``--first-rounds``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This repository's own code: function_app and every package beside it (shared/, the chat sample
# or a fork's own package, devhost/, ...), whatever the project holds.
OWN_PACKAGES = {"function_app"} | {path.parent.name for path in ROOT.glob("*/__init__.py")}
TARGET, GOAL = 1.15, 1.10

_LIST_DEPENDENCIES = """
import sys, json
before = set(sys.modules)
import function_app
own = {own!r}
std = sys.stdlib_module_names
loaded = [m for m in sys.modules if m not in before]
not_own = [m for m in loaded if m.split('.')[0] not in own]
third_party = [m for m in not_own if m.split('.')[0] not in std and not m.startswith('_')]
print(json.dumps({{"third_party": third_party, "not_own": not_own}}))
"""

# Writes the bytecode of the modules that are not ours (some in sys.modules cannot be imported
# by name, e.g. typing.io: skipped).
_WARM_CACHE = """
import importlib
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except Exception:
        pass
"""

_TIME_IMPORT = """
import time
{setup}
start = time.perf_counter()
{statement}
print(time.perf_counter() - start)
"""

# The first request to a hub like bench/handler.py's, after ``import function_app``.
_FIRST_REQUEST = """
import time
import function_app
from bench.handler import build_ours
from tests.upstream_requests import connect_body, http_request, validate_request
function = build_ours()[{name!r}]
first, second = {requests}
start = time.perf_counter()
function(first)
middle = time.perf_counter()
function(second)
print(middle - start, time.perf_counter() - middle)
"""

# (label, our function, the two requests: a connection's first and a later event)
FIRST_REQUESTS: tuple[tuple[str, str, str], ...] = (
    ("OPTIONS validate", "chat_validate", "validate_request(), validate_request()"),
    (
        "connect",
        "chat_connect",
        "[http_request('connect', connect_body(), connection_id=f'c{n}') for n in (1, 2)]",
    ),
    ("connected", "chat_connected", "http_request('connected'), http_request('connected')"),
    (
        "text message",
        "chat_message",
        "[http_request('message', b'hello world', content_type='text/plain') for _ in '12']",
    ),
    (
        "JSON custom event",
        "chat_chat",
        "[http_request('chat', b'{\"text\":\"hi\",\"n\":1}', content_type='application/json') for _ in '12']",
    ),
    (
        "disconnected",
        "chat_disconnected",
        "[http_request('disconnected', b'{\"reason\":null}') for _ in '12']",
    ),
)


def _run(code: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    )
    return out.stdout.strip()


def loaded_modules(env: dict[str, str]) -> tuple[list[str], list[str]]:
    """(third-party modules, every module that is not ours) that ``import function_app`` loads."""
    found = json.loads(_run(_LIST_DEPENDENCIES.format(own=OWN_PACKAGES), env))
    return found["third_party"], found["not_own"]


def time_import(statement: str, env: dict[str, str], setup: str = "") -> float:
    return float(_run(_TIME_IMPORT.format(setup=setup, statement=statement), env))


def first_request(name: str, requests: str, env: dict[str, str]) -> tuple[float, float]:
    first, second = _run(_FIRST_REQUEST.format(name=name, requests=requests), env).split()
    return float(first), float(second)


def _environments(cache: str) -> tuple[dict[str, str], dict[str, str]]:
    """(every module from the bench's bytecode cache, our own modules compiled from source)."""
    ignored = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    base = {k: v for k, v in os.environ.items() if k not in ignored}
    cached = {**base, "PYTHONPYCACHEPREFIX": str(Path(cache, "all"))}
    # A second cache holding the dependencies' bytecode only, and nothing written to it.
    from_source = {**base, "PYTHONPYCACHEPREFIX": str(Path(cache, "deps")), "PYTHONDONTWRITEBYTECODE": "1"}
    return cached, from_source


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="alternating import rounds")
    parser.add_argument("--first-rounds", type=int, default=5, help="fresh interpreters per event kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coldstart-pycache-") as cache:
        cached, from_source = _environments(cache)
        modules, not_own = loaded_modules(cached)
        deps_statement = "\n".join(f"import {m}" for m in modules)
        # Warm-up: the file-system cache, and the bytecode of everything (of everything but
        # our own modules) into the first (the second) cache; each first request once.
        time_import("import function_app", cached)
        _run(_WARM_CACHE.format(modules=not_own), {**from_source, "PYTHONDONTWRITEBYTECODE": ""})
        for _, name, requests in FIRST_REQUESTS:
            first_request(name, requests, cached)
        app_times, dep_times, own_times, source_times = [], [], [], []
        for _ in range(args.rounds):
            app_times.append(time_import("import function_app", cached))
            dep_times.append(time_import(deps_statement, cached))
            own_times.append(time_import("import function_app", cached, setup=deps_statement))
            source_times.append(time_import("import function_app", from_source, setup=deps_statement))
        firsts = {}
        for label, name, requests in FIRST_REQUESTS:
            firsts[label] = [first_request(name, requests, cached) for _ in range(args.first_rounds)]
    app_ms, deps_ms = _ms(app_times), _ms(dep_times)
    roots = sorted(
        {m.split(".")[0] if not m.startswith("azure.") else ".".join(m.split(".")[:2]) for m in modules}
    )
    print(f"third-party modules loaded by function_app: {len(modules)} ({', '.join(roots)})")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'import (median of ' + str(args.rounds) + ')':<44}{'ms':>8}")
    print(f"{'dependencies alone':<44}{deps_ms:>8.1f}")
    print(f"{'function_app':<44}{app_ms:>8.1f}")
    print(f"{'our own code alone (dependencies preloaded)':<44}{_ms(own_times):>8.1f}")
    print(f"{'  the same, our modules compiled from source':<44}{_ms(source_times):>8.1f}")
    ratio = app_ms / deps_ms
    verdict = "meets the goal" if ratio <= GOAL else "meets the target" if ratio <= TARGET else "misses"
    print(
        f"ratio {ratio:.2f}x (target <= {TARGET:.2f}x, goal <= {GOAL:.2f}x: {verdict}); "
        f"our own code: {app_ms - deps_ms:.1f} ms by difference, {_ms(own_times):.1f} ms alone"
    )
    print(f"\nfirst request after import (median of {args.first_rounds} fresh interpreters)")
    print(f"{'event':<20}{'first ms':>10}{'second ms':>11}{'import + first vs deps':>25}")
    for label, samples in firsts.items():
        first = _ms([f for f, _ in samples])
        second = _ms([s for _, s in samples])
        print(f"{label:<20}{first:>10.2f}{second:>11.3f}{(app_ms + first) / deps_ms:>24.2f}x")


if __name__ == "__main__":
    main()
