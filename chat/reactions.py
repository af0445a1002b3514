"""Reactions: which emoji counts as one, and the per-message tally with no lost update.

**One emoji** is one extended grapheme cluster (Unicode UAX #29, the ``regex`` package's
``\\X``: Python's standard library cannot segment graphemes) made only of emoji code
points: pictographs, skin-tone modifiers, ZWJ, variation selectors, regional indicators
(flags), keycaps and tag characters (subdivision flags). So 👍🏽, 👩‍👩‍👧 and 🇫🇷 are one
emoji each; ``a``, ``👍👍`` and ``👍`` plus combining marks are refused.

**The tally** of a message is one row (``x<message id>`` in the room's partition):
``{reactions: [[emoji, [user ids]], ...], version}``, changed by read, modify, then replace
*if the row is unchanged since the read* (its ETag; an insert if there was none). Two
concurrent reactions cannot both win: the loser reads again and retries, so every reaction
is counted. ``version`` grows by one per change, so clients keep the newest broadcast.
(Measured in ``bench/chat_rooms.py``: concurrent reactions on one message.)
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
from typing import Any, NamedTuple

from shared.tables import Table

MAX_EMOJI_PER_MESSAGE = 20
MAX_EMOJI_CODE_POINTS = 16
MAX_ATTEMPTS = 25
REACTIONS = "x"
# Properties are limited to 64 KiB; beyond this the tally refuses new users (documented).
MAX_TALLY_CHARS = 30_000

_EMOJI_PATTERN: Any = None


class InvalidEmoji(ValueError):
    pass


class TooManyReactions(Exception):
    """The message reached a limit (distinct emoji, or the tally's size)."""


class Busy(Exception):
    """Too many concurrent changes on one message: the caller should try again."""


def _pattern() -> Any:
    global _EMOJI_PATTERN
    if _EMOJI_PATTERN is None:
        import regex  # imported on the first reaction, not at cold start

        part = (
            r"\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}"
            r"|[\u200d\ufe0e\ufe0f\u20e3\U000e0020-\U000e007f0-9#*]"
        )
        _EMOJI_PATTERN = (
            regex.compile(r"\X"),
            regex.compile(rf"(?:{part})+"),
            regex.compile(r"[0-9#*]"),
            regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3"),
        )
    return _EMOJI_PATTERN


def check_emoji(value: object) -> str:
    """``value`` if it is one emoji, else raise ``InvalidEmoji``."""
    if not isinstance(value, str) or not value or len(value) > MAX_EMOJI_CODE_POINTS:
        raise InvalidEmoji("emoji must be one emoji")
    grapheme, emoji_only, keycap_base, picture = _pattern()
    if not grapheme.fullmatch(value) or not emoji_only.fullmatch(value) or not picture.search(value):
        raise InvalidEmoji("emoji must be one emoji")
    # Digits, # and * are emoji only as keycaps (1️⃣): alone they are text.
    if keycap_base.match(value) and "\u20e3" not in value:
        raise InvalidEmoji("emoji must be one emoji")
    return value


class Tally(NamedTuple):
    reactions: list[tuple[str, list[str]]]  # emoji -> users, in the order first used
    version: int

    def to_json(self) -> list[dict[str, Any]]:
        return [{"emoji": emoji, "count": len(users), "users": users} for emoji, users in self.reactions]


def _parse(raw: object) -> list[tuple[str, list[str]]]:
    try:
        decoded = json.loads(raw) if isinstance(raw, str) else []
        return [(str(emoji), [str(user) for user in users]) for emoji, users in decoded]
    except (ValueError, TypeError):
        return []


def apply(
    reactions: list[tuple[str, list[str]]], emoji: str, user_id: str, on: bool
) -> list[tuple[str, list[str]]]:
    """The tally after ``user_id`` turned ``emoji`` on or off (unchanged if already so).

    Raises:
        TooManyReactions: a 21st distinct emoji.
    """
    out = [(e, list(users)) for e, users in reactions]
    for index, (existing, users) in enumerate(out):
        if existing == emoji:
            if on and user_id not in users:
                users.append(user_id)
            elif not on and user_id in users:
                users.remove(user_id)
            if not users:
                del out[index]
            return out
    if not on:
        return out
    if len(out) >= MAX_EMOJI_PER_MESSAGE:
        raise TooManyReactions(f"at most {MAX_EMOJI_PER_MESSAGE} different emoji per message")
    out.append((emoji, [user_id]))
    return out


def tally_of(entity: dict[str, Any] | None) -> Tally:
    if entity is None:
        return Tally([], 0)
    version = entity.get("version")
    return Tally(_parse(entity.get("reactions")), version if isinstance(version, int) else 0)


async def react(
    table: Table, room: str, message_id: str, emoji: str, user_id: str, on: bool
) -> tuple[Tally, bool]:
    """Turn ``user_id``'s ``emoji`` on the message on or off: ``(tally after, changed)``.

    Raises:
        TooManyReactions, Busy; azure.core.exceptions.AzureError for storage failures.
    """
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
    from azure.data.tables import UpdateMode

    key = REACTIONS + message_id
    for attempt in range(MAX_ATTEMPTS):
        try:
            current = await table.client.get_entity(room, key)
            etag: str | None = current.metadata["etag"]
            before = tally_of(dict(current))
        except ResourceNotFoundError:
            etag, before = None, Tally([], 0)
        after = apply(before.reactions, emoji, user_id, on)
        if after == before.reactions:
            return before, False
        encoded = json.dumps(after, ensure_ascii=False)
        if len(encoded) > MAX_TALLY_CHARS:
            raise TooManyReactions("this message has too many reactions")
        tally = Tally(after, before.version + 1)
        entity = {
            "PartitionKey": room,
            "RowKey": key,
            "id": message_id,
            "reactions": encoded,
            "version": tally.version,
        }
        try:
            if etag is None:
                await table.run(functools.partial(table.client.create_entity, entity))
            else:
                await table.client.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            return tally, True
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            # Someone else changed (or created, or removed) the tally since we read it.
            await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
    raise Busy("too many reactions at once on this message, try again")


async def tallies(table: Table, room: str, first_id: str, last_id: str) -> dict[str, Tally]:
    """The tallies of messages ``first_id`` … ``last_id`` (one key-range read)."""
    query = "PartitionKey eq @room and RowKey ge @low and RowKey le @high"
    rows = await table.query(query, {"room": room, "low": REACTIONS + first_id, "high": REACTIONS + last_id})
    found = {}
    for row in rows:
        tally = tally_of(row)
        if tally.reactions:
            found[row["RowKey"][len(REACTIONS) :]] = tally
    return found
