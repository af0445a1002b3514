"""Short HMAC signatures with a key the app already holds: no new secret to type or store.

The Web PubSub access keys (the ones that check ``ce-signature``) are the input keying
material of HKDF-SHA256 (RFC 5869) with a salt that names this use and the ``purpose`` as
its info, so each purpose (a guest cookie, a display name in a client URL) gets its own key:
a signature made for one use is worthless for another, and neither reveals the access key
nor shares a construction with ``ce-signature`` (a plain HMAC of the connection id).

Values are signed with the first key and accepted with any (key rotation: once both Web
PubSub keys have been regenerated, old signatures stop verifying). Signatures are URL-safe
base64 without padding; anything else (non-ASCII text included) simply does not verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping

from .settings import load_settings

_SALT = b"webpubsub-functions-python signing v2"
_SIGNATURE_LENGTH = 43  # base64 of a SHA-256 digest, unpadded


def derive_key(access_key: str, purpose: str) -> bytes:
    """HKDF-SHA256(ikm=access key, salt=_SALT, info=purpose), one 32-byte block."""
    pseudo_random_key = hmac.new(_SALT, access_key.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(pseudo_random_key, purpose.encode("utf-8") + b"\x01", hashlib.sha256).digest()


def _keys(purpose: str, env: Mapping[str, str] | None) -> list[bytes]:
    access_keys = load_settings(os.environ if env is None else env).access_keys
    return [derive_key(key, purpose) for key in access_keys]


def _mac(key: bytes, value: str) -> bytes:
    digest = hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=")


def can_sign(env: Mapping[str, str] | None = None) -> bool:
    """Whether the app holds a key to sign with (keyless mode holds none)."""
    return bool(load_settings(os.environ if env is None else env).access_keys)


def sign(purpose: str, value: str, env: Mapping[str, str] | None = None) -> str | None:
    """The signature of ``value`` for ``purpose``, or ``None`` when the app holds no key."""
    keys = _keys(purpose, env)
    return _mac(keys[0], value).decode("ascii") if keys else None


def verify(purpose: str, value: str, signature: object, env: Mapping[str, str] | None = None) -> bool:
    """Whether ``signature`` is ``value``'s for ``purpose`` under any configured key.

    Never raises for what a client sent: a non-string, non-ASCII or wrong-length signature
    is simply not valid (compared as bytes, in constant time per key).
    """
    if not isinstance(signature, str) or len(signature) != _SIGNATURE_LENGTH or not signature.isascii():
        return False
    given = signature.encode("ascii")
    return any(hmac.compare_digest(_mac(key, value), given) for key in _keys(purpose, env))
