"""ce-signature and origin rules (protocol reference 3.1, 3.2, 4)."""

import hashlib
import hmac

import pytest

from shared.errors import InvalidSignature, OriginNotAllowed
from shared.verify import EXPECTED_CACHE_SIZE, SignatureVerifier, build_signature, check_origin, sign
from tests.upstream_requests import OTHER_KEY, PRIMARY_KEY, SECONDARY_KEY, signature

# Computed by hand once: HMAC-SHA256(key="key", msg="conn") as lower-case hex.
KNOWN_VECTOR = "sha256=" + hmac.new(b"key", b"conn", hashlib.sha256).hexdigest()


def test_sign_matches_an_independent_hmac() -> None:
    assert sign("key", "conn") == KNOWN_VECTOR
    assert KNOWN_VECTOR.startswith("sha256=") and len(KNOWN_VECTOR) == 7 + 64


def test_key_is_used_as_utf8_text_not_base64_decoded() -> None:
    key = "QUJDREVG"  # looks like base64; must be used verbatim
    expected = "sha256=" + hmac.new(key.encode(), b"c", hashlib.sha256).hexdigest()
    assert sign(key, "c") == expected


def test_build_signature_joins_one_entry_per_key_primary_first() -> None:
    value = build_signature([PRIMARY_KEY, SECONDARY_KEY], "c1")
    assert value == signature("c1", PRIMARY_KEY, SECONDARY_KEY)
    assert value.count("sha256=") == 2


@pytest.mark.parametrize(
    "configured",
    [(PRIMARY_KEY,), (SECONDARY_KEY,), (PRIMARY_KEY, SECONDARY_KEY), (OTHER_KEY, SECONDARY_KEY)],
)
def test_any_entry_matching_any_configured_key_passes(configured: tuple[str, ...]) -> None:
    SignatureVerifier(configured).verify(signature("c1", PRIMARY_KEY, SECONDARY_KEY), "c1")


def test_signature_from_another_key_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        SignatureVerifier([PRIMARY_KEY]).verify(signature("c1", OTHER_KEY), "c1")


def test_signature_for_another_connection_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        SignatureVerifier([PRIMARY_KEY]).verify(signature("c2", PRIMARY_KEY), "c1")


@pytest.mark.parametrize("header", [None, "", "sha256=", "garbage", "sha1=abc", ",", "sha256=zz"])
def test_missing_or_malformed_signature_is_refused(header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        SignatureVerifier([PRIMARY_KEY]).verify(header, "c1")


def test_hex_is_compared_case_insensitively_and_entries_are_trimmed() -> None:
    upper = signature("c1", PRIMARY_KEY).replace("sha256=", "").upper()
    SignatureVerifier([PRIMARY_KEY]).verify(f"sha256=deadbeef , sha256={upper} ", "c1")


def test_no_configured_key_refuses_everything() -> None:
    verifier = SignatureVerifier([])
    assert not verifier.has_keys
    with pytest.raises(InvalidSignature):
        verifier.verify(signature("c1", PRIMARY_KEY), "c1")


def test_too_many_entries_are_refused_without_hashing_them_all() -> None:
    header = ",".join([signature("c1", OTHER_KEY)] * 50 + [signature("c1", PRIMARY_KEY)])
    with pytest.raises(InvalidSignature):
        SignatureVerifier([PRIMARY_KEY]).verify(header, "c1")


def test_check_origin_returns_the_first_allowed_requested_host() -> None:
    assert check_origin(("foo.example", "wps.example"), frozenset({"wps.example"})) == "wps.example"


def test_check_origin_refuses_foreign_and_missing_origins() -> None:
    with pytest.raises(OriginNotAllowed):
        check_origin(("evil.example",), frozenset({"wps.example"}))
    with pytest.raises(OriginNotAllowed):
        check_origin((), frozenset({"wps.example"}))


def test_wildcard_allow_list_accepts_any_origin() -> None:
    assert check_origin(("anything.example",), frozenset({"*"})) == "anything.example"


def test_non_ascii_entry_is_skipped_not_fatal() -> None:
    verifier = SignatureVerifier([SECONDARY_KEY])
    verifier.verify("sha256=\u00e9\u00e9," + signature("c1", SECONDARY_KEY), "c1")
    with pytest.raises(InvalidSignature):
        verifier.verify("sha256=\u00e9\u00e9", "c1")


def test_remembered_connections_still_compare_every_request() -> None:
    """The expected entries of a connection are cached; what each request carries is not."""
    verifier = SignatureVerifier([PRIMARY_KEY])
    verifier.verify(signature("c1", PRIMARY_KEY), "c1")  # now remembered
    for forged in (signature("c1", OTHER_KEY), signature("c2", PRIMARY_KEY), "", "sha256=" + "0" * 64):
        with pytest.raises(InvalidSignature):
            verifier.verify(forged, "c1")
    with pytest.raises(InvalidSignature):
        verifier.verify(signature("c1", PRIMARY_KEY), "c2")  # c1's signature on another connection
    verifier.verify(signature("c1", PRIMARY_KEY).upper().replace("SHA256=", "sha256="), "c1")


def test_the_cache_of_expected_entries_is_bounded() -> None:
    verifier = SignatureVerifier([PRIMARY_KEY])
    for n in range(EXPECTED_CACHE_SIZE + 50):
        verifier.verify(signature(f"c{n}", PRIMARY_KEY), f"c{n}")
    assert verifier._expected.cache_info().currsize == EXPECTED_CACHE_SIZE
    verifier.verify(signature("c0", PRIMARY_KEY), "c0")  # evicted, computed again: still correct


def test_a_key_is_hashed_only_when_the_keys_before_it_did_not_match() -> None:
    verifier = SignatureVerifier([PRIMARY_KEY, SECONDARY_KEY])
    verifier.verify(signature("c1", PRIMARY_KEY, SECONDARY_KEY), "c1")
    assert verifier._expected.cache_info().misses == 1  # the primary's entry matched
    verifier.verify(signature("c1", SECONDARY_KEY), "c1")  # e.g. the primary key was rotated
    assert verifier._expected.cache_info().misses == 2
    with pytest.raises(InvalidSignature):
        verifier.verify(signature("c1", OTHER_KEY), "c1")
    assert verifier._expected.cache_info().misses == 2  # both entries remembered


def test_a_header_that_passed_passes_again_without_hashing_or_looking_up_entries() -> None:
    verifier = SignatureVerifier([PRIMARY_KEY, SECONDARY_KEY])
    header = signature("c1", PRIMARY_KEY, SECONDARY_KEY)
    verifier.verify(header, "c1")
    before = verifier._expected.cache_info()
    verifier.verify(header, "c1")
    assert verifier._expected.cache_info() == before


def test_a_remembered_header_is_a_shortcut_for_that_exact_header_and_connection_only() -> None:
    verifier = SignatureVerifier([PRIMARY_KEY])
    header = signature("c1", PRIMARY_KEY)
    verifier.verify(header, "c1")  # now remembered for c1
    flipped = header[:-1] + ("1" if header.endswith("0") else "0")
    for forged in (flipped, header + "0", header[:-1], header + "\u00e9", "sha256=" + "0" * 64):
        with pytest.raises(InvalidSignature):
            verifier.verify(forged, "c1")
    with pytest.raises(InvalidSignature):
        verifier.verify(header, "c2")
    verifier.verify(header.upper().replace("SHA256=", "sha256="), "c1")  # passes by the full check
    verifier.verify(header, "c1")


def test_remembered_headers_are_bounded() -> None:
    verifier = SignatureVerifier([PRIMARY_KEY])
    for n in range(EXPECTED_CACHE_SIZE + 10):
        verifier.verify(signature(f"c{n}", PRIMARY_KEY), f"c{n}")
        assert len(verifier._accepted) <= EXPECTED_CACHE_SIZE
    verifier.verify(signature("c0", PRIMARY_KEY), "c0")  # forgotten, checked in full: still passes
