"""Settings of the chat sample (read on each use, so tests and restarts see changes).

``ChatRooms``                      comma list of rooms, in the order clients show them
``ChatAllowGuests``                ``false`` requires sign-in (App Service Authentication); default on
``ChatTokenMinutes``               client access token lifetime (1-60, default 10)
``ChatRateLimitMessages``          chat messages a connection may send per window (default 10)
``ChatRateLimitSeconds``           that window in seconds (default 10)
``ChatStorage``                    history store: the ``shared.tables`` settings prefix
                                   (``ChatStorage``, ``ChatStorage__tableServiceUri``, ``__clientId``)
``ChatHistoryTable``               table name (default ``chathistory``): history, rooms, members,
                                   read markers, reactions (``history.py``, ``store.py``)

Without ``ChatStorage`` settings the chat still works, but keeps no history and cannot
recognise a retried event (both are logged once).
"""

from __future__ import annotations

import os

DEFAULT_ROOM = "lobby"
DEFAULT_ROOMS = ("lobby", "general", "random")
MAX_TEXT_LENGTH = 2000
DEFAULT_TOKEN_MINUTES = 10
DEFAULT_RATE_MESSAGES = 10
DEFAULT_RATE_SECONDS = 10
TYPING_INTERVAL_SECONDS = 2.0
DEFAULT_TABLE = "chathistory"

ROOMS_SETTING = "ChatRooms"
ALLOW_GUESTS_SETTING = "ChatAllowGuests"
TOKEN_MINUTES_SETTING = "ChatTokenMinutes"
RATE_MESSAGES_SETTING = "ChatRateLimitMessages"
RATE_SECONDS_SETTING = "ChatRateLimitSeconds"
STORAGE_SETTING = "ChatStorage"
TABLE_SETTING = "ChatHistoryTable"

_FALSE = {"0", "false", "no", "off"}
# Characters Table Storage refuses in a PartitionKey (rooms are partition keys).
_KEY_FORBIDDEN = set("/\\#?")
# Ids of private rooms, DMs and the app's own partitions start with this: no public room can.
RESERVED_PREFIX = "~"


def _is_room_name(room: str) -> bool:
    return (
        0 < len(room) <= 64
        and room.isprintable()
        and not (_KEY_FORBIDDEN & set(room))
        and not room.startswith(RESERVED_PREFIX)
    )


def allowed_rooms() -> tuple[str, ...]:
    """The configured rooms in their configured order (duplicates and unusable names dropped)."""
    raw = os.environ.get(ROOMS_SETTING, "")
    rooms = dict.fromkeys(room.strip() for room in raw.split(",") if _is_room_name(room.strip()))
    return tuple(rooms) or DEFAULT_ROOMS


def default_room() -> str:
    rooms = allowed_rooms()
    return DEFAULT_ROOM if DEFAULT_ROOM in rooms else rooms[0]


def allow_guests() -> bool:
    return os.environ.get(ALLOW_GUESTS_SETTING, "").strip().lower() not in _FALSE


def _int_setting(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return min(max(value, low), high)


def token_minutes() -> int:
    return _int_setting(TOKEN_MINUTES_SETTING, DEFAULT_TOKEN_MINUTES, 1, 60)


def rate_limit() -> tuple[int, int]:
    """(messages, seconds): at most that many chat messages per connection per window."""
    return (
        _int_setting(RATE_MESSAGES_SETTING, DEFAULT_RATE_MESSAGES, 1, 10_000),
        _int_setting(RATE_SECONDS_SETTING, DEFAULT_RATE_SECONDS, 1, 3600),
    )


def history_table() -> str:
    return os.environ.get(TABLE_SETTING, "").strip() or DEFAULT_TABLE
