"""``shared.names``: a display name must show something (template rules, no chat involved)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.names import InvalidName, normalize_name

EMPTY_LOOKING = [
    "\u0301",  # a combining accent alone
    "\u0301\u0308\u0327",  # several, stacked on nothing
    " \u0301 ",
    "\u3164",  # Hangul filler (a "letter" that draws nothing)
    "\u115f\u1160",
    "\uffa0",
    "\u2800",  # blank Braille pattern
    "\u00a0\u2003",  # no-break and em spaces
    "\u200b",  # zero-width space (Cf)
    "\u2060",  # word joiner (Cf)
]


@pytest.mark.parametrize("raw", EMPTY_LOOKING, ids=repr)
def test_names_of_only_invisible_or_combining_characters_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName):
        normalize_name(raw)


@pytest.mark.parametrize("raw", ["e\u0301", "Ω", "李", "#1", "😀"], ids=repr)
def test_a_name_with_one_visible_character_is_fine(raw: str) -> None:
    assert normalize_name(raw) == unicodedata.normalize("NFC", raw)


@given(st.text(alphabet=st.characters(categories=("Mn", "Me", "Zs")), min_size=1, max_size=10))
def test_marks_and_spaces_alone_never_make_a_name(raw: str) -> None:
    with pytest.raises(InvalidName):
        normalize_name(raw)
