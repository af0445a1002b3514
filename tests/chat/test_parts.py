"""The chat's small parts on their own: display names, message ids, per-connection limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat import ids, limits
from shared.names import MAX_NAME_LENGTH, InvalidName, clean_name, normalize_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José", "José"),
        ("Jose\u0301", "José"),
        ("李雷", "李雷"),
        (" Ada Lovelace ", "Ada Lovelace"),
        ("Ω", "Ω"),
    ],
)
def test_names_are_nfc_and_trimmed(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "x" * (MAX_NAME_LENGTH + 1),
        "\u202eadmin",
        "a\u200bb",
        "a\u2066b\u2069",
        "tab\there",
        "\ue000",
        "a\u2028b",
    ],
)
def test_invisible_reordering_and_overlong_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName):
        normalize_name(raw)


def test_principal_names_are_cleaned_not_refused() -> None:
    assert clean_name("\u202eMallory\u200b  the\tgreat", "user") == "Mallory the great"
    assert clean_name("\u200b\u202e", "user") == "user"
    assert len(clean_name("y" * 100, "user")) == MAX_NAME_LENGTH


@given(st.integers(min_value=0, max_value=10**13 - 1), st.integers(min_value=0, max_value=10**13 - 1))
def test_ids_sort_by_time_and_reverse_keys_sort_the_other_way(a: int, b: int) -> None:
    first, second = ids.new_message_id(a), ids.new_message_id(b)
    assert ids.is_message_id(first) and ids.id_time_ms(first) == a
    if a < b:
        assert first < second and ids.reverse_key(first) > ids.reverse_key(second)
    if first != second:
        assert (first < second) == (ids.reverse_key(first) > ids.reverse_key(second))


@pytest.mark.parametrize("value", [None, 5, "", "123", "1795000000000A1B2C3D4", "1795000000000a1b2c3d4x"])
def test_only_well_formed_ids_are_ids(value: object) -> None:
    assert not ids.is_message_id(value)


def test_rate_limit_window_in_the_state() -> None:
    state: dict = {"room": "lobby"}
    for n in range(3):
        next_state = limits.take_message(state, 1_000 + n, messages=3, seconds=10)
        assert next_state is not None and next_state["room"] == "lobby"
        state = next_state
    assert limits.take_message(state, 1_500, messages=3, seconds=10) is None
    assert limits.take_message(state, 11_000, messages=3, seconds=10) == {
        "room": "lobby",
        "rate": [11_000, 1],
    }
    # a state the client could not have written is treated as an empty window, never a crash
    assert limits.take_message({"rate": "nonsense"}, 5, messages=1, seconds=1) == {"rate": [5, 1]}


def test_typing_at_most_every_two_seconds() -> None:
    state = limits.take_typing({}, 10_000)
    assert state == {"typed": 10_000}
    assert limits.take_typing(state, 11_999) is None
    assert limits.take_typing(state, 12_000) == {"typed": 12_000}
