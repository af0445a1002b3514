"""Cold start: ``import function_app`` vs importing its third-party dependencies alone.

1. A fresh interpreter imports ``function_app`` and reports which third-party modules
   that loaded (everything in ``sys.modules`` outside the standard library and this repo's
   own packages, the sample's or a fork's included).
2. Fresh interpreters then alternately time ``import function_app`` and an import of
   exactly that list of third-party modules. The difference is what our own code costs.

Prints the medians and the ratio (target <= 1.15x). Run: ``python -m bench.coldstart``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This repository's own code: function_app and every package beside it (shared/, the chat sample
# or a fork's own package, devhost/, ...), whatever the project holds.
OWN_PACKAGES = {"function_app"} | {path.parent.name for path in ROOT.glob("*/__init__.py")}

_LIST_DEPENDENCIES = """
import sys, json
before = set(sys.modules)
import function_app
own = {own!r}
std = sys.stdlib_module_names
loaded = [m for m in sys.modules if m not in before]
third_party = [m for m in loaded if m.split('.')[0] not in std and m.split('.')[0] not in own
               and not m.startswith('_')]
print(json.dumps(third_party))
"""

_TIME_IMPORT = """
import time
start = time.perf_counter()
{statement}
print(time.perf_counter() - start)
"""


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def third_party_modules() -> list[str]:
    return json.loads(_run(_LIST_DEPENDENCIES.format(own=OWN_PACKAGES)))


def time_import(statement: str) -> float:
    return float(_run(_TIME_IMPORT.format(statement=statement)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    modules = third_party_modules()
    deps_statement = "\n".join(f"import {m}" for m in modules)
    app_times, dep_times = [], []
    time_import("import function_app")  # warm the file-system cache and .pyc files
    for _ in range(args.rounds):
        app_times.append(time_import("import function_app"))
        dep_times.append(time_import(deps_statement))
    app_ms = statistics.median(app_times) * 1000
    deps_ms = statistics.median(dep_times) * 1000
    roots = sorted(
        {m.split(".")[0] if not m.startswith("azure.") else ".".join(m.split(".")[:2]) for m in modules}
    )
    print(f"third-party modules loaded by function_app: {len(modules)} ({', '.join(roots)})")
    print(f"{'import':<28}{'median ms':>10}")
    print(f"{'dependencies alone':<28}{deps_ms:>10.1f}")
    print(f"{'function_app':<28}{app_ms:>10.1f}")
    print(f"ratio {app_ms / deps_ms:.2f}x (target <= 1.15x); our own code: {app_ms - deps_ms:.1f} ms")


if __name__ == "__main__":
    main()
