"""ce-connectionState: one encoding, defensive decoding, a size guard."""

import base64
import json

import pytest

from shared.errors import InvalidHeader, StateTooLarge
from shared.state import EMPTY_STATE, MAX_STATE_BYTES, decode_state, encode_state


def test_encoding_is_base64_of_a_json_object() -> None:
    encoded = encode_state({"room": "lobby", "n": 1})
    assert json.loads(base64.b64decode(encoded)) == {"room": "lobby", "n": 1}


def test_round_trip_keeps_unicode() -> None:
    state = {"name": "Zoë 🐍", "nested": {"a": [1, 2]}}
    assert decode_state(encode_state(state)) == state


def test_clearing_is_the_encoding_of_an_empty_object() -> None:
    assert encode_state({}) == EMPTY_STATE == "e30="
    assert decode_state(EMPTY_STATE) == {}


def test_absent_state_decodes_to_empty() -> None:
    assert decode_state(None) == {}
    assert decode_state("") == {}


@pytest.mark.parametrize(
    "corrupt",
    [
        "not base64!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1,2]").decode(),
        base64.b64encode(b'"text"').decode(),
        base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_corrupt_state_is_refused_not_silently_reset(corrupt: str) -> None:
    with pytest.raises(InvalidHeader) as info:
        decode_state(corrupt)
    assert info.value.status == 400


def test_oversized_incoming_state_is_refused() -> None:
    with pytest.raises(InvalidHeader):
        decode_state("A" * (MAX_STATE_BYTES + 4))


def test_oversized_outgoing_state_is_a_handler_error() -> None:
    with pytest.raises(StateTooLarge) as info:
        encode_state({"blob": "x" * MAX_STATE_BYTES})
    assert info.value.status == 500


def test_non_json_state_is_a_handler_error() -> None:
    with pytest.raises(StateTooLarge):
        encode_state({"when": object()})
