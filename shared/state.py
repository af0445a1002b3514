"""Connection state carried in ``ce-connectionState`` (protocol reference section 6).

The service stores whatever string a blocking event's response puts in the
``ce-connectionState`` header and sends it back on every later event of that
connection. This template uses **one** encoding:

    ce-connectionState: base64( UTF-8 JSON object )      e.g. {"room": "lobby"} -> eyJyb29tIjoibG9iYnkifQ==

* The value replaces the whole state; to change one key, send the merged mapping.
* Clearing writes the encoding of ``{}`` (``e30=``), never an empty header, so the
  meaning does not depend on how the service treats empty values.
* Decoding is defensive: anything that is not base64 of a JSON object, or is larger
  than ``MAX_STATE_BYTES``, is refused with ``InvalidHeader`` (400). The state is not
  covered by ``ce-signature``, so a value we cannot read is treated as tampered with,
  never silently reset.
* The state is convenience data set by our own code; never use it for authorization.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from . import jsonwire
from .errors import InvalidHeader, StateTooLarge
from .headers import CE_CONNECTION_STATE

# Not a service number (none is documented): it rides in a header on every event.
MAX_STATE_BYTES = 4096
EMPTY_STATE = base64.b64encode(b"{}").decode("ascii")


def encode_state(state: Mapping[str, Any]) -> str:
    """Encode a JSON-serialisable mapping; raises ``StateTooLarge`` past the guard."""
    try:
        raw = jsonwire.encode(dict(state))
    except ValueError as exc:
        raise StateTooLarge("connection state is not JSON-serialisable") from exc
    encoded = base64.b64encode(raw).decode("ascii")
    if len(encoded) > MAX_STATE_BYTES:
        raise StateTooLarge()
    return encoded


def decode_state(value: str | None) -> dict[str, Any]:
    """Decode a ``ce-connectionState`` value; ``None`` or empty means no state."""
    if not value:
        return {}
    if len(value) > MAX_STATE_BYTES:
        raise InvalidHeader(CE_CONNECTION_STATE, "too large")
    try:
        decoded = jsonwire.parse(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise InvalidHeader(CE_CONNECTION_STATE, "not base64-encoded JSON") from exc
    if not isinstance(decoded, dict):
        raise InvalidHeader(CE_CONNECTION_STATE, "not a JSON object")
    return decoded
