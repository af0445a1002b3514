"""Reading event payloads: each field checked, each problem named in the error reply.

``fields(data, ...)`` returns the payload as a dict (``null`` or nothing counts as ``{}``);
the ``*_field`` helpers take one field and raise ``BadRequest`` with a reason the client
sees, e.g. ``room must be a room id``. Nothing here trusts a ``room``, ``from`` or ``name``
for identity: the handlers take those from the connection.
"""

from __future__ import annotations

from typing import Any

from .config import MAX_TEXT_LENGTH
from .ids import is_message_id
from .rooms import MAX_ROOM_ID_LENGTH, Role

MAX_USER_ID_LENGTH = 256


class BadRequest(ValueError):
    """``str(self)`` is shown to the sender."""


def fields(data: Any, shape: str) -> dict[str, Any]:
    """``data`` as a JSON object; ``shape`` describes the expected one in the error."""
    if data is None or data == "":
        return {}
    if not isinstance(data, dict):
        raise BadRequest(f"send JSON {shape}")
    return data


def room_field(data: dict[str, Any], name: str = "room") -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > MAX_ROOM_ID_LENGTH or not value.isprintable():
        raise BadRequest(f"{name} must be a room id")
    return value


def user_field(data: dict[str, Any], name: str = "userId") -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > MAX_USER_ID_LENGTH or not value.isprintable():
        raise BadRequest(f"{name} must be a user id")
    return value


def message_id_field(data: dict[str, Any], name: str = "id") -> str:
    value = data.get(name)
    if not is_message_id(value):
        raise BadRequest(f"{name} must be a message id")
    return str(value)


def text_field(data: dict[str, Any], name: str = "text") -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be text")
    text = value.strip()
    if not text:
        raise BadRequest(f"{name} is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise BadRequest(f"{name} is longer than {MAX_TEXT_LENGTH} characters")
    return text


def bool_field(data: dict[str, Any], name: str, default: bool | None = None) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def role_field(data: dict[str, Any], name: str = "role") -> Role:
    value = data.get(name)
    try:
        return Role(value) if isinstance(value, str) else Role("")
    except ValueError:
        raise BadRequest(f"{name} must be one of {', '.join(r.value for r in Role)}") from None


def user_list_field(data: dict[str, Any], name: str, most: int) -> list[str]:
    value = data.get(name, [])
    if value is None:
        value = []
    if not isinstance(value, list) or len(value) > most:
        raise BadRequest(f"{name} must be a list of at most {most} user ids")
    users = []
    for item in value:
        if not isinstance(item, str) or not item or len(item) > MAX_USER_ID_LENGTH or not item.isprintable():
            raise BadRequest(f"{name} must be a list of user ids")
        users.append(item)
    return list(dict.fromkeys(users))
