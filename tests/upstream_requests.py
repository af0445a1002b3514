"""Build upstream requests the way the service does, for tests and benchmarks.

Signatures are computed here with ``hmac`` directly (protocol reference 3.1), not with
``shared.verify``, so a mistake in the code under test cannot cancel itself out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import azure.functions as func

PRIMARY_KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"
SECONDARY_KEY = "secondary-key-0123456789abcdefghijklmnopqrstuv"
OTHER_KEY = "not-our-key-0123456789abcdefghijklmnopqrstuvwxyz"
ENDPOINT_HOST = "wps-test.webpubsub.azure.com"
CONNECTION_STRING = f"Endpoint=https://{ENDPOINT_HOST};AccessKey={PRIMARY_KEY};Version=1.0;"
HUB = "demo"  # the hub of the requests built here (any name: the template knows no hub)

SYSTEM_TYPES = {
    "connect": "azure.webpubsub.sys.connect",
    "connected": "azure.webpubsub.sys.connected",
    "disconnected": "azure.webpubsub.sys.disconnected",
    "joined": "azure.webpubsub.gp.joined",
    "left": "azure.webpubsub.gp.left",
}


def signature(connection_id: str, *keys: str) -> str:
    return ",".join(
        "sha256=" + hmac.new(key.encode(), connection_id.encode(), hashlib.sha256).hexdigest() for key in keys
    )


def event_headers(
    event: str,
    *,
    connection_id: str = "conn-1",
    hub: str = HUB,
    user_id: str | None = "alice",
    keys: tuple[str, ...] = (PRIMARY_KEY, SECONDARY_KEY),
    origin: str = ENDPOINT_HOST,
    content_type: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    event_type = SYSTEM_TYPES.get(event, f"azure.webpubsub.user.{event}")
    headers = {
        "ce-specversion": "1.0",
        "ce-awpsversion": "1.0",
        "ce-type": event_type,
        "ce-source": f"/hubs/{hub}/client/{connection_id}",
        "ce-id": "1",
        "ce-time": "2026-11-22T00:00:00Z",
        "ce-hub": hub,
        "ce-connectionId": connection_id,
        "ce-eventName": event,
        "WebHook-Request-Origin": origin,
        "Content-Type": content_type or "application/json; charset=utf-8",
    }
    if keys:
        headers["ce-signature"] = signature(connection_id, *keys)
    if user_id is not None:
        headers["ce-userId"] = user_id
    headers.update(extra or {})
    return headers


def connect_body(**overrides: Any) -> bytes:
    body: dict[str, Any] = {
        "claims": {"sub": ["alice"]},
        "query": {"room": ["lobby"]},
        "headers": {"User-Agent": ["test"]},
        "subprotocols": ["json.webpubsub.azure.v1"],
        "clientCertificates": [],
    }
    body.update(overrides)
    return json.dumps(body).encode()


def http_request(
    event: str,
    body: bytes = b"{}",
    *,
    method: str = "POST",
    route: str | None = None,
    hub: str = HUB,
    **header_options: Any,
) -> func.HttpRequest:
    """A real ``func.HttpRequest`` as the Functions host would build it (route ``<hub>/<event>``)."""
    import azure.functions as func

    headers = event_headers(event, hub=hub, **header_options)
    return func.HttpRequest(
        method=method,
        url=f"https://app.example/api/{route or f'{hub}/{event}'}",
        headers=headers,
        params={},
        route_params={},
        body=body,
    )


def validate_request(
    origin: str | None = ENDPOINT_HOST, method: str = "OPTIONS", hub: str = HUB
) -> func.HttpRequest:
    import azure.functions as func

    headers = {"ce-awpsversion": "1.0"}
    if origin is not None:
        headers["WebHook-Request-Origin"] = origin
    return func.HttpRequest(
        method=method, url=f"https://app.example/api/{hub}/validate", headers=headers, params={}, body=b""
    )
