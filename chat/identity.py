"""Who is asking for a token: a signed-in user, or a guest. The server decides the user id.

* **Signed-in** (App Service Authentication, "Easy Auth"): the platform signs users in and
  adds ``X-MS-CLIENT-PRINCIPAL-*`` headers, which are trusted **only** when the platform
  says authentication is on (``WEBSITE_AUTH_ENABLED=True``; it then strips such headers
  from callers). The user id is ``<provider>-<principal id>`` (e.g. ``aad-<object id>``),
  the stable id, never the changeable name; the display name comes from the principal's
  ``name`` claim (else ``X-MS-CLIENT-PRINCIPAL-NAME``).
* **Guests** (``ChatAllowGuests``, on by default): the visitor picks only a display name
  (``?name=``, see ``names.py``); the id ``guest-<random>`` is assigned here and kept in
  a signed, HttpOnly, SameSite cookie, so the same browser keeps it across reloads and
  nobody can claim another id. No provider is called ``guest``, so a guest can never
  hold a signed-in user's id, whatever the settings.
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
from .config import allow_guests
from .names import clean_name, normalize_name

LOGGER = logging.getLogger(__name__)

PRINCIPAL_HEADER = "x-ms-client-principal"
PRINCIPAL_ID_HEADER = "x-ms-client-principal-id"
PRINCIPAL_NAME_HEADER = "x-ms-client-principal-name"
PRINCIPAL_IDP_HEADER = "x-ms-client-principal-idp"
AUTH_ENABLED_SETTING = "WEBSITE_AUTH_ENABLED"

GUEST_PREFIX = "guest-"
GUEST_COOKIE = "chat_guest"
GUEST_COOKIE_PURPOSE = "chat guest cookie v1"
GUEST_COOKIE_MAX_AGE = 365 * 24 * 3600
_GUEST_ID = re.compile(r"^guest-[A-Za-z0-9_-]{22}$")
_PROVIDER = re.compile(r"^[a-z][a-z0-9]{0,15}$")
_MAX_PRINCIPAL_ID = 128


class Identity(NamedTuple):
    user_id: str
    name: str
    guest: bool


class NotAuthenticated(Exception):
    """No identity could be established for this request (guests off, not signed in)."""


def platform_auth_enabled() -> bool:
    return os.environ.get(AUTH_ENABLED_SETTING, "").strip().lower() == "true"


# -- signed-in users -------------------------------------------------------------------------
def _principal_claim(encoded: str | None, claim: str) -> str | None:
    """A claim from ``X-MS-CLIENT-PRINCIPAL`` (base64 JSON ``{"claims": [{"typ", "val"}]}``)."""
    if not encoded:
        return None
    try:
        principal = json.loads(base64.b64decode(encoded))
        claims = principal.get("claims") or []
        values = (c.get("val") for c in claims if c.get("typ") == claim)
        return next((value for value in values if isinstance(value, str)), None)
    except (binascii.Error, ValueError, TypeError, AttributeError, KeyError):
        return None


def signed_in_user(headers: Mapping[str, str]) -> Identity | None:
    """The Easy Auth principal, when the platform vouches for the headers."""
    if not platform_auth_enabled():
        return None
    principal_id = (headers.get(PRINCIPAL_ID_HEADER) or "").strip()
    if not principal_id or len(principal_id) > _MAX_PRINCIPAL_ID or not principal_id.isprintable():
        return None
    provider = (headers.get(PRINCIPAL_IDP_HEADER) or "").strip().lower()
    if not _PROVIDER.match(provider) or provider == GUEST_PREFIX.rstrip("-"):
        provider = "user"
    claimed = _principal_claim(headers.get(PRINCIPAL_HEADER), "name")
    raw_name = claimed or headers.get(PRINCIPAL_NAME_HEADER) or ""
    return Identity(user_id=f"{provider}-{principal_id}", name=clean_name(raw_name, "user"), guest=False)


# -- guests ------------------------------------------------------------------------------------
def new_guest_id() -> str:
    return GUEST_PREFIX + secrets.token_urlsafe(16)


def guest_cookie_value(guest_id: str) -> str | None:
    signature = signing.sign(GUEST_COOKIE_PURPOSE, guest_id)
    return None if signature is None else f"{guest_id}.{signature}"


def guest_id_from_cookie(value: str | None) -> str | None:
    """The guest id in a cookie this app signed, else ``None`` (forged, foreign or malformed)."""
    if not value:
        return None
    guest_id, _, signature = value.partition(".")
    if not _GUEST_ID.match(guest_id) or not signature:
        return None
    return guest_id if signing.verify(GUEST_COOKIE_PURPOSE, guest_id, signature) else None


def read_cookie(headers: Mapping[str, str], name: str) -> str | None:
    from http.cookies import CookieError, SimpleCookie

    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie") or "")
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


class Resolved(NamedTuple):
    identity: Identity
    set_cookie: str | None  # the cookie value to (re)issue, for a guest


def resolve_user(headers: Mapping[str, str], query: Mapping[str, str]) -> Resolved:
    """Who this token request is for.

    Raises:
        NotAuthenticated: not signed in and guests are off.
        names.InvalidName: a guest's display name is not acceptable.
    """
    user = signed_in_user(headers)
    if user is not None:
        return Resolved(user, None)
    if not allow_guests():
        raise NotAuthenticated()
    name = normalize_name(query.get("name") or "")
    guest_id = guest_id_from_cookie(read_cookie(headers, GUEST_COOKIE))
    if guest_id is not None:  # re-issued on every visit: a year from the last one
        return Resolved(Identity(guest_id, name, guest=True), guest_cookie_value(guest_id))
    guest_id = new_guest_id()
    cookie = guest_cookie_value(guest_id)
    if cookie is None:
        LOGGER.warning("no Web PubSub access key configured: guest ids cannot be kept across reloads")
    return Resolved(Identity(guest_id, name, guest=True), cookie)
