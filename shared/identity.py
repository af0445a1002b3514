"""Who is asking for a client token: a signed-in user, or a guest. The server decides the user id.

* **Signed-in** (App Service Authentication, "Easy Auth"): the platform signs users in and
  adds ``X-MS-CLIENT-PRINCIPAL-*`` headers, which are trusted **only** when the platform
  says authentication is on (``WEBSITE_AUTH_ENABLED=True``; it then strips such headers
  from callers). The user id is ``<provider>-<principal id>`` (e.g. ``aad-<object id>``),
  the stable id, never the changeable name; the display name comes from the principal's
  ``name`` claim (else ``X-MS-CLIENT-PRINCIPAL-NAME``).
* **Guests** (when the app allows them): the visitor picks only a display name (see
  ``names.py``); the id ``guest-<random>`` is assigned here and kept in a signed, HttpOnly,
  SameSite=Strict cookie (``GuestCookie``), so the same browser keeps it across reloads and
  nobody can claim another id. No provider is called ``guest``, so a guest can never hold a
  signed-in user's id, whatever the settings.

``resolve_user`` is the one entry point; ``shared.negotiate`` turns its answer into a client URL.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
from collections.abc import Mapping
from typing import NamedTuple

from . import signing
from .names import clean_name, normalize_name

LOGGER = logging.getLogger(__name__)

PRINCIPAL_HEADER = "x-ms-client-principal"
PRINCIPAL_ID_HEADER = "x-ms-client-principal-id"
PRINCIPAL_NAME_HEADER = "x-ms-client-principal-name"
PRINCIPAL_IDP_HEADER = "x-ms-client-principal-idp"
AUTH_ENABLED_SETTING = "WEBSITE_AUTH_ENABLED"

GUEST_PREFIX = "guest-"
_GUEST_ID = re.compile(r"guest-[A-Za-z0-9_-]{22}")
_PROVIDER = re.compile(r"[a-z][a-z0-9]{0,15}")
_MAX_PRINCIPAL_ID = 128


class Identity(NamedTuple):
    user_id: str
    name: str
    guest: bool


class GuestCookie(NamedTuple):
    """The cookie that keeps a guest's id: its name, signing purpose and lifetime (seconds)."""

    name: str = "guest_id"
    purpose: str = "guest cookie v1"
    max_age: int = 365 * 24 * 3600


DEFAULT_GUEST_COOKIE = GuestCookie()


class NotAuthenticated(Exception):
    """No identity could be established for this request (guests off, not signed in)."""


def platform_auth_enabled() -> bool:
    return os.environ.get(AUTH_ENABLED_SETTING, "").strip().lower() == "true"


def is_guest(user_id: str | None) -> bool:
    """Whether ``user_id`` is one this module gave a guest (never a signed-in user's)."""
    return user_id is not None and user_id.startswith(GUEST_PREFIX)


# -- signed-in users -------------------------------------------------------------------------
# Claims of an access token (a bearer token sent to the app), absent from the ID token behind a
# browser sign-in session: the calling application, and the delegated scopes of a user's token.
_CLIENT_APP_CLAIMS = ("azp", "appid")
_SCOPE_CLAIM = "scp"
ALLOWED_CLIENT_APPS_SETTING = "EasyAuthAllowedClientApps"


def _principal_claims(encoded: str) -> dict[str, str] | None:
    """``X-MS-CLIENT-PRINCIPAL`` (base64 JSON ``{"claims": [{"typ", "val"}]}``) as
    ``{type: first value}``, or ``None`` if it is not that."""
    try:
        principal = json.loads(base64.b64decode(encoded, validate=True))
        claims: dict[str, str] = {}
        for claim in principal["claims"]:
            kind, value = claim["typ"], claim["val"]
            if isinstance(kind, str) and isinstance(value, str):
                claims.setdefault(kind, value)
        return claims
    except (binascii.Error, ValueError, TypeError, AttributeError, KeyError):
        return None


def allowed_client_apps() -> frozenset[str]:
    """Client ids (``EasyAuthAllowedClientApps``, comma list) whose users' tokens also count."""
    raw = os.environ.get(ALLOWED_CLIENT_APPS_SETTING, "")
    return frozenset(part.strip().lower() for part in raw.split(",") if part.strip())


def is_user_session(claims: Mapping[str, str]) -> bool:
    """Whether the principal's claims are a person's sign-in, not another application.

    Easy Auth also accepts bearer tokens issued for the app's client id, including app-only
    tokens any service principal of the tenant can ask for. A browser sign-in (the ID token)
    names no calling application; an access token does (``azp``/``appid``), and counts only
    when it is a user's (``scp``, delegated) from a client listed in ``EasyAuthAllowedClientApps``.
    """
    client = next((claims[name] for name in _CLIENT_APP_CLAIMS if name in claims), None)
    if client is None:
        return True
    return _SCOPE_CLAIM in claims and client.lower() in allowed_client_apps()


def signed_in_user(headers: Mapping[str, str]) -> Identity | None:
    """The Easy Auth principal, when the platform vouches for the headers and it is a person."""
    if not platform_auth_enabled():
        return None
    principal_id = (headers.get(PRINCIPAL_ID_HEADER) or "").strip()
    if not principal_id or len(principal_id) > _MAX_PRINCIPAL_ID or not principal_id.isprintable():
        return None
    claims: Mapping[str, str] = {}
    encoded = headers.get(PRINCIPAL_HEADER)
    if encoded:  # the platform always sends it; without it only the id and name headers speak
        decoded = _principal_claims(encoded)
        if decoded is None or not is_user_session(decoded):
            return None
        claims = decoded
    provider = (headers.get(PRINCIPAL_IDP_HEADER) or "").strip().lower()
    if not _PROVIDER.fullmatch(provider) or provider == GUEST_PREFIX.rstrip("-"):
        provider = "user"
    raw_name = claims.get("name") or headers.get(PRINCIPAL_NAME_HEADER) or ""
    return Identity(user_id=f"{provider}-{principal_id}", name=clean_name(raw_name, "user"), guest=False)


# -- guests ------------------------------------------------------------------------------------
def new_guest_id() -> str:
    return GUEST_PREFIX + secrets.token_urlsafe(16)


def guest_cookie_value(guest_id: str, cookie: GuestCookie = DEFAULT_GUEST_COOKIE) -> str | None:
    """``<guest id>.<signature>``, or ``None`` when the app holds no key to sign with."""
    signature = signing.sign(cookie.purpose, guest_id)
    return None if signature is None else f"{guest_id}.{signature}"


def guest_id_from_cookie(value: str | None, cookie: GuestCookie = DEFAULT_GUEST_COOKIE) -> str | None:
    """The guest id in a cookie this app signed, else ``None`` (forged, foreign or malformed)."""
    if not value:
        return None
    guest_id, _, signature = value.partition(".")
    if not _GUEST_ID.fullmatch(guest_id) or not signature:
        return None
    return guest_id if signing.verify(cookie.purpose, guest_id, signature) else None


def read_cookie(headers: Mapping[str, str], name: str) -> str | None:
    """The value of cookie ``name`` in the request's ``Cookie`` header (unquoted), if any."""
    from http.cookies import CookieError, SimpleCookie

    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie") or "")
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def set_cookie_header(value: str, cookie: GuestCookie = DEFAULT_GUEST_COOKIE, *, secure: bool) -> str:
    """The ``Set-Cookie`` value that stores the guest cookie ``value`` in the browser."""
    attributes = f"Path=/; Max-Age={cookie.max_age}; HttpOnly; SameSite=Strict"
    return f"{cookie.name}={value}; {attributes}{'; Secure' if secure else ''}"


class Resolved(NamedTuple):
    identity: Identity
    set_cookie: str | None  # the guest cookie value to (re)issue, if any


def resolve_user(
    headers: Mapping[str, str],
    name: str | None,
    *,
    allow_guests: bool,
    cookie: GuestCookie = DEFAULT_GUEST_COOKIE,
) -> Resolved:
    """Who a token request is for: the signed-in user, else (if allowed) a guest named ``name``.

    Raises:
        NotAuthenticated: not signed in and guests are not allowed.
        names.InvalidName: a guest's display name is not acceptable.
    """
    user = signed_in_user(headers)
    if user is not None:
        return Resolved(user, None)
    if not allow_guests:
        raise NotAuthenticated()
    display_name = normalize_name(name or "")
    guest_id = guest_id_from_cookie(read_cookie(headers, cookie.name), cookie)
    if guest_id is not None:  # re-issued on every visit: a year from the last one
        return Resolved(Identity(guest_id, display_name, guest=True), guest_cookie_value(guest_id, cookie))
    guest_id = new_guest_id()
    value = guest_cookie_value(guest_id, cookie)
    if value is None:
        LOGGER.warning("no Web PubSub access key configured: guest ids cannot be kept across reloads")
    return Resolved(Identity(guest_id, display_name, guest=True), value)
