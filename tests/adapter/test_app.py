"""``function_app``: what ``func start`` (and the Functions host in Azure) will index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import azure.functions as func

import function_app
from shared.routes import url_template
from tests.app_index import get_functions

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_lists_the_chat_functions_with_routes_methods_and_auth_levels() -> None:
    listed = {
        f.get_function_name(): (
            f.get_trigger().route,
            sorted(str(m.value) for m in f.get_trigger().methods),
            f.get_trigger().auth_level,
        )
        for f in get_functions(function_app.app)
    }
    anonymous = func.AuthLevel.ANONYMOUS
    assert listed == {
        "chat_validate": ("chat/validate", ["GET", "OPTIONS"], anonymous),
        "chat_connect": ("chat/connect", ["POST"], anonymous),
        "chat_connected": ("chat/connected", ["POST"], anonymous),
        "chat_disconnected": ("chat/disconnected", ["POST"], anonymous),
        "chat_message": ("chat/message", ["POST"], anonymous),
        "chat_chat": ("chat/chat", ["POST"], anonymous),
        "chat_history": ("chat/history", ["POST"], anonymous),
        "chat_members": ("chat/members", ["POST"], anonymous),
        "chat_typing": ("chat/typing", ["POST"], anonymous),
        "chat_rooms": ("chat/rooms", ["POST"], anonymous),
        "chat_open": ("chat/open", ["POST"], anonymous),
        "chat_create": ("chat/create", ["POST"], anonymous),
        "chat_dm": ("chat/dm", ["POST"], anonymous),
        "chat_invite": ("chat/invite", ["POST"], anonymous),
        "chat_remove": ("chat/remove", ["POST"], anonymous),
        "chat_role": ("chat/role", ["POST"], anonymous),
        "chat_edit": ("chat/edit", ["POST"], anonymous),
        "chat_delete": ("chat/delete", ["POST"], anonymous),
        "chat_react": ("chat/react", ["POST"], anonymous),
        "chat_read": ("chat/read", ["POST"], anonymous),
        "negotiate": ("negotiate", ["GET"], anonymous),
        "index": ("index", ["GET"], anonymous),
        "static": ("static/{name}", ["GET"], anonymous),
        "home": ("{*path}", ["GET"], anonymous),
    }


def test_hub_url_template_matches_host_json_route_prefix() -> None:
    prefix = json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"]
    assert url_template("chat", prefix) == "/api/chat/{event}"


def test_importing_the_app_loads_no_identity_jwt_or_service_sdk() -> None:
    """Cold start: those are imported on first use (keyless mode, Entra, first REST call,
    first history read or write)."""
    lazy = ("azure.identity", "jwt", "azure.messaging.webpubsubservice", "aiohttp", "azure.data.tables")
    code = f"import sys, function_app; print(sorted(m for m in {lazy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_the_app_logs_configuration_problems_without_loading_heavy_modules() -> None:
    """At load, not at the first request; Entra configured, yet PyJWT is still not imported."""
    code = (
        "import logging, sys; logging.basicConfig(); import function_app; "
        "print(sorted(m for m in ('azure.identity', 'jwt', 'azure.messaging.webpubsubservice', 'aiohttp') "
        "if m in sys.modules))"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "WebPubSubConnectionString": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/wps)",
        "WebPubSubEntraAudience": "api://wps",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"
    assert "WebPubSubConnectionString is an unresolved Key Vault reference" in out.stderr
    assert "WebPubSubEntraTenantId is not" in out.stderr
    assert "every event will be refused" in out.stderr
