"""The template's upstream request builders (``tests/upstream_requests.py``) for the chat's hub."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests import upstream_requests as template
from tests.upstream_requests import (
    CONNECTION_STRING,
    ENDPOINT_HOST,
    OTHER_KEY,
    PRIMARY_KEY,
    SECONDARY_KEY,
    connect_body,
    signature,
)

if TYPE_CHECKING:
    import azure.functions as func

__all__ = [
    "CONNECTION_STRING",
    "ENDPOINT_HOST",
    "HUB",
    "OTHER_KEY",
    "PRIMARY_KEY",
    "SECONDARY_KEY",
    "connect_body",
    "event_headers",
    "http_request",
    "signature",
    "validate_request",
]

HUB = "chat"


def event_headers(event: str, **options: Any) -> dict[str, str]:
    return template.event_headers(event, **{"hub": HUB, **options})


def http_request(event: str, body: bytes = b"{}", **options: Any) -> func.HttpRequest:
    return template.http_request(event, body, **{"hub": HUB, **options})


def validate_request(origin: str | None = ENDPOINT_HOST, method: str = "OPTIONS") -> func.HttpRequest:
    return template.validate_request(origin, method, hub=HUB)
