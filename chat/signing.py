"""Short HMAC signatures with a key the app already holds: no new secret to type or store.

The key is derived from the Web PubSub access keys the app has anyway (to check
``ce-signature``): ``HMAC-SHA256(access key, purpose)``, one derived key per purpose, so a
signature made for one use is worthless for another and never reveals the access key.
Values are signed with the first key and accepted with any (key rotation: after both
Web PubSub keys have been regenerated, old signatures stop verifying, which for a guest
cookie means a new guest id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from shared.settings import load_settings


def _derived_keys(purpose: str) -> list[bytes]:
    keys = load_settings(os.environ).access_keys
    return [hmac.new(key.encode(), purpose.encode(), hashlib.sha256).digest() for key in keys]


def _mac(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def can_sign() -> bool:
    return bool(load_settings(os.environ).access_keys)


def sign(purpose: str, value: str) -> str | None:
    """The signature of ``value`` for ``purpose``, or ``None`` when the app holds no key."""
    keys = _derived_keys(purpose)
    return _mac(keys[0], value) if keys else None


def verify(purpose: str, value: str, signature: str) -> bool:
    return any(hmac.compare_digest(_mac(key, value), signature) for key in _derived_keys(purpose))
