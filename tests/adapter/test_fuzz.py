"""Property: whatever arrives, the adapter answers 2xx or 4xx and never raises.

Besides random headers and bodies, the cases include user events named after system and
group events (which the service posts to those routes under the URL template
``.../{event}``) and header values holding bytes that are not UTF-8, as the dev host's
aiohttp hands them over (lone surrogates). 10,000 cases per run, each sent twice: to the
functions in this process, and as raw bytes to ``python -m devhost.functions`` serving the
same app (``tests/fuzz_http.py``), which must answer them without a 5xx or a traceback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adapter import hub_app
from tests.app_index import get_functions
from tests.fuzz_http import DevHostProcess, Figures, WireRequest, dev_host_process, header_safe, run_batch
from tests.upstream_requests import CONNECTION_STRING, HUB, PRIMARY_KEY, event_headers

EXAMPLES = 10_000
BATCH = 50  # cases per hypothesis example: sent to the dev host concurrently
APP = hub_app.build({"WebPubSubConnectionString": CONNECTION_STRING})
FUNCTIONS = {f.get_function_name(): f.get_user_function() for f in get_functions(APP)}
FUNCTION_NAMES = [
    f"{HUB}_{event}" for event in ("connect", "connected", "disconnected", "message", "joined", "validate")
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
            HUB,
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


@dataclass(frozen=True)
class EventCase:
    function: str
    method: str
    headers: dict[str, str]
    body: bytes

    def in_process(self) -> func.HttpRequest:
        return func.HttpRequest(
            method=self.method, url=f"https://app.example/api/{HUB}/x", headers=self.headers, body=self.body
        )

    def on_the_wire(self) -> WireRequest:
        """The same request for the dev host, at the function's route (``<hub>_x`` -> ``<hub>/x``)."""
        route = self.function.replace("_", "/", 1)
        headers = [(name, value) for name, value in self.headers.items() if header_safe(value)]
        return WireRequest(self.method, f"/api/{route}", headers, self.body)


# Strategies are built once, here: building them inside a draw costs hypothesis far more.
_base_events = st.sampled_from(["connect", "connected", "disconnected", "message", "joined", "x"])
_flags = st.booleans()
_dropped = st.lists(st.sampled_from(HEADER_NAMES), max_size=3)
_mutations = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=5)
_functions = st.sampled_from(FUNCTION_NAMES)
_methods = st.sampled_from(["POST"] * 5 + ["OPTIONS", "GET", "PUT"])  # mostly the events' own


@st.composite
def event_cases(draw: st.DrawFn) -> EventCase:
    base_event = draw(_base_events)
    headers = event_headers(base_event)
    if draw(_flags):  # send base_event as a *user* event of that name
        headers["ce-type"] = f"azure.webpubsub.user.{base_event}"
        headers["Content-Type"] = "text/plain"
    for name in draw(_dropped):
        headers.pop(name, None)
    headers.update(draw(_mutations))
    if draw(_flags) and "ce-connectionId" in headers:
        headers["ce-signature"] = sign(headers["ce-connectionId"])
    return EventCase(draw(_functions), draw(_methods), headers, draw(bodies))


@pytest.fixture(scope="module")
def hub_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostProcess]:
    """The same hub app, served by the dev host in a child process."""
    app_dir = tmp_path_factory.mktemp("fuzz-hub-app")
    (app_dir / "host.json").write_text('{"version": "2.0"}')
    (app_dir / "function_app.py").write_text(
        "from tests.adapter import hub_app\n"
        "from tests.upstream_requests import CONNECTION_STRING\n\n"
        'app = hub_app.build({"WebPubSubConnectionString": CONNECTION_STRING})\n'
    )
    with dev_host_process(app_dir, {"FUNCTIONS_WORKER_RUNTIME": "python"}, Path(app_dir)) as host:
        yield host


async def in_process(case: EventCase) -> int:
    """Call the function as the worker does: async ones on the loop, sync ones in a thread."""
    function = FUNCTIONS[case.function]
    if inspect.iscoroutinefunction(function):
        response = await function(case.in_process())
    else:
        response = await asyncio.to_thread(function, case.in_process())
    return int(response.status_code)


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_random_requests_never_produce_a_5xx_or_an_exception(
    hub_host: DevHostProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = Figures("events")
    loop = asyncio.new_event_loop()

    @settings(
        max_examples=EXAMPLES // BATCH,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=st.lists(event_cases(), min_size=BATCH, max_size=BATCH))
    def run(batch: list[EventCase]) -> None:
        loop.run_until_complete(run_batch(figures, hub_host, batch, in_process, EventCase.on_the_wire))

    try:
        run()
    finally:
        loop.close()
        with capsys.disabled():
            print("\n" + figures.summary())
    assert figures.in_process.cases >= EXAMPLES and figures.dev_host.cases >= EXAMPLES
