"""Display names: any script, NFC-normalised, 1-32 characters, nothing invisible or reordering.

A display name is only a label: identity is the user id (see ``identity.py``). Still, a
label must not be able to hide or disguise text around it, so these are refused:
control characters (Cc), format characters (Cf: zero-width joiners, bidi embeddings,
overrides and isolates such as U+202E), line/paragraph separators (Zl, Zp), surrogates
(Cs), private-use (Co) and unassigned (Cn) code points; and a name must show something:
at least one letter, digit, symbol or punctuation mark (not only spaces and combining marks).

An app adds its own rules on top (the chat refuses names that imitate its own labels).
"""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 32
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_VISIBLE_CLASSES = frozenset("LNSP")  # first letter of a visible character's category
# Letters and symbols by category that draw nothing (Hangul fillers, the blank Braille pattern).
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")


class InvalidName(ValueError):
    """``str(self)`` says what is wrong, for the 400 reply."""


def _allowed(char: str) -> bool:
    return unicodedata.category(char) not in _FORBIDDEN_CATEGORIES


def _visible(char: str) -> bool:
    return unicodedata.category(char)[0] in _VISIBLE_CLASSES and char not in _BLANK_LOOKING


def normalize_name(raw: str) -> str:
    """Return the NFC form of ``raw`` with outer whitespace removed, or raise ``InvalidName``."""
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise InvalidName("choose a display name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"a display name has at most {MAX_NAME_LENGTH} characters")
    if not all(map(_allowed, name)):
        raise InvalidName("a display name cannot hold control, formatting or direction-changing characters")
    if not any(map(_visible, name)):
        raise InvalidName("a display name needs at least one visible letter, digit or symbol")
    return name


def clean_name(raw: str, fallback: str) -> str:
    """A usable display name from text we did not choose (a principal's name): forbidden
    characters dropped, whitespace collapsed, cut to the maximum; ``fallback`` if nothing is left."""
    spaced = (" " if char.isspace() else char for char in unicodedata.normalize("NFC", raw))
    kept = "".join(char for char in spaced if _allowed(char))
    name = " ".join(kept.split())[:MAX_NAME_LENGTH].strip()
    return name if any(map(_visible, name)) else fallback
