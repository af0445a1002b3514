"""What the chat sends to rooms and callers, and how incoming text is checked.

Every broadcast is a JSON object with ``kind``:

* ``chat``: ``{kind, id, from, name, guest, room, text, time}`` (``id`` is server-assigned and
  sorts by time, see ``ids.py``; ``from`` is the user id, ``name`` the display name, ``guest``
  whether the sender is a guest);
* ``joined``/``left``: ``{kind, from, name, guest, room, time}``;
* ``typing``: ``{kind, from, name, guest, room}`` (to everyone in the room but the typist).

Replies to the caller: ``{kind: "error", reason}`` for a refused message,
``{kind: "history", room, messages: [chat, ...], more}`` and
``{kind: "members", room, members: [{userId, name, guest, ...}, ...]}``. Every other shape
(rooms, edits, reactions, unread notices): docs/chat-protocol.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .config import MAX_TEXT_LENGTH


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    kind: Literal["chat", "joined", "left", "typing"]
    id: str | None = None
    sender: str = Field(serialization_alias="from")
    name: str | None = None
    guest: bool | None = None
    room: str
    time: str | None = None
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class InvalidText(ValueError):
    """The text is empty, too long, or not text at all; ``str(self)`` is shown to the sender."""


def iso_time(now_ms: int | None = None) -> str:
    """UTC time as ``2026-01-02T03:04:05.678Z`` (now, or ``now_ms`` since the epoch)."""
    moment = datetime.now(UTC) if now_ms is None else datetime.fromtimestamp(now_ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def extract_text(data: Any) -> str:
    """Accept ``"hi"`` or ``{"text": "hi"}``; return the trimmed text or raise ``InvalidText``."""
    if isinstance(data, dict):
        data = data.get("text")
    if not isinstance(data, str):
        raise InvalidText('send text, or JSON {"text": "..."}')
    text = data.strip()
    if not text:
        raise InvalidText("message is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidText(f"message is longer than {MAX_TEXT_LENGTH} characters")
    return text


def error_reply(reason: str) -> dict[str, str]:
    return {"kind": "error", "reason": reason}
