from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable

import azure.functions as func
import pytest

import function_app
from shared.service import close_service_clients
from tests.app_index import get_functions
from tests.chat.recorder import RestRecorder
from tests.upstream_requests import ENDPOINT_HOST, PRIMARY_KEY

Invoke = Callable[[str, func.HttpRequest], Awaitable[func.HttpResponse]]
FUNCTIONS = {f.get_function_name(): f.get_user_function() for f in get_functions(function_app.app)}


@pytest.fixture
async def recorder(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RestRecorder]:
    """The REST endpoint the chat's service client talks to; the app is configured for it."""
    rest = RestRecorder(PRIMARY_KEY)
    await rest.start()
    monkeypatch.setenv(
        "WebPubSubConnectionString", f"Endpoint={rest.endpoint};AccessKey={PRIMARY_KEY};Version=1.0;"
    )
    # Upstream requests in these tests come from the "real" resource host, not the recorder.
    monkeypatch.setenv("WebPubSubAllowedOrigins", ENDPOINT_HOST)
    monkeypatch.setenv("ChatAllowGuests", "true")
    for name in (
        "ChatStorage",
        "ChatStorage__tableServiceUri",
        "ChatRateLimitMessages",
        "ChatRateLimitSeconds",
        "ChatTokenMinutes",
        "WebPubSubAccessKeys",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ChatRooms", raising=False)
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    from chat import hub

    hub.configure()
    yield rest
    await close_service_clients()
    await rest.stop()
    hub.configure()


@pytest.fixture
def invoke() -> Invoke:
    async def call(name: str, request: func.HttpRequest) -> func.HttpResponse:
        result = FUNCTIONS[name](request)
        return await result if inspect.isawaitable(result) else result

    return call
