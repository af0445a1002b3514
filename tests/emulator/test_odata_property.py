"""Property tests of the REST ``filter``: random well-formed filters never give a 5xx.

Filters are generated from the documented grammar (Learn: "OData filter syntax in Azure
Web PubSub"): typed expressions over ``userId``, ``connectionId``, ``groups``, the string
functions, integer literals, ``in``, ``not``/``and``/``or`` and parentheses, with random
keyword case and spacing. Well-typed ones must be accepted (202) and evaluated over live
connections; the rest are mixed into well-formed but ill-typed shapes that must get a 400.

The emulator runs on its own event loop in a thread, with real WebSocket clients (users,
no user, groups) so every filter is evaluated against connections; the unchanged sync
server SDK sends with ``filter=``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from azure.core.exceptions import HttpResponseError
from azure.messaging.webpubsubservice import WebPubSubServiceClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devhost.emulator import RunningEmulator
from devhost.emulator.app import run_emulator
from devhost.emulator.odata import FilterError, parse_filter

from .conftest import HUB, client_url, make_config, service

pytestmark = pytest.mark.e2e

# -- filter strategies ------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
STRING_LITERALS = _text.map(lambda t: "'" + t.replace("'", "''") + "'")
INT_LITERALS = (
    st.integers(-(2**40), 2**40)
    .map(lambda n: st.sampled_from([str(n), f"+{n}" if n >= 0 else str(n)]))
    .flatmap(lambda s: s)
)
SPACE = st.sampled_from([" ", "  ", "\t", " \n "])


def _word(word: str) -> st.SearchStrategy[str]:
    """A keyword or identifier in random case (they are case-insensitive)."""
    return st.sampled_from([word, word.upper(), word.lower(), word.capitalize()])


def _call(name: str, *args: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(_word(name), *args).map(lambda parts: f"{parts[0]}({', '.join(parts[1:])})")


def _binary(
    left: st.SearchStrategy[str], ops: list[str], right: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    op = st.sampled_from(ops).flatmap(_word)
    return st.tuples(left, SPACE, op, SPACE, right).map("".join)


STRING_LEAVES = st.one_of(STRING_LITERALS, _word("userId"), _word("connectionId"), st.just("null"))


def _strings(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        _call("tolower", children),
        _call("toupper", children),
        _call("trim", children),
        _call("concat", children, children),
        _call("substring", children, INT_LITERALS),
        _call("substring", children, INT_LITERALS, INT_LITERALS),
        children.map(lambda c: f"({c})"),
    )


STRINGS = st.recursive(STRING_LEAVES, _strings, max_leaves=4)
INTS = st.one_of(
    INT_LITERALS,
    _call("length", STRINGS),
    _call("length", _word("groups")),
    _call("indexof", STRINGS, STRINGS),
)
COMPARISONS = st.one_of(
    _binary(STRINGS, ["eq", "ne", "gt", "ge", "lt", "le"], STRINGS),
    _binary(INTS, ["eq", "ne", "gt", "ge", "lt", "le"], INTS),
    st.tuples(STRINGS, SPACE, _word("in"), SPACE, _word("groups")).map("".join),
    st.tuples(STRINGS, st.lists(STRINGS, min_size=1, max_size=3)).map(
        lambda p: f"{p[0]} in ({', '.join(p[1])})"
    ),
    st.tuples(INTS, st.lists(INTS, min_size=1, max_size=3)).map(lambda p: f"{p[0]} in ({', '.join(p[1])})"),
    _call("startswith", STRINGS, STRINGS),
    _call("endswith", STRINGS, STRINGS),
    _call("contains", STRINGS, STRINGS),
    st.sampled_from(["true", "false"]),
)


def _booleans(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        _binary(children, ["and", "or"], children),
        st.tuples(_word("not"), SPACE, children).map(lambda p: f"{p[0]}{p[1]}({p[2]})"),
        children.map(lambda c: f"({c})"),
    )


WELL_TYPED = st.recursive(COMPARISONS, _booleans, max_leaves=6)

# Well-formed (every token and bracket in place) but ill-typed: a value where a boolean
# belongs, or a comparison across types.
ILL_TYPED = st.one_of(
    STRINGS,
    INTS,
    _binary(st.one_of(STRING_LITERALS, _word("userId")), ["eq", "lt"], INTS),
    _binary(INTS, ["and", "or"], WELL_TYPED),
    st.tuples(_word("not"), SPACE, INTS).map("".join),
    _call("length", INTS).map(lambda c: f"{c} eq 1"),
)


# -- the in-process evaluator ---------------------------------------------------------------------


@dataclass
class Subject:
    connection_id: str
    user_id: str | None
    protocol: str | None
    groups: set[str]


SUBJECTS = [
    Subject("c1", "alice", None, {"g1", "room.a"}),
    Subject("c2", None, "json.webpubsub.azure.v1", set()),
    Subject("c3", " Bob's ", None, {"g1"}),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(WELL_TYPED)
def test_well_typed_filters_parse_and_evaluate_to_a_boolean(text: str) -> None:
    flt = parse_filter(text)
    for subject in SUBJECTS:
        assert flt.matches(subject) in (True, False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ILL_TYPED)
def test_ill_typed_filters_are_refused_with_a_filter_error(text: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(text)


# -- through the REST API, with live connections ---------------------------------------------------


@dataclass
class ThreadedEmulator:
    emulator: RunningEmulator
    loop: asyncio.AbstractEventLoop
    client: WebPubSubServiceClient | None = None

    def run(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


async def _open_clients(emu: RunningEmulator) -> tuple[aiohttp.ClientSession, list[Any]]:
    session = aiohttp.ClientSession()
    sockets = [
        await session.ws_connect(client_url(emu, user_id="alice", groups=["g1", "room.a"])),
        await session.ws_connect(client_url(emu), protocols=["json.webpubsub.azure.v1"]),
        await session.ws_connect(client_url(emu, user_id=" Bob's ", groups=["g1"])),
    ]
    return session, sockets


async def _close_clients(session: aiohttp.ClientSession, sockets: list[Any]) -> None:
    for ws in sockets:
        await ws.close()
    await session.close()


@pytest.fixture(scope="module")
def threaded_emulator() -> Iterator[ThreadedEmulator]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = ThreadedEmulator(
        asyncio.run_coroutine_threadsafe(run_emulator(make_config()), loop).result(10), loop
    )
    session, sockets = running.run(_open_clients(running.emulator))
    try:
        yield running
    finally:
        running.run(_close_clients(session, sockets))
        running.run(running.emulator.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _send_status(running: ThreadedEmulator, text: str) -> int:
    if running.client is None:
        running.client = service(running.emulator, HUB)
    try:
        running.client.send_to_all("x", content_type="text/plain", filter=text)
    except HttpResponseError as exc:
        return int(exc.status_code or 0)
    return 202


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(WELL_TYPED)
def test_rest_accepts_every_well_typed_filter(threaded_emulator: ThreadedEmulator, text: str) -> None:
    assert _send_status(threaded_emulator, text) == 202


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(WELL_TYPED, ILL_TYPED))
def test_rest_never_answers_a_5xx_to_a_well_formed_filter(
    threaded_emulator: ThreadedEmulator, text: str
) -> None:
    assert _send_status(threaded_emulator, text) in (202, 400)
