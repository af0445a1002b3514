"""Property: whatever arrives, the adapter answers 2xx or 4xx and never raises.

Besides random headers and bodies, the cases include user events named after system and
group events (which the service posts to those routes under the URL template
``.../{event}``) and header values holding bytes that are not UTF-8, as the dev host's
aiohttp hands them over (lone surrogates). 10,000 cases per run.
"""

from __future__ import annotations

import hashlib
import hmac

import azure.functions as func
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adapter import hub_app
from tests.adapter.conftest import invoker
from tests.upstream_requests import CONNECTION_STRING, HUB, PRIMARY_KEY, event_headers

EXAMPLES = 10_000
INVOKE = invoker(hub_app.build({"WebPubSubConnectionString": CONNECTION_STRING}))
FUNCTIONS = [
    "demo_connect",
    "demo_connected",
    "demo_disconnected",
    "demo_message",
    "demo_joined",
    "demo_validate",
]
RESERVED_NAMES = ["connect", "connected", "disconnected", "joined", "left"]
HEADER_NAMES = [
    "ce-type",
    "ce-hub",
    "ce-connectionId",
    "ce-eventName",
    "ce-userId",
    "ce-signature",
    "ce-connectionState",
    "ce-subprotocol",
    "ce-physicalConnectionId",
    "Content-Type",
    "WebHook-Request-Origin",
    "Authorization",
]
# header bytes that are not UTF-8 arrive as lone surrogates (U+DC80-U+DCFF); mixed with
# ASCII and a few non-ASCII characters that are valid (é, NEL, LINE SEPARATOR)
_ascii = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=10)
_odd = st.one_of(
    st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), st.sampled_from("éß€\u0085\u2028")
)
undecodable = st.builds(lambda head, odd, tail: head + odd + tail, _ascii, _odd, _ascii)
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    undecodable,
    st.sampled_from([f"azure.webpubsub.user.{name}" for name in RESERVED_NAMES]),
    st.sampled_from(
        [
            "azure.webpubsub.sys.connect",
            "azure.webpubsub.user.message",
            "chat",
            "connect",
            "application/json",
            "text/plain",
            "e30=",
            "wps-test.webpubsub.azure.com",
        ]
    ),
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"{}", b'{"claims":{"sub":"x"}}', b'{"mqtt":{}}', b"null", b'{"group":1}', b"[]"]),
)


def sign(connection_id: str) -> str:
    """``ce-signature`` over the bytes that were sent, as the service computes it."""
    data = connection_id.encode("utf-8", "surrogateescape")
    return "sha256=" + hmac.new(PRIMARY_KEY.encode(), data, hashlib.sha256).hexdigest()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    function=st.sampled_from(FUNCTIONS),
    method=st.sampled_from(["POST", "OPTIONS", "GET", "PUT"]),
    base_event=st.sampled_from(["connect", "connected", "disconnected", "message", "joined", "x"]),
    user_kind=st.booleans(),  # send base_event as a *user* event of that name
    mutations=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=5),
    drop=st.lists(st.sampled_from(HEADER_NAMES), max_size=3),
    body=bodies,
    signed=st.booleans(),
)
def test_random_requests_never_produce_a_5xx_or_an_exception(
    function: str,
    method: str,
    base_event: str,
    user_kind: bool,
    mutations: dict[str, str],
    drop: list[str],
    body: bytes,
    signed: bool,
) -> None:
    headers = event_headers(base_event)
    if user_kind:
        headers["ce-type"] = f"azure.webpubsub.user.{base_event}"
        headers["Content-Type"] = "text/plain"
    for name in drop:
        headers.pop(name, None)
    headers.update(mutations)
    if signed and "ce-connectionId" in headers:
        headers["ce-signature"] = sign(headers["ce-connectionId"])
    request = func.HttpRequest(
        method=method, url=f"https://app.example/api/{HUB}/x", headers=headers, body=body
    )
    response = INVOKE(function, request)
    assert 200 <= response.status_code < 500, (response.status_code, response.get_body())
