"""``function_app`` at cold start: what importing an app loads and logs.

Checked on the repository's own ``function_app`` (whatever it registers: the chat, a fork's hubs,
or nothing yet) and on the template's test app (``tests/fixture_app``: a hub that uses
``shared.negotiate``, ``shared.tables`` and ``shared.claims``), each in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.routes import url_template

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_APP = ROOT / "tests" / "fixture_app"
# Imported on first use, never by importing an app: keyless mode, Entra, the first REST call,
# the first table read or write.
LAZY = ("azure.identity", "jwt", "azure.messaging.webpubsubservice", "aiohttp", "azure.data.tables")


def _import_app(
    app_dir: Path, code: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=app_dir, capture_output=True, text=True, check=True, env=environment
    )


def test_the_route_prefix_in_host_json_gives_the_documented_url_template() -> None:
    prefix = json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"]
    assert url_template("hub", prefix) == "/api/hub/{event}"


@pytest.mark.parametrize("app_dir", [ROOT, FIXTURE_APP], ids=["function_app", "fixture_app"])
def test_importing_an_app_loads_no_identity_jwt_service_or_table_sdk(app_dir: Path) -> None:
    code = f"import sys, function_app; print(sorted(m for m in {LAZY!r} if m in sys.modules))"
    assert _import_app(app_dir, code).stdout.strip() == "[]"


def test_importing_an_app_logs_configuration_problems_without_loading_heavy_modules() -> None:
    """At load, not at the first request; Entra configured, yet PyJWT is still not imported."""
    code = (
        "import logging, sys; logging.basicConfig(); import function_app; "
        f"print(sorted(m for m in {LAZY!r} if m in sys.modules))"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "WebPubSubConnectionString": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/wps)",
        "WebPubSubEntraAudience": "api://wps",
    }
    out = _import_app(FIXTURE_APP, code, env)
    assert out.stdout.strip() == "[]"
    assert (
        "Web PubSub hub relay: WebPubSubConnectionString is an unresolved Key Vault reference" in out.stderr
    )
    assert "WebPubSubEntraTenantId is not" in out.stderr
    assert "every event will be refused" in out.stderr
