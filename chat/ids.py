"""Message ids: assigned by the server, sortable by time as plain strings.

``<13-digit milliseconds since the epoch><8 hex random digits>``, e.g. ``1795000000000a1b2c3d4``.
String order is time order (to the millisecond), so "after id X" and "before id X" are
key ranges in the history table. ``reverse_key`` maps an id to a key that sorts the other
way round, for "newest first" queries (Table Storage only reads keys in ascending order).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import TypeGuard

ID_PATTERN = re.compile(r"[0-9]{13}[0-9a-f]{8}")  # fullmatch: "$" would accept a trailing "\n"
_MAX_MS = 10**13 - 1
_MAX_RANDOM = 0xFFFFFFFF


def new_message_id(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{ms:013d}{secrets.randbits(32):08x}"


def is_message_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def reverse_key(message_id: str) -> str:
    """A key whose ascending order is the descending order of ids."""
    ms, random_part = int(message_id[:13]), int(message_id[13:], 16)
    return f"{_MAX_MS - ms:013d}{_MAX_RANDOM - random_part:08x}"


def id_time_ms(message_id: str) -> int:
    return int(message_id[:13])
