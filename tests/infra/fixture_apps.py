"""Backends other than the sample, for the declaration checks (backend_checks.py): a second hub
written against ``shared.WebPubSubHub``, served beside the chat or without it, and the
declaration entry that matches it."""

from __future__ import annotations

from typing import Any

import azure.functions as func

from shared import ConnectedEvent, ConnectEvent, ConnectResponse, EventResponse, UserEvent, WebPubSubHub

POLL_HUB = "poll"
# A key, so the hub does not log that it would refuse every event (nothing is sent here).
_ENV = {"WebPubSubAccessKeys": "fixture-key"}


def poll_blueprint() -> func.Blueprint:
    """A hub ``poll``: blocking connect, connected, and one user event ``vote``; no disconnected."""
    hub = WebPubSubHub(POLL_HUB, env=_ENV)

    @hub.on_connect
    def connect(event: ConnectEvent) -> ConnectResponse:
        return ConnectResponse(user_id=event.context.user_id)

    @hub.on_connected
    async def connected(event: ConnectedEvent) -> None:
        return None

    @hub.on_event("vote")
    async def vote(event: UserEvent) -> EventResponse:
        return EventResponse(data="counted")

    return hub.blueprint


def poll_declaration() -> dict[str, Any]:
    """The ``backend.hubs`` entry a fork adds for :func:`poll_blueprint`."""
    return {"name": POLL_HUB, "systemEvents": ["connect", "connected"], "userEventPattern": "vote"}


def app_with(*blueprints: func.Blueprint) -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for blueprint in blueprints:
        app.register_functions(blueprint)
    return app


# function_app.py of a fork that deleted the chat and kept only the poll hub.
FORK_FUNCTION_APP = '''"""A fork without the chat sample: one hub of its own."""
from tests.infra.fixture_apps import app_with, poll_blueprint

app = app_with(poll_blueprint())
'''
