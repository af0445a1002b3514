"""Small pieces every chat event handler uses: stores, clock, rate limits, error replies."""

from __future__ import annotations

import time
from typing import Any

from shared import ConnectionContext, EventResponse

from . import history, limits
from .messages import error_reply
from .store import RoomStore


def now_ms() -> int:
    return int(time.time() * 1000)


def error(reason: str, state: dict[str, Any] | None = None) -> EventResponse:
    """A refusal: ``{"kind":"error","reason"}`` to the caller (the event itself succeeded)."""
    return EventResponse(data=error_reply(reason), state=state)


def stores() -> tuple[history.HistoryStore | None, RoomStore | None]:
    """The history and room stores (the same table), or ``(None, None)`` without storage."""
    store = history.get_store()
    return (store, RoomStore(store.table)) if store is not None else (None, None)


def name_of(context: ConnectionContext) -> str:
    name = context.state.get("name")
    return name if isinstance(name, str) and name else (context.user_id or "")


def take(context: ConnectionContext, event: str) -> tuple[dict[str, Any] | None, EventResponse | None]:
    """``(next state, None)`` if ``event`` is within this connection's limit, else
    ``(None, the error reply)``."""
    state, limit = limits.take_event(context.state, event, now_ms())
    if state is None:
        return None, error(f"slow down: at most {limit.events} {limit.what} in {limit.seconds} s")
    return state, None
