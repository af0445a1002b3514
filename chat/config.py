"""Settings of the chat sample (read on each use, so tests and restarts see changes).

``ChatRooms``               comma list of rooms a client may ask for (default below)
``ChatAllowQueryUserName``  ``true``: negotiate accepts ``?name=`` without sign-in (local dev only)
``ChatTokenMinutes``        client access token lifetime (default 10)
"""

from __future__ import annotations

import os
import re

DEFAULT_ROOM = "lobby"
DEFAULT_ROOMS = ("lobby", "general", "random")
MAX_TEXT_LENGTH = 2000
DEFAULT_TOKEN_MINUTES = 10
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.@-]{0,63}$")

ROOMS_SETTING = "ChatRooms"
ALLOW_QUERY_USER_NAME_SETTING = "ChatAllowQueryUserName"
TOKEN_MINUTES_SETTING = "ChatTokenMinutes"


def allowed_rooms() -> frozenset[str]:
    raw = os.environ.get(ROOMS_SETTING, "")
    rooms = {room.strip() for room in raw.split(",") if room.strip()}
    return frozenset(rooms or DEFAULT_ROOMS)


def allow_query_user_name() -> bool:
    return os.environ.get(ALLOW_QUERY_USER_NAME_SETTING, "").strip().lower() in {"1", "true", "yes"}


def token_minutes() -> int:
    try:
        minutes = int(os.environ.get(TOKEN_MINUTES_SETTING, DEFAULT_TOKEN_MINUTES))
    except ValueError:
        return DEFAULT_TOKEN_MINUTES
    return min(max(minutes, 1), 60)
