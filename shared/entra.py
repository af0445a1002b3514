"""Optional Microsoft Entra (managed identity) upstream authentication.

When the hub's event handler uses ``auth: ManagedIdentity``, the service sends
``Authorization: Bearer <token>`` issued for the configured resource (protocol
reference 3.4). This module checks that token: RS256 signature against the tenant's
signing keys (JWKS), ``aud``, ``iss`` (v1 or v2 form), ``exp``/``nbf`` with a small
leeway, and optionally the caller's app id (``appid`` v1 / ``azp`` v2).

The signing keys come from the network, so ``SigningKeys`` bounds what that can cost:

* one fetch at a time, in its own thread; a caller waits for it at most
  ``FETCH_TIMEOUT_SECONDS`` (async callers ``await`` it: the event loop keeps serving);
* an unknown ``kid`` refetches only if the last fetch is older than
  ``UNKNOWN_KID_REFETCH_SECONDS``, so tokens with random ``kid``s cost no fetch;
* a failed fetch is remembered for ``FAILURE_COOLDOWN_SECONDS``: meanwhile tokens that
  need it are refused at once (fail closed) instead of each waiting for the endpoint;
* the document is bounded (``MAX_JWKS_BYTES``, ``MAX_KEYS``).

Works with every PyJWT from the floor in ``requirements.txt`` on: the issuer is checked
here, because PyJWT before 2.9 compares ``issuer`` with ``!=`` and so refuses every
token when given the list of the two accepted issuers.

Imported only when ``WebPubSubEntraAudience`` is configured, so key-only deployments
never load PyJWT's crypto backend.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import urllib.request
from concurrent.futures import Future
from typing import Any

import jwt

from .errors import InvalidToken
from .settings import EntraSettings, is_allowed_jwks_uri

LOGGER = logging.getLogger(__name__)
LEEWAY_SECONDS = 60
KEYS_MAX_AGE_SECONDS = 3600  # known keys are refetched after this long
UNKNOWN_KID_REFETCH_SECONDS = 300  # an unknown kid refetches at most this often
FAILURE_COOLDOWN_SECONDS = 30  # after a failed fetch, no new attempt for this long
FETCH_TIMEOUT_SECONDS = 3.0  # the longest a request waits for the key endpoint
MAX_JWKS_BYTES = 256 * 1024  # Entra's document is a few KiB
MAX_KEYS = 64


def default_jwks_uri(tenant_id: str) -> str:
    return f"https://login.microsoftonline.com/{tenant_id}/discovery/v2.0/keys"


def issuers(tenant_id: str) -> list[str]:
    return [f"https://sts.windows.net/{tenant_id}/", f"https://login.microsoftonline.com/{tenant_id}/v2.0"]


def check_jwks_uri(uri: str) -> str:
    """Return ``uri`` if the key document may be fetched from it (see ``is_allowed_jwks_uri``)."""
    if is_allowed_jwks_uri(uri):
        return uri
    raise ValueError("the signing-key URL must be https://")


def download(uri: str, timeout: float) -> bytes:
    """GET ``uri`` within ``timeout`` seconds in total, at most ``MAX_JWKS_BYTES``."""
    deadline = time.monotonic() + timeout
    url = check_jwks_uri(uri)  # https (or loopback http) only, never file:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body = bytearray()
        while chunk := response.read1(64 * 1024):
            body += chunk
            if len(body) > MAX_JWKS_BYTES:
                raise ValueError("signing-key document too large")
            if time.monotonic() > deadline:
                raise TimeoutError("signing-key download too slow")
    return bytes(body)


def parse_jwks(document: bytes) -> dict[str, Any]:
    """``{"keys": [...]}`` -> ``{kid: public key}``; keys PyJWT cannot use are skipped."""
    entries = json.loads(document).get("keys")
    if not isinstance(entries, list):
        raise ValueError("no keys in the signing-key document")
    keys: dict[str, Any] = {}
    for entry in entries[:MAX_KEYS]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry).key
        except jwt.PyJWTError:
            continue
    return keys


class SigningKeys:
    """The tenant's signing keys, fetched on demand with the bounds in the module docstring."""

    def __init__(self, uri: str, *, timeout: float | None = None) -> None:
        self.uri = uri  # checked by ``download``: a refused URL is a failed fetch (fail closed)
        self.timeout = FETCH_TIMEOUT_SECONDS if timeout is None else timeout
        self.fetches = 0  # attempts started (observability and tests)
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None  # last successful fetch (monotonic)
        self._failed_at: float | None = None  # last failed or timed-out fetch
        self._lock = threading.Lock()
        self._in_flight: Future[None] | None = None

    def get(self, kid: str) -> Any | None:
        """The cached key for ``kid`` (never any I/O)."""
        if self._fetched_at is None or time.monotonic() - self._fetched_at > KEYS_MAX_AGE_SECONDS:
            return None
        return self._keys.get(kid)

    def refresh_due(self, kid: str) -> bool:
        """Would a token signed with ``kid`` need a fetch now?"""
        now = time.monotonic()
        if self._failed_at is not None and now - self._failed_at < FAILURE_COOLDOWN_SECONDS:
            return False
        fetched = self._fetched_at
        if fetched is None or now - fetched > KEYS_MAX_AGE_SECONDS:
            return True
        return kid not in self._keys and now - fetched > UNKNOWN_KID_REFETCH_SECONDS

    def refresh(self) -> None:
        """Fetch the keys (or join the fetch in flight), waiting at most ``timeout``."""
        try:
            self._start().result(timeout=self.timeout)
        except TimeoutError:
            self._timed_out()

    async def refresh_async(self) -> None:
        """``refresh`` for the event loop: the download runs in its own thread."""
        try:
            await asyncio.wait_for(asyncio.wrap_future(self._start()), self.timeout)
        except TimeoutError:
            self._timed_out()

    def _start(self) -> Future[None]:
        with self._lock:
            if self._in_flight is None:
                self.fetches += 1
                future: Future[None] = Future()
                future.set_running_or_notify_cancel()
                self._in_flight = future
                threading.Thread(target=self._fetch, args=(future,), name="entra-jwks", daemon=True).start()
            return self._in_flight

    def _fetch(self, future: Future[None]) -> None:
        keys: dict[str, Any] | None = None
        try:
            keys = parse_jwks(download(self.uri, self.timeout))
        except Exception as exc:  # noqa: BLE001 - any failure: remember it, refuse tokens meanwhile
            LOGGER.warning(
                "Entra signing-key fetch failed (%s); retrying after %ss",
                type(exc).__name__,
                FAILURE_COOLDOWN_SECONDS,
            )
        finally:  # whatever happened, the next fetch can start and every waiter wakes up
            with self._lock:
                if keys is None:
                    self._failed_at = time.monotonic()
                else:
                    self._keys, self._fetched_at, self._failed_at = keys, time.monotonic(), None
                self._in_flight = None
            future.set_result(None)

    def _timed_out(self) -> None:
        LOGGER.warning("Entra signing-key endpoint did not answer within %ss", self.timeout)
        with self._lock:
            self._failed_at = time.monotonic()


class EntraTokenValidator:
    def __init__(self, settings: EntraSettings, keys: SigningKeys | None = None) -> None:
        self._settings = settings
        self._audiences = [a.strip() for a in settings.audience.split(",") if a.strip()]
        self._issuers = frozenset(issuers(settings.tenant_id))
        self.keys = keys or SigningKeys(settings.jwks_uri or default_jwks_uri(settings.tenant_id))

    def refresh_due(self, authorization: str | None) -> bool:
        """Does this request's token need a key fetch first? (``False`` for unusable tokens.)"""
        try:
            return self.keys.refresh_due(_key_id(_bearer(authorization)))
        except InvalidToken:
            return False

    def verify(self, authorization: str | None, *, may_fetch: bool = True) -> dict[str, object]:
        """Return the token's claims, or raise ``InvalidToken`` (401).

        Args:
            may_fetch: fetch the keys here if they are due (blocking, at most the fetch
                timeout). The async adapter passes ``False`` after awaiting the fetch.
        """
        token = _bearer(authorization)
        kid = _key_id(token)
        if may_fetch and self.keys.refresh_due(kid):
            self.keys.refresh()
        key = self.keys.get(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self._audiences,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or issuer not in self._issuers:
            raise InvalidToken()
        allowed = self._settings.allowed_app_ids
        if allowed:
            caller = str(claims.get("appid") or claims.get("azp") or "").lower()
            if caller not in allowed:
                raise InvalidToken("caller application not allowed")
        return claims


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("missing bearer token")
    # A JWT is ASCII; PyJWT would raise UnicodeEncodeError (a 500) on the lone surrogates the
    # dev host makes of header bytes that are not UTF-8.
    if not token.isascii():
        raise InvalidToken()
    return token.strip()


def _key_id(token: str) -> str:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if not isinstance(kid, str) or not kid:
        raise InvalidToken()
    return kid
