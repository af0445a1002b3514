"""The chat's own rule for display names, on top of ``shared.names``: a name may not pass for
the page's words.

The page labels your own messages "You", its errors "Server: …", and writes notices such as
"Ada joined", "Ada left" and "Ada is typing". A user named ``You``, ``Server: reconnecting``
or ``Bob joined`` could make a message or a notice look like one of those. Names are
compared folded (NFKC, case-folded, punctuation and spaces dropped or collapsed), so
``ＹＯＵ``, ``you.`` and ``Y o u`` count too. Look-alike letters from other scripts
(Cyrillic ``у``) are not folded: see docs/security.md, residual risks.
"""

from __future__ import annotations

import re
import unicodedata

RESERVED_WORDS = frozenset({"you", "server", "system", "admin", "moderator", "owner"})
_NOTICE = re.compile(r"(^|\s)(joined|left|is typing|(has )?(joined|left) #\S*)\s*$|^(you|server)\s*:")


class ReservedName(ValueError):
    """``str(self)`` is the 400 reply's reason."""


def _fold(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join("".join(c if c.isalnum() or c in " #:" else " " for c in folded).split())


def check_chat_name(name: str) -> str:
    """``name`` unchanged, or ``ReservedName`` when it reads like a label or notice of the page."""
    folded = _fold(name)
    if folded.replace(" ", "").strip("#:") in RESERVED_WORDS:
        raise ReservedName("that display name is reserved, choose another")
    if _NOTICE.search(folded):
        raise ReservedName("a display name cannot read like a notice (joined, left, typing)")
    return name


def is_reserved(name: str) -> bool:
    try:
        check_chat_name(name)
    except ReservedName:
        return True
    return False
