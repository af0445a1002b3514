"""Display names: any script, NFC-normalised, 1-32 characters, nothing invisible or reordering.

A display name is only a label: identity is the user id (see ``identity.py``). Still, a
label must not be able to hide or disguise text around it, so these are refused:
control characters (Cc), format characters (Cf: zero-width joiners, bidi embeddings,
overrides and isolates such as U+202E), line/paragraph separators (Zl, Zp), surrogates
(Cs), private-use (Co) and unassigned (Cn) code points.
"""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 32
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class InvalidName(ValueError):
    """``str(self)`` says what is wrong, for the 400 reply."""


def _allowed(char: str) -> bool:
    return unicodedata.category(char) not in _FORBIDDEN_CATEGORIES


def normalize_name(raw: str) -> str:
    """Return the NFC form of ``raw`` with outer whitespace removed, or raise ``InvalidName``."""
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise InvalidName("choose a display name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"a display name has at most {MAX_NAME_LENGTH} characters")
    if not all(map(_allowed, name)):
        raise InvalidName("a display name cannot hold control, formatting or direction-changing characters")
    return name


def clean_name(raw: str, fallback: str) -> str:
    """A usable display name from text we did not choose (a principal's name): forbidden
    characters dropped, whitespace collapsed, cut to the maximum; ``fallback`` if nothing is left."""
    kept = "".join(char for char in unicodedata.normalize("NFC", raw) if _allowed(char))
    name = " ".join(kept.split())[:MAX_NAME_LENGTH].strip()
    return name or fallback
