"""Secret redaction for everything the inspector shows: headers, URLs, JSON and text bodies.

Three rules, applied together so one miss is caught by another:

* by **name**: headers, query parameters and JSON members whose name looks secret
  (``ce-signature``, ``Authorization``, ``Cookie``, ``access_token``, ``*token*``,
  ``*key*``, ``*secret*``, ``code``, and anything signed: ``*signature*``, ``sig`` and
  ``*Sig`` such as the chat's ``nameSig``...) lose their value;
* by **shape**: anything that looks like a JWT (``eyJ...``.``...``.``...``) or an
  ``AccessKey=`` connection-string part is replaced wherever it appears;
* by **value**: the emulator's own access keys are replaced wherever they appear.

Over-redaction (say, a chat member called ``keyboard``) is accepted: this is a debugging
view, and a secret that reaches a screen or a screenshot cannot be taken back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "«redacted»"
MAX_BODY_CHARS = 4096  # per body or frame shown; the rest is summarised
MAX_JSON_PARSE = 64 * 1024  # larger JSON is redacted by shape only, not parsed

_SECRET_NAME = re.compile(
    r"token|key|secret|signature|password|passwd|authorization|cookie|credential|connectionstring|sig$|^code$",
    re.IGNORECASE,
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_ACCESS_KEY_PART = re.compile(r"(AccessKey=)[^;\s\"']*", re.IGNORECASE)
_QUERY_SECRET = re.compile(
    r"((?:access_token|awps_reconnection_token|code|\w*sig|\w*signature\w*|key|token)=)[^&\s\"']*",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


class Redactor:
    """Redacts with the rules above; ``keys`` are the emulator's access keys."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = tuple(k for k in keys if k)

    def text(self, value: str) -> str:
        for key in self._keys:
            if key in value:
                value = value.replace(key, REDACTED)
        if "eyJ" in value:  # cheap tests first: most text has neither
            value = _JWT.sub(REDACTED, value)
        if "=" in value:
            value = _ACCESS_KEY_PART.sub(r"\1" + REDACTED, value)
            value = _QUERY_SECRET.sub(r"\1" + REDACTED, value)
        return value

    def headers(self, headers: Mapping[str, str]) -> list[list[str]]:
        """``[[name, value], ...]`` in order (names may repeat), secret values replaced."""
        return [
            [name, REDACTED if is_secret_name(name) else self.text(value)] for name, value in headers.items()
        ]

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return self.text(url)
        query = [
            (name, REDACTED if is_secret_name(name) else value) for name, value in parse_qsl(parts.query)
        ]
        return self.text(urlunsplit(parts._replace(query=urlencode(query, safe="«»"))))

    def json_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                self.text(k): REDACTED if is_secret_name(k) else self.json_value(v)
                for k, v in value.items()
                if isinstance(k, str)  # always true for parsed JSON
            }
        if isinstance(value, list):
            return [self.json_value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def body(self, data: str | bytes) -> str:
        """A body or frame as display text: redacted, at most ``MAX_BODY_CHARS`` characters."""
        if isinstance(data, bytes):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return f"({len(data)} bytes of binary data)"
        else:
            text = data
        stripped = text.lstrip()
        if stripped[:1] in ("{", "[") and len(text) <= MAX_JSON_PARSE:
            try:
                text = json.dumps(self.json_value(json.loads(text)), ensure_ascii=False)
            except (ValueError, RecursionError):
                text = self.text(text)
        else:
            text = self.text(text)
        if len(text) > MAX_BODY_CHARS:
            text = f"{text[:MAX_BODY_CHARS]}… ({len(text) - MAX_BODY_CHARS} more characters)"
        return text
