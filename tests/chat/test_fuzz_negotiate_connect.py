"""Property: negotiate and connect answer every request with a 2xx or 4xx, never a 5xx (issue 22).

The outside review found 849 of 20,922 fuzzed negotiate requests answered 500 (a guest cookie
that ``SimpleCookie`` unescapes to non-ASCII text) and ``connect`` answering 500 to
``nameSig=%C3%A9``. Here hypothesis builds negotiate requests (cookies with quoted, octal- and
backslash-escaped, non-ASCII and signed values, every query parameter, principal headers) and
signed connect requests (every query parameter, hostile and valid name signatures, claims,
subprotocols), 10,000 of each; every batch goes to the chat's functions in this process and, as
raw bytes, to ``python -m devhost.functions`` serving the repository's app (``tests/fuzz_http.py``).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import azure.functions as func
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chat.negotiate import GUEST_COOKIE
from shared.identity import guest_cookie_value
from shared.negotiate import name_signature
from shared.service import close_service_clients
from tests.chat.conftest import FUNCTIONS
from tests.chat.upstream_requests import ENDPOINT_HOST, PRIMARY_KEY, connect_body, event_headers
from tests.fuzz_http import (
    REPO,
    DevHostProcess,
    Figures,
    WireRequest,
    dev_host_process,
    header_safe,
    run_batch,
)

EXAMPLES = 10_000
BATCH = 50
SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME": "python",
    "WebPubSubConnectionString": f"Endpoint=https://{ENDPOINT_HOST};AccessKey={PRIMARY_KEY};Version=1.0;",
    "WebPubSubAllowedOrigins": ENDPOINT_HOST,
    "ChatAllowGuests": "true",
    "ChatRooms": "lobby,general,random",
    "WEBSITE_AUTH_ENABLED": "True",  # principal headers are read, so their parsing is fuzzed too
}
GUEST = "guest-AAAAAAAAAAAAAAAAAAAAAA"
REVIEW_COOKIE = f'chat_guest="{GUEST}.\\303\\251"'  # ASCII on the wire, "é" once unescaped


# -- values ---------------------------------------------------------------------------------------
_odd_chars = st.sampled_from(
    list("é\u0085\u2028\u202e\u200b\u3164\x00\x1b\\\"';,=%&+ ") + ["\udcc3", "\U0001f600"]
)
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=8), _odd_chars, st.text(max_size=8)),
    st.sampled_from(
        [
            "",
            "lobby",
            "general",
            "secret",
            "Zoé",
            "Jose\u0301",
            "\u202eevil",
            "x" * 33,
            "x" * 5000,
            "%",
            "%zz",
            "%C3%A9",
            "%C3",
            "é",
            "é" * 43,
            "A" * 43,
            "\uff21" * 43,
            GUEST,
            "aad-alice",
        ]
    ),
)
_cookie_chars = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=';,"\\')
_octal = st.integers(min_value=0, max_value=0o377).map(lambda n: f"\\{n:03o}")
_escaped = st.one_of(_octal, st.sampled_from(['\\"', "\\\\", "\\x", "\\"]), _cookie_chars)
cookie_values = st.one_of(
    texts.filter(header_safe),
    st.lists(_escaped, max_size=50).map(lambda parts: f'"{GUEST}.' + "".join(parts) + '"'),
    st.lists(_escaped, max_size=50).map(lambda parts: '"' + "".join(parts) + '"'),
    st.text(alphabet=_cookie_chars, max_size=60).map(lambda sig: f"{GUEST}.{sig}"),
    st.just("signed"),  # replaced by a valid signed cookie when the case is built
)
cookie_headers = st.one_of(
    st.none(),
    st.builds(
        lambda before, value, after: "; ".join(p for p in (before, f"chat_guest={value}", after) if p),
        st.sampled_from(["", "a=b", 'x="y"', "chat_guest=first", "$Version=1"]),
        cookie_values,
        st.sampled_from(["", "z=1", "other=\\303", "chat_guest=second", ";;"]),
    ),
    texts.filter(header_safe),
)
QUERY_NAMES = ["name", "room", "userId", "nameSig", "name", "room", "groups", "roles", "minutes", "redirect"]
queries = st.lists(st.tuples(st.sampled_from(QUERY_NAMES), texts), max_size=6)
_principal_json = st.one_of(
    st.builds(lambda name: {"claims": [{"typ": "name", "val": name}]}, texts),
    st.sampled_from([{"claims": 5}, {"claims": [5]}, [], None, {"claims": [{"typ": "name", "val": 7}]}]),
)
principal_headers = st.dictionaries(
    st.sampled_from(
        [
            "X-MS-CLIENT-PRINCIPAL-ID",
            "X-MS-CLIENT-PRINCIPAL-IDP",
            "X-MS-CLIENT-PRINCIPAL-NAME",
            "X-MS-CLIENT-PRINCIPAL",
        ]
    ),
    st.one_of(texts, _principal_json.map(lambda doc: base64.b64encode(json.dumps(doc).encode()).decode())),
    max_size=4,
).map(lambda headers: {k: v for k, v in headers.items() if header_safe(v)})


@functools.cache
def valid_cookie() -> str:
    """A guest cookie this app signed (the settings are in the environment by then)."""
    return guest_cookie_value(GUEST, GUEST_COOKIE) or ""


# -- cases ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    function: str  # the registered function's name
    method: str
    route: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes = b""

    def in_process(self) -> func.HttpRequest:
        params: dict[str, str] = {}
        for name, value in self.query:  # as the host hands them over: repeated names joined
            if value:
                params[name] = f"{params[name]},{value}" if name in params else value
        return func.HttpRequest(
            method=self.method,
            url=f"http://localhost:7071/api/{self.route}",
            headers=self.headers,
            params=params,
            body=self.body,
        )

    def on_the_wire(self) -> WireRequest:
        query = "&".join(f"{_encode(name)}={_encode(value)}" for name, value in self.query)
        target = f"/api/{self.route}" + (f"?{query}" if query else "")
        headers = [(name, value) for name, value in self.headers.items() if header_safe(value)]
        return WireRequest(self.method, target, headers, self.body)


def _encode(text: str) -> str:
    # a lone surrogate becomes bytes that are not UTF-8, percent-encoded as such
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


# Strategies are built once, here: building them inside a draw costs hypothesis far more.
_flags = st.booleans()
_forwarded_protos = st.sampled_from(["https", "http", "https, http", "é", ""])
_good_names = st.sampled_from(["Eve", "Zoé", "李雷", "a" * 32])
_users = st.one_of(st.just(GUEST), texts)
_claims_subs = texts.map(lambda value: {"sub": [value]})
_subprotocols = st.lists(
    st.sampled_from(["json.webpubsub.azure.v1", "json.reliable.webpubsub.azure.v1", "x", ""])
)
_one_in_ten = st.integers(0, 9)
_one_of_three = st.integers(0, 2)
_odd_bodies = st.binary(max_size=200)
_connection_ids = st.one_of(st.just("conn-1"), texts.filter(lambda text: bool(text) and header_safe(text)))


@st.composite
def negotiate_cases(draw: st.DrawFn) -> Case:
    headers = dict(draw(principal_headers))
    cookie = draw(cookie_headers)
    if cookie is not None:
        headers["Cookie"] = cookie.replace("chat_guest=signed", f"chat_guest={valid_cookie()}")
    if draw(_flags):
        headers["X-Forwarded-Proto"] = draw(_forwarded_protos)
    query = draw(queries)
    if draw(_flags):  # an acceptable name, so that the cookie is read (it is read after the name)
        query.insert(0, ("name", draw(_good_names)))
    return Case("negotiate", "GET", "negotiate", tuple(query), headers)


@st.composite
def connect_cases(draw: st.DrawFn) -> Case:
    user = draw(_users)
    query: dict[str, list[str]] = {}
    for name, value in draw(queries):
        query.setdefault(name, []).append(value)
    if draw(_flags):  # a valid signature for this user and one of the names, or for another user
        name = (query.get("name") or [draw(texts)])[0]
        signer = user if draw(_flags) else GUEST + "x"
        query["nameSig"] = [name_signature(signer, name) or ""]
        query.setdefault("name", [name])
    which = draw(_one_of_three)
    claims = {"sub": [user]} if which == 0 else {} if which == 1 else draw(_claims_subs)
    body = connect_body(claims=claims, query=query, subprotocols=draw(_subprotocols))
    if draw(_one_in_ten) == 0:  # now and then not the service's JSON at all
        body = draw(_odd_bodies)
    connection_id = draw(_connection_ids)
    headers = event_headers("connect", connection_id=connection_id, user_id=None, keys=())
    if draw(_flags) and header_safe(user):
        headers["ce-userId"] = user
    data = connection_id.encode("utf-8", "surrogateescape")
    headers["ce-signature"] = "sha256=" + hmac.new(PRIMARY_KEY.encode(), data, hashlib.sha256).hexdigest()
    return Case("chat_connect", "POST", "chat/connect", (), headers, body)


# -- running --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chat_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostProcess]:
    """The repository's app (the chat) served by the dev host in a child process."""
    with dev_host_process(REPO, SETTINGS, tmp_path_factory.mktemp("fuzz-chat")) as host:
        yield host


@pytest.fixture
def chat_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    for name in ("WebPubSubAccessKeys", "ChatStorage", "ChatStorage__tableServiceUri", "ChatTokenMinutes"):
        monkeypatch.delenv(name, raising=False)
    from chat import hub

    hub.configure()
    yield
    hub.configure()


async def _status_in_process(case: Case) -> int:
    result = FUNCTIONS[case.function](case.in_process())
    response = await result if inspect.isawaitable(result) else result
    return int(response.status_code)


def fuzz(
    suite: str, cases: Any, host: DevHostProcess, capsys: pytest.CaptureFixture[str], extra: Callable
) -> None:
    """Run ``EXAMPLES`` cases of ``cases`` in batches, in process then through the dev host."""
    figures = Figures(suite)
    loop = asyncio.new_event_loop()

    @settings(
        max_examples=EXAMPLES // BATCH,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=st.lists(cases, min_size=BATCH, max_size=BATCH))
    @extra
    def run(batch: list[Case]) -> None:
        loop.run_until_complete(run_batch(figures, host, batch, _status_in_process, Case.on_the_wire))

    try:
        run()
    finally:
        loop.run_until_complete(close_service_clients())
        loop.close()
        with capsys.disabled():
            print("\n" + figures.summary())
    assert figures.in_process.cases >= EXAMPLES and figures.dev_host.cases >= EXAMPLES


REVIEW_NEGOTIATE = Case("negotiate", "GET", "negotiate", (("name", "Eve"),), {"Cookie": REVIEW_COOKIE})


def _review_connect() -> Case:
    query = {"room": ["lobby"], "name": ["Admin"], "nameSig": ["é"]}  # nameSig=%C3%A9, decoded
    headers = event_headers("connect", user_id=GUEST)
    return Case("chat_connect", "POST", "chat/connect", (), headers, connect_body(query=query))


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_negotiate_never_answers_5xx(
    chat_host: DevHostProcess, chat_settings: None, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzz("negotiate", negotiate_cases(), chat_host, capsys, example(batch=[REVIEW_NEGOTIATE] * BATCH))


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_connect_never_answers_5xx(
    chat_host: DevHostProcess, chat_settings: None, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzz("connect", connect_cases(), chat_host, capsys, example(batch=[_review_connect()] * BATCH))
