"""A small app built on ``WebPubSubHub`` for the adapter tests: sync and async handlers,
one that raises, one that returns a wrong type."""

from __future__ import annotations

import azure.functions as func

from shared import (
    ConnectedEvent,
    ConnectErrorResponse,
    ConnectEvent,
    ConnectResponse,
    DisconnectedEvent,
    EventResponse,
    GroupJoinedEvent,
    UserEvent,
    WebPubSubHub,
)
from tests.upstream_requests import HUB

calls: list[str] = []


def build(env: dict[str, str]) -> func.FunctionApp:
    calls.clear()
    hub = WebPubSubHub(HUB, env=env)

    @hub.on_connect
    def connect(event: ConnectEvent) -> ConnectResponse | ConnectErrorResponse:
        calls.append(f"connect:{event.context.user_id}")
        if event.claim("role") == "banned":
            return ConnectErrorResponse(status=403, detail="banned")
        return ConnectResponse(user_id=event.context.user_id, groups=["lobby"], state={"room": "lobby"})

    @hub.on_connected
    async def connected(event: ConnectedEvent) -> None:
        calls.append(f"connected:{event.context.state.get('room')}")

    @hub.on_disconnected
    async def disconnected(event: DisconnectedEvent) -> None:
        calls.append(f"disconnected:{event.context.connection_id}")

    @hub.on_event("message")
    async def message(event: UserEvent) -> EventResponse:
        calls.append(f"message:{event.data!r}")
        return EventResponse(data=f"echo:{event.data}", state={**event.context.state, "count": 1})

    @hub.on_event("boom")
    def boom(event: UserEvent) -> None:
        raise RuntimeError(f"handler bug with secret {event.data!r}")

    @hub.on_event("wrong")
    async def wrong(event: UserEvent) -> str:
        return "not a response"

    @hub.on_group_joined
    def joined(event: GroupJoinedEvent) -> None:
        calls.append(f"joined:{event.group}")

    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(hub.blueprint)
    return app
