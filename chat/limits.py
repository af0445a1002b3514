"""Per-connection limits kept in the connection state, not in process memory.

The state travels with every event of the connection (``ce-connectionState``) and the
reply sets the next one, so any instance of the app can enforce the limit: the app stays
stateless and scales out. Both limits are fixed windows in milliseconds.

* chat messages: at most ``messages`` per ``seconds`` (``ChatRateLimit*`` settings);
* typing notices: at most one per ``TYPING_INTERVAL_SECONDS``.

The state is set by our own replies and not signed: a client cannot change it (only the
service and this app see it), but never treat it as more than a counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import TYPING_INTERVAL_SECONDS

RATE_KEY = "rate"  # [window start ms, messages in the window]
TYPING_KEY = "typed"  # ms of the last typing notice sent


def _window(state: Mapping[str, Any]) -> tuple[int, int]:
    value = state.get(RATE_KEY)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0], value[1]
    return 0, 0


def take_message(state: Mapping[str, Any], now_ms: int, messages: int, seconds: int) -> dict[str, Any] | None:
    """The next state if one more message is allowed now, else ``None`` (over the limit)."""
    start, count = _window(state)
    if now_ms - start >= seconds * 1000 or now_ms < start:
        start, count = now_ms, 0
    if count >= messages:
        return None
    return {**state, RATE_KEY: [start, count + 1]}


def take_typing(state: Mapping[str, Any], now_ms: int) -> dict[str, Any] | None:
    """The next state if a typing notice may go out now, else ``None``."""
    last = state.get(TYPING_KEY)
    if isinstance(last, int) and 0 <= now_ms - last < TYPING_INTERVAL_SECONDS * 1000:
        return None
    return {**state, TYPING_KEY: now_ms}
