"""HS256 access tokens: validate client and REST JWTs, mint client tokens.

Both kinds are signed with an access key (UTF-8 bytes, either key accepted) and carry
an ``aud`` that names a URL (protocol reference 9.1 and 10):

* client tokens: ``{endpoint}/client/hubs/{hub}`` with the http(s) scheme;
* REST tokens: the request URL, with or without its query string.

``aud`` is compared case-insensitively, ignoring one trailing ``/``, also after
URL-decoding, as the official emulator does. ``exp`` is required; 5 minutes of clock
skew are allowed. The clock is passed in (``now=``) so tests need no sleeping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import jwt

CLOCK_SKEW_SECONDS = 300
MAX_TOKEN_LENGTH = 16 * 1024
ROLE_CLAIM = "role"
GROUP_CLAIMS = ("webpubsub.group", "group")


class TokenError(Exception):
    """The token is missing, malformed, expired, for another audience or badly signed.

    ``reason`` is safe to return to the caller (it never contains the token or a key).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """What a valid client token says about the connection."""

    user_id: str | None
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    claims: dict[str, list[Any]] = field(default_factory=dict)


def is_header_text(value: str) -> bool:
    """UTF-8 text without control characters: what can travel in a ``ce-*`` header."""
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud800" escape
        return False
    return True


def is_valid_user_id(user_id: str) -> bool:
    """A user id travels in ``ce-userId``."""
    return is_header_text(user_id)


def _normalise_aud(value: str) -> str:
    value = value.strip().lower()
    return value[:-1] if value.endswith("/") else value


def audience_matches(aud: Any, accepted: Iterable[str]) -> bool:
    """Case-insensitive, trailing-slash-tolerant, also URL-decoded comparison."""
    candidates = aud if isinstance(aud, list) else [aud]
    wanted = {_normalise_aud(a) for a in accepted}
    wanted |= {_normalise_aud(unquote(a)) for a in accepted}
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        if _normalise_aud(candidate) in wanted or _normalise_aud(unquote(candidate)) in wanted:
            return True
    return False


def decode_token(token: str, keys: Sequence[str], *, now: float | None = None) -> dict[str, Any]:
    """Verify signature (any key) and ``exp``; return the claims. ``aud`` is checked by callers."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("missing or oversized token")
    if not token.isascii():  # a JWT is ASCII; PyJWT would fail to encode undecodable header bytes
        raise TokenError("invalid token")
    # With an explicit clock, exp is checked below instead of against time.time().
    options = {"require": ["exp"], "verify_aud": False, "verify_iat": False, "verify_exp": now is None}
    last_error = "invalid token"
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                options=options,
                leeway=CLOCK_SKEW_SECONDS,
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.InvalidSignatureError:
            last_error = "invalid token signature"
            continue
        except jwt.PyJWTError:
            raise TokenError("invalid token") from None
        if now is not None:
            exp = claims.get("exp")
            if not isinstance(exp, int | float) or exp + CLOCK_SKEW_SECONDS < now:
                raise TokenError("token expired")
        if not isinstance(claims, dict):
            raise TokenError("invalid token")
        return claims
    raise TokenError(last_error)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in _as_list(value) if isinstance(v, str) and v)


def validate_client_token(
    token: str, keys: Sequence[str], accepted_audiences: Iterable[str], *, now: float | None = None
) -> ClientIdentity:
    """Check a client access token and read ``sub``, ``role`` and the group claims.

    Raises:
        TokenError: any problem; the WebSocket upgrade is then refused with 401.
    """
    claims = decode_token(token, keys, now=now)
    if not audience_matches(claims.get("aud"), accepted_audiences):
        raise TokenError("token audience does not match this hub")
    sub = claims.get("sub")
    if sub is not None and not (isinstance(sub, str) and is_valid_user_id(sub)):
        raise TokenError("invalid sub claim: the user id must be text without control characters")
    groups: tuple[str, ...] = ()
    for name in GROUP_CLAIMS:
        groups += _strings(claims.get(name))
    return ClientIdentity(
        user_id=sub if isinstance(sub, str) and sub else None,
        roles=_strings(claims.get(ROLE_CLAIM)),
        groups=tuple(dict.fromkeys(groups)),
        # the service hands claims to the connect handler as lists of strings
        claims={name: [_claim_text(v) for v in _as_list(value)] for name, value in claims.items()},
    )


def _claim_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def validate_rest_token(
    authorization: str | None, keys: Sequence[str], request_url: str, *, now: float | None = None
) -> dict[str, Any]:
    """Check ``Authorization: Bearer <jwt>`` of a REST call against the request URL.

    Args:
        request_url: ``scheme://host[:port]/path?query`` exactly as received (raw path).
    """
    if not authorization or not authorization[:7].lower() == "bearer ":
        raise TokenError("missing bearer token")
    claims = decode_token(authorization[7:].strip(), keys, now=now)
    without_query = request_url.split("?", 1)[0]
    if not audience_matches(claims.get("aud"), (request_url, without_query)):
        raise TokenError("token audience does not match the request URL")
    return claims


def issue_client_token(
    key: str,
    audience: str,
    *,
    user_id: str | None = None,
    roles: Sequence[str] = (),
    groups: Sequence[str] = (),
    minutes_to_expire: int = 60,
    now: float | None = None,
) -> str:
    """Mint a client token as ``:generateToken`` does (and as the SDKs do locally)."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"aud": audience, "iat": issued, "exp": issued + minutes_to_expire * 60}
    if user_id:
        claims["sub"] = user_id
    if roles:
        claims[ROLE_CLAIM] = list(roles)
    if groups:
        claims[GROUP_CLAIMS[0]] = list(groups)
    return jwt.encode(claims, key, algorithm="HS256")
