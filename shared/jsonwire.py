"""JSON on the wire: bodies, replies and connection state, via pydantic-core's codec.

Why not the ``json`` module:

* ``json.loads`` raises ``RecursionError`` (not ``ValueError``) on a deeply nested
  document such as ``[[[[...`` of a few thousand levels, which a client can put in a
  JSON event; that would escape every ``except ValueError`` and become a 500.
  ``pydantic_core.from_json`` stops at 200 levels with a ``ValueError`` (a 400 here).
* pydantic-core is already a dependency (through pydantic) and parses / encodes the
  small documents of this protocol 3-5x faster (``bench/handler.py``).

Output is compact UTF-8 (no spaces, non-ASCII kept as is), like
``json.dumps(..., separators=(",", ":"), ensure_ascii=False)``.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json, to_json


def parse(data: bytes | str) -> Any:
    """Parse one UTF-8 JSON document.

    Raises:
        ValueError: not valid UTF-8 JSON, or nested deeper than 200 levels.
    """
    return from_json(data, cache_strings="keys")


def encode(value: Any) -> bytes:
    """Encode a JSON-compatible value (pydantic also encodes datetimes, UUIDs, models).

    Raises:
        ValueError: the value (or something inside it) cannot be encoded.
    """
    return to_json(value)
