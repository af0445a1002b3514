"""What the chat sends to rooms and callers, and how incoming text is checked.

Every broadcast is a JSON object with ``kind``: ``chat`` messages carry
``{kind, from, room, text, time}``; ``joined``/``left`` notices carry
``{kind, from, room, time}``; replies to a refused message are ``{kind: "error", reason}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .config import MAX_TEXT_LENGTH


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    kind: Literal["chat", "joined", "left"]
    sender: str = Field(serialization_alias="from")
    room: str
    time: str
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class InvalidText(ValueError):
    """The text is empty, too long, or not text at all; ``str(self)`` is shown to the sender."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
