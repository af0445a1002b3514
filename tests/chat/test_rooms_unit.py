"""The rooms feature's small parts on their own: ids, the state the access check leaves
behind, emoji, reactions, names, limits, and connect's guest re-check."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat import limits, reactions
from chat.access import viewing
from chat.display_names import ReservedName, check_chat_name
from chat.rooms import Kind, Role, dm_id, kind_of_id, new_private_id
from shared.events import ConnectionContext
from tests.chat.conftest import Invoke
from tests.chat.recorder import RestRecorder
from tests.chat.upstream_requests import connect_body, http_request

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def context(state: dict) -> ConnectionContext:
    return ConnectionContext(hub="chat", connection_id="c", event_name="chat", event_type="x", state=state)


room_like = st.sampled_from([new_private_id(), dm_id("a", "b"), "lobby", "~r", "private", "dm", "owner"])


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(st.sampled_from(["room", "kind", "role", "name"]), room_like | json_values))
def test_any_state_means_a_room_the_state_could_hold_never_a_crash(state: dict) -> None:
    where = viewing(context(state))
    assert where.kind in set(Kind) and where.role in set(Role)
    if where.kind is not Kind.PUBLIC:  # only an id of that shape, with its kind, as we write them
        assert state["room"] == where.room_id and kind_of_id(where.room_id) is where.kind


def test_a_private_room_in_the_state_needs_its_kind_and_shape() -> None:
    room = new_private_id()
    assert viewing(context({"room": room, "kind": "private", "role": "owner"})).role is Role.OWNER
    assert viewing(context({"room": room, "kind": "dm"})).room_id == "lobby"  # wrong kind
    assert viewing(context({"room": room})).room_id == "lobby"  # no kind: never trusted
    assert viewing(context({"room": "~r" + "x" * 5, "kind": "private"})).room_id == "lobby"


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_a_dm_id_is_the_same_whoever_starts_it(a: str, b: str) -> None:
    assert dm_id(a, b) == dm_id(b, a)
    assert kind_of_id(dm_id(a, b)) is Kind.DM
    if a != b:
        assert dm_id(a, b) != dm_id(a, a)


def test_no_public_room_can_take_a_private_id(monkeypatch: pytest.MonkeyPatch) -> None:
    from chat.config import allowed_rooms

    monkeypatch.setenv("ChatRooms", "lobby,~rAAAAAAAAAAAAAAAAAAAAAA,~x")
    assert allowed_rooms() == ("lobby",)


@pytest.mark.parametrize("emoji", ["👍", "👍🏽", "👩‍👩‍👧", "🇫🇷", "1️⃣", "#️⃣", "❤️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"])
def test_one_emoji_is_accepted(emoji: str) -> None:
    assert reactions.check_emoji(emoji) == emoji


@pytest.mark.parametrize(
    "value", ["", "a", "1", "#", "👍👍", "👍\u0301", "👍 ", "\u200d", "ab", None, 5, ["👍"], "🇫"]
)
def test_anything_but_one_emoji_is_refused(value: object) -> None:
    if value == "🇫":  # a lone regional indicator is a pictograph-free symbol: still one grapheme
        assert reactions.check_emoji(value) == value
        return
    with pytest.raises(reactions.InvalidEmoji):
        reactions.check_emoji(value)


def test_a_tally_counts_each_user_once_and_caps_distinct_emoji() -> None:
    tally = reactions.apply([], "👍", "ann", True)
    tally = reactions.apply(tally, "👍", "ann", True)
    tally = reactions.apply(tally, "👍", "bob", True)
    assert tally == [("👍", ["ann", "bob"])]
    assert reactions.apply(tally, "👍", "ann", False) == [("👍", ["bob"])]
    assert reactions.apply([("👍", ["bob"])], "👍", "bob", False) == []
    full = [(chr(0x1F600 + n), ["x"]) for n in range(reactions.MAX_EMOJI_PER_MESSAGE)]
    with pytest.raises(reactions.TooManyReactions):
        reactions.apply(full, "🙃", "y", True)
    assert reactions.apply(full, "🙃", "y", False) == full  # taking back what is not there
    assert reactions.tally_of({"reactions": json.dumps([["👍", ["a"]]]), "version": 3}).to_json() == [
        {"emoji": "👍", "count": 1, "users": ["a"]}
    ]
    assert reactions.tally_of({"reactions": "garbage", "version": "x"}) == reactions.Tally([], 0)


@pytest.mark.parametrize(
    "name", ["You", "you", "ＹＯＵ", "Y o u", "you.", "Server", "SYSTEM", "Admin", "Bob joined", "Bob left",
             "Eve is typing", "Server: restarting", "you: hi", "Mallory joined #lobby"]
)  # fmt: skip
def test_names_that_pass_for_the_page_words_are_reserved(name: str) -> None:
    with pytest.raises(ReservedName):
        check_chat_name(name)


@pytest.mark.parametrize("name", ["Youssef", "Yousra", "Serverina", "Leftie", "Joined Forces Inc", "Ann"])
def test_ordinary_names_are_not_reserved(name: str) -> None:
    assert check_chat_name(name) == name


def test_each_class_of_event_has_its_own_window() -> None:
    state: dict = {"room": "lobby"}
    for n in range(20):
        next_state, _ = limits.take_event(state, "history" if n % 2 else "members", 1_000 + n)
        assert next_state is not None
        state = next_state
    refused, limit = limits.take_event(state, "rooms", 1_500)
    assert refused is None and (limit.events, limit.seconds) == (20, 10)
    allowed, _ = limits.take_event(state, "react", 1_500)  # another class: its own window
    assert allowed is not None and allowed["room"] == "lobby"
    later, _ = limits.take_event(state, "history", 11_001)
    assert later is not None
    garbage, _ = limits.take_event({"rl": "nonsense"}, "open", 5)
    assert garbage == {"rl": {"open": [5, 1]}}


async def test_a_guest_token_cannot_connect_once_sign_in_is_required(
    recorder: RestRecorder, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    guest = http_request("connect", connect_body(query={}), user_id="guest-AAAAAAAAAAAAAAAAAAAAAA")
    assert (await invoke("chat_connect", guest)).status_code == 200
    monkeypatch.setenv("ChatAllowGuests", "false")
    refused = await invoke(
        "chat_connect",
        http_request("connect", connect_body(query={}), user_id="guest-AAAAAAAAAAAAAAAAAAAAAA"),
    )
    assert refused.status_code == 401
    signed_in = await invoke(
        "chat_connect", http_request("connect", connect_body(query={}), user_id="aad-1234")
    )
    assert signed_in.status_code == 200


async def test_connect_refuses_a_private_room_without_storage_and_an_unknown_room(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    for room in (new_private_id(), dm_id("a", "b"), "attic"):
        response = await invoke("chat_connect", http_request("connect", connect_body(query={"room": [room]})))
        assert response.status_code == 403, room
