"""Per-connection limits kept in the connection state, not in process memory.

The state travels with every event of the connection (``ce-connectionState``) and the
reply sets the next one, so any instance of the app can enforce the limit: the app stays
stateless and scales out. Both limits are fixed windows in milliseconds.

* chat messages: at most ``messages`` per ``seconds`` (``ChatRateLimit*`` settings);
* typing notices: at most one per ``TYPING_INTERVAL_SECONDS``;
* every other event, by class (``LIMITS``: reads, ``open``, room management, message
  changes, read markers), each class its own window under ``"rl"``.

The state is set by our own replies and not signed: a client cannot change it (only the
service and this app see it), but never treat it as more than a counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .config import TYPING_INTERVAL_SECONDS

RATE_KEY = "rate"  # [window start ms, messages in the window]
TYPING_KEY = "typed"  # ms of the last typing notice sent
LIMITS_KEY = "rl"  # {class: [window start ms, events in the window]}


class Limit(NamedTuple):
    events: int
    seconds: int
    what: str  # for the error reply: "at most 20 requests for history, members or rooms in 10 s"


# Event name -> (class, limit). Classes share one window, so e.g. history and members together.
_READS = Limit(20, 10, "history, members or rooms requests")
_MANAGE = Limit(10, 60, "room changes (create, dm, invite, remove, role)")
_CHANGES = Limit(30, 10, "edits, deletes or reactions")
LIMITS: dict[str, tuple[str, Limit]] = {
    "history": ("reads", _READS),
    "members": ("reads", _READS),
    "rooms": ("reads", _READS),
    "open": ("open", Limit(10, 10, "room switches")),
    "create": ("manage", _MANAGE),
    "dm": ("manage", _MANAGE),
    "invite": ("manage", _MANAGE),
    "remove": ("manage", _MANAGE),
    "role": ("manage", _MANAGE),
    "edit": ("changes", _CHANGES),
    "delete": ("changes", _CHANGES),
    "react": ("changes", _CHANGES),
    "read": ("read", Limit(30, 10, "read markers")),
}


def _window(value: object, now_ms: int) -> tuple[int, int]:
    """(start, count) of a stored window; a missing or unreadable one starts now."""
    if isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value):
        return value[0], value[1]
    return now_ms, 0


def _next_window(value: object, now_ms: int, events: int, seconds: int) -> list[int] | None:
    start, count = _window(value, now_ms)
    if now_ms - start >= seconds * 1000 or now_ms < start:
        start, count = now_ms, 0
    if count >= events:
        return None
    return [start, count + 1]


def take_message(state: Mapping[str, Any], now_ms: int, messages: int, seconds: int) -> dict[str, Any] | None:
    """The next state if one more message is allowed now, else ``None`` (over the limit)."""
    window = _next_window(state.get(RATE_KEY), now_ms, messages, seconds)
    return None if window is None else {**state, RATE_KEY: window}


def take_event(state: Mapping[str, Any], event: str, now_ms: int) -> tuple[dict[str, Any] | None, Limit]:
    """``(next state, limit)`` for one more ``event`` now; the state is ``None`` over the limit."""
    bucket, limit = LIMITS[event]
    stored = state.get(LIMITS_KEY)
    windows = dict(stored) if isinstance(stored, dict) else {}
    window = _next_window(windows.get(bucket), now_ms, limit.events, limit.seconds)
    if window is None:
        return None, limit
    windows[bucket] = window
    return {**state, LIMITS_KEY: windows}, limit


def take_typing(state: Mapping[str, Any], now_ms: int) -> dict[str, Any] | None:
    """The next state if a typing notice may go out now, else ``None``."""
    last = state.get(TYPING_KEY)
    if isinstance(last, int) and 0 <= now_ms - last < TYPING_INTERVAL_SECONDS * 1000:
        return None
    return {**state, TYPING_KEY: now_ms}
