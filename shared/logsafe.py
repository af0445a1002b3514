"""The one rule for logging a value that came from a request: escaped, on one line, bounded.

Paths, header values and event names are chosen by whoever sends the request. Written raw, a
CR/LF, NEL (U+0085) or LINE SEPARATOR (U+2028) starts a forged log line, an ESC sequence drives
the terminal that shows the log, and bidi controls reorder what a reader sees. ``log_safe``
escapes every character ``str.isprintable`` refuses (control, format, separator, surrogate,
private-use and unassigned code points; the ASCII space stays) plus the backslash itself, so an
escaped value cannot be mistaken for a raw one. Used by the core, the emulator and the dev host.
"""

from __future__ import annotations

MAX_LOGGED_CHARS = 200


def log_safe(value: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """``value`` as inert log text: ``\\xNN``/``\\uNNNN`` escapes, cut to ``limit`` characters."""
    head = value[:limit]
    if not head.isprintable() or "\\" in head:
        head = "".join(_escape(char) for char in head)
    return head if len(value) <= limit else f"{head}...[{len(value)} chars]"


def _escape(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char.isprintable():
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
