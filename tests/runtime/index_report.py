"""Index a function app and print what the host would learn from it, as one JSON object.

    <python> tests/runtime/index_report.py worker  APP_DIR   # the genuine Python worker's code
    <python> tests/runtime/index_report.py devhost APP_DIR   # this repo's dev host

``worker`` runs ``azure-functions-runtime`` (Python >= 3.13, its own venv, see
``scripts/functions-runtime-venv``): ``index_function_app`` imports the app and lists its
functions, and the worker's ``Registry.add_indexed_function`` applies its index-time checks
(signature vs bindings), which is what makes Azure refuse an app before any request. The gRPC
layer is not involved: the only proto names those checks read are three enum values, given here.

Output: ``{"functions": [{name, route, methods, authLevel}, ...]}`` sorted by name, or
``{"error": "<message>"}`` when the app is refused.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# BindingInfo.Direction.out / inout and BindingInfo.DataType.undefined in the worker's proto.
WORKER_PROTOS = SimpleNamespace(BindingInfo=SimpleNamespace(out=1, inout=2, undefined=0))
REPO = Path(__file__).resolve().parents[2]


def worker_report(app_dir: Path) -> dict[str, Any]:
    from azure_functions_runtime.bindings.meta import load_binding_registry
    from azure_functions_runtime.functions import Registry
    from azure_functions_runtime.loader import index_function_app

    load_binding_registry()  # the worker does this at init, before indexing
    registry = Registry()
    try:
        functions = index_function_app(str(app_dir / "function_app.py"))
        for function in functions:
            registry.add_indexed_function(function, protos=WORKER_PROTOS)
    except Exception as exc:  # noqa: BLE001 - the report carries whatever the worker raised
        return {"error": str(exc)}
    described = []
    for function in functions:
        trigger = next(json.loads(raw) for raw in function.get_raw_bindings() if '"httpTrigger"' in raw)
        described.append(
            {
                "name": function.get_function_name(),
                "route": trigger.get("route") or function.get_function_name(),
                "methods": sorted(m.upper() for m in trigger.get("methods") or []) or None,
                "authLevel": str(trigger.get("authLevel", "function")).lower(),
            }
        )
    return {"functions": sorted(described, key=lambda f: f["name"])}


def devhost_report(app_dir: Path) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from devhost.functions.discovery import (
        DiscoveryError,
        discover_functions,
        find_function_register,
        import_app_module,
    )

    try:
        http_functions, others = discover_functions(find_function_register(import_app_module(app_dir)))
    except DiscoveryError as exc:
        return {"error": str(exc)}
    assert not others, "the fixture apps have HTTP triggers only"
    described = [
        {
            "name": function.name,
            "route": function.route,
            "methods": sorted(function.methods) if function.methods is not None else None,
            "authLevel": function.auth_level.lower(),
        }
        for function in http_functions
    ]
    return {"functions": sorted(described, key=lambda f: f["name"])}


def main(argv: list[str]) -> int:
    kind, app_dir = argv[1], Path(argv[2]).resolve()
    os.chdir(app_dir)
    sys.path.insert(0, str(app_dir))
    report = worker_report(app_dir) if kind == "worker" else devhost_report(app_dir)
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
