"""Property: whatever arrives, the adapter answers 2xx or 4xx and never raises."""

from __future__ import annotations

import azure.functions as func
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adapter import hub_app
from tests.adapter.conftest import invoker
from tests.upstream_requests import CONNECTION_STRING, PRIMARY_KEY, event_headers, signature

INVOKE = invoker(hub_app.build({"WebPubSubConnectionString": CONNECTION_STRING}))
FUNCTIONS = ["chat_connect", "chat_connected", "chat_message", "chat_joined", "chat_validate"]
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
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
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


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    function=st.sampled_from(FUNCTIONS),
    method=st.sampled_from(["POST", "OPTIONS", "GET", "PUT"]),
    base_event=st.sampled_from(["connect", "connected", "message", "joined", "x"]),
    mutations=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=5),
    drop=st.lists(st.sampled_from(HEADER_NAMES), max_size=3),
    body=bodies,
    signed=st.booleans(),
)
def test_random_requests_never_produce_a_5xx_or_an_exception(
    function: str,
    method: str,
    base_event: str,
    mutations: dict[str, str],
    drop: list[str],
    body: bytes,
    signed: bool,
) -> None:
    headers = event_headers(base_event)
    for name in drop:
        headers.pop(name, None)
    headers.update(mutations)
    if signed and "ce-connectionId" in headers:
        headers["ce-signature"] = signature(headers["ce-connectionId"], PRIMARY_KEY)
    request = func.HttpRequest(
        method=method, url="https://app.example/api/chat/x", headers=headers, body=body
    )
    response = INVOKE(function, request)
    assert 200 <= response.status_code < 500, (response.status_code, response.get_body())
