"""``shared.signing``: keys derived with HKDF, never the ``ce-signature`` construction (issue 22).

Before, the key for a purpose was ``HMAC-SHA256(access key, purpose)``: exactly the
``ce-signature`` digest the service sends for a connection whose id is the purpose text (only
a space told "chat guest cookie v1" from an id). Now it is HKDF-SHA256 with its own salt, checked
here against the ``cryptography`` package's HKDF, and nothing signed for an upstream request
can sign a cookie or a name, or the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.identity import DEFAULT_GUEST_COOKIE
from shared.negotiate import NAME_PURPOSE
from shared.signing import derive_key, sign, verify
from tests.upstream_requests import CONNECTION_STRING, PRIMARY_KEY, SECONDARY_KEY

# Part of the wire format: changing it gives every guest a new id once (docs/security.md).
SALT = b"webpubsub-functions-python signing v2"
PURPOSES = [DEFAULT_GUEST_COOKIE.purpose, NAME_PURPOSE, "chat guest cookie v2"]


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WebPubSubConnectionString", CONNECTION_STRING)
    monkeypatch.setenv("WebPubSubAccessKeys", SECONDARY_KEY)


def ce_signature_digest(access_key: str, connection_id: str) -> bytes:
    """What the service signs an upstream request with (protocol reference 3.1)."""
    return hmac.new(access_key.encode(), connection_id.encode(), hashlib.sha256).digest()


def unpadded_base64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("purpose", PURPOSES)
def test_the_key_is_hkdf_sha256_with_the_salt_and_the_purpose_as_info(purpose: str) -> None:
    for access_key in (PRIMARY_KEY, SECONDARY_KEY):
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=purpose.encode())
        assert derive_key(access_key, purpose) == hkdf.derive(access_key.encode())


@pytest.mark.parametrize("purpose", PURPOSES)
def test_the_key_is_not_the_old_construction_nor_a_ce_signature(purpose: str) -> None:
    key = derive_key(PRIMARY_KEY, purpose)
    # the old construction, HMAC(access key, purpose), is the ce-signature of a connection
    # whose id is the purpose text
    assert key != ce_signature_digest(PRIMARY_KEY, purpose)
    assert len({derive_key(PRIMARY_KEY, other) for other in PURPOSES}) == len(PURPOSES)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_ce_signature_for_a_connection_named_like_the_purpose_signs_nothing(purpose: str) -> None:
    """With the old construction this digest *was* the purpose key: it forged any cookie."""
    value = "guest-AAAAAAAAAAAAAAAAAAAAAA"
    assert verify(purpose, value, sign(purpose, value))  # the control: a real signature passes
    for access_key in (PRIMARY_KEY, SECONDARY_KEY):
        leaked = ce_signature_digest(access_key, purpose)
        forged = unpadded_base64(hmac.new(leaked, value.encode(), hashlib.sha256).digest())
        assert not verify(purpose, value, forged)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_signature_is_not_the_ce_signature_over_the_same_bytes(purpose: str) -> None:
    value = "conn-1"
    signature = sign(purpose, value)
    digest = ce_signature_digest(PRIMARY_KEY, value)
    assert signature is not None
    assert signature not in {unpadded_base64(digest), digest.hex()}
    # nor does a ce-signature entry, in any of its encodings, pass as a signature
    for candidate in (unpadded_base64(digest), digest.hex(), "sha256=" + digest.hex()):
        assert not verify(purpose, value, candidate)
