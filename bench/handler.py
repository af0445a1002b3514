"""Per-event cost through the Functions adapter vs a minimal hand-written handler.

For each event kind (OPTIONS, connect, connected, text message, JSON custom event,
disconnected) the same prebuilt ``func.HttpRequest`` goes to

* **ours**: the function ``WebPubSubHub`` registered (parse and check the ``ce-*`` headers,
  hub, route, origin and signature, decode state and body into pydantic models, run the
  handler, build the reply), and
* **baseline**: hand-written functions that do the least a handler can do, with no check
  beyond one HMAC compare, but the same application work and the same reply as ours
  (``_check_same_reply`` refuses to measure otherwise). Each side decodes the body into
  what its handler reads (ours: the typed event; baseline: ``json.loads`` for JSON
  bodies, a UTF-8 decode for text) and answers:

  - OPTIONS validate: 200 with ``WebHook-Allowed-Origin`` (ours: built in; baseline:
    compares the origin with the service's host);
  - connect: 200 JSON ``{"userId": <ce-userId>, "groups": ["lobby"]}`` (ours: the handler
    returns ``ConnectResponse(user_id=event.context.user_id, groups=["lobby"])``;
    baseline: ``json.dumps``);
  - JSON custom event: 200 JSON ``{"ok": true}`` (ours: ``EventResponse(data={"ok": True})``);
  - connected, disconnected, text message: 204 (ours: the handler returns ``None``).

A connect is the first event of a connection, so the connect requests each carry a new
connection id (twice as many as the signature check remembers: every one is a first);
the other kinds repeat one connection, as the later events of a connection do.

Batches of 100 requests alternate between the two (a couple of milliseconds each), so a
slowdown of the machine lasting longer than that hits both sides alike. Prints µs/event
(median, p99) and the ratio of medians. Run: ``python -m bench.handler [--events 20000] [--runs 2]``
(``--runs``: back-to-back repeats, then the range of each ratio).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import itertools
import json
import statistics
import time
from collections.abc import Callable, Iterator

import azure.functions as func

from shared import ConnectEvent, ConnectResponse, EventResponse, UserEvent, WebPubSubHub
from shared.settings import load_settings
from shared.verify import EXPECTED_CACHE_SIZE
from tests.app_index import get_functions
from tests.upstream_requests import (
    CONNECTION_STRING,
    ENDPOINT_HOST,
    HUB,
    PRIMARY_KEY,
    connect_body,
    http_request,
    validate_request,
)

Function = Callable[[func.HttpRequest], func.HttpResponse]


def build_ours() -> dict[str, Function]:
    hub = WebPubSubHub(HUB, settings=load_settings({"WebPubSubConnectionString": CONNECTION_STRING}))

    @hub.on_connect
    def connect(event: ConnectEvent) -> ConnectResponse:
        return ConnectResponse(user_id=event.context.user_id, groups=["lobby"])

    @hub.on_connected
    def connected(event: object) -> None:
        return None

    @hub.on_disconnected
    def disconnected(event: object) -> None:
        return None

    @hub.on_event("message")
    def message(event: UserEvent) -> None:
        return None

    @hub.on_event("chat")
    def chat(event: UserEvent) -> EventResponse:
        return EventResponse(data={"ok": True})

    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(hub.blueprint)
    return {f.get_function_name(): f.get_user_function() for f in get_functions(app)}


_KEY = PRIMARY_KEY.encode()
_CONNECT = "azure.webpubsub.sys.connect"
_TEXT_MESSAGE = "azure.webpubsub.user.message"
_JSON_EVENT = "azure.webpubsub.user.chat"


def baseline(req: func.HttpRequest) -> func.HttpResponse:
    """The minimal event handler: one HMAC compare, decode the body, the same reply as ours."""
    event_type = req.headers.get("ce-type")
    connection_id = req.headers.get("ce-connectionid", "")
    expected = "sha256=" + hmac.new(_KEY, connection_id.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(req.headers.get("ce-signature", "").split(",")[0], expected):
        return func.HttpResponse(status_code=401)
    body = req.get_body()
    if event_type == _TEXT_MESSAGE:
        body.decode("utf-8")
        return func.HttpResponse(status_code=204)
    if body:
        json.loads(body)
    if event_type == _CONNECT:
        reply = {"userId": req.headers.get("ce-userid"), "groups": ["lobby"]}
        return func.HttpResponse(json.dumps(reply), mimetype="application/json")
    if event_type == _JSON_EVENT:
        return func.HttpResponse(json.dumps({"ok": True}), mimetype="application/json")
    return func.HttpResponse(status_code=204)


def baseline_validate(req: func.HttpRequest) -> func.HttpResponse:
    """The minimal abuse-protection answer: the service's host gets 200 and the same header."""
    origin = req.headers.get("webhook-request-origin")
    if origin != ENDPOINT_HOST:
        return func.HttpResponse(status_code=403)
    return func.HttpResponse(status_code=200, headers={"WebHook-Allowed-Origin": origin})


def new_connections(count: int) -> list[func.HttpRequest]:
    """Signed connect requests for ``count`` different connections."""
    return [http_request("connect", connect_body(), connection_id=f"conn-{n}") for n in range(count)]


# Each case: our function's name and the requests, sent in turn (the baseline is
# ``baseline`` for every case but OPTIONS, which ``baseline_validate`` answers).
CASES: dict[str, tuple[str, list[func.HttpRequest]]] = {
    "OPTIONS validate": (f"{HUB}_validate", [validate_request()]),
    # Twice what the signature check remembers (EXPECTED_CACHE_SIZE connections per key,
    # two keys): each connect is hashed as a connection's first event is.
    "connect": (f"{HUB}_connect", new_connections(4 * EXPECTED_CACHE_SIZE)),
    "connected": (f"{HUB}_connected", [http_request("connected")]),
    "text message": (f"{HUB}_message", [http_request("message", b"hello world", content_type="text/plain")]),
    "JSON custom event": (
        f"{HUB}_chat",
        [http_request("chat", b'{"text":"hello world","n":1}', content_type="application/json")],
    ),
    "disconnected": (f"{HUB}_disconnected", [http_request("disconnected", b'{"reason":null}')]),
}


def _time_batch(
    function: Function, requests: Iterator[func.HttpRequest], count: int, expect: int
) -> list[float]:
    samples = []
    clock = time.perf_counter_ns
    for _ in range(count):
        request = next(requests)
        start = clock()
        response = function(request)
        samples.append((clock() - start) / 1000)
        if response.status_code != expect:
            raise SystemExit(f"unexpected status {response.status_code}")
    return samples


def _check_same_reply(label: str, mine: func.HttpResponse, base: func.HttpResponse) -> int:
    """Both sides must succeed with the same status, Content-Type and (JSON-equal) body."""
    if mine.status_code >= 300:
        raise SystemExit(f"{label}: our function answered {mine.status_code}")
    mine_body, base_body = mine.get_body(), base.get_body()
    same = (
        mine.status_code == base.status_code
        and mine.mimetype == base.mimetype
        and dict(mine.headers) == dict(base.headers)
        and (json.loads(mine_body) == json.loads(base_body) if mine_body else not base_body)
    )
    if not same:
        raise SystemExit(f"{label}: ours and the baseline reply differently")
    return mine.status_code


def measure(events: int, batch: int = 100) -> list[tuple[str, float, float, float, float]]:
    ours = build_ours()
    rows = []
    for label, (name, requests) in CASES.items():
        mine_fn = ours[name]
        base_fn = baseline_validate if name == f"{HUB}_validate" else baseline
        expected_status = _check_same_reply(label, mine_fn(requests[-1]), base_fn(requests[-1]))
        mine: list[float] = []
        base: list[float] = []
        mine_requests, base_requests = itertools.cycle(requests), itertools.cycle(requests)
        gc.disable()
        try:
            for _ in range(max(events // batch, 1)):
                mine += _time_batch(mine_fn, mine_requests, batch, expected_status)
                base += _time_batch(base_fn, base_requests, batch, expected_status)
        finally:
            gc.enable()
        rows.append(
            (
                label,
                statistics.median(mine),
                statistics.quantiles(mine, n=100)[98],
                statistics.median(base),
                statistics.quantiles(base, n=100)[98],
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20000, help="requests per event kind and side")
    parser.add_argument("--runs", type=int, default=1, help="measure this many times back to back")
    args = parser.parse_args()
    ratios: dict[str, list[float]] = {}
    for run in range(1, args.runs + 1):
        rows = measure(args.events)
        if args.runs > 1:
            print(f"run {run} of {args.runs}")
        print(f"{'event':<20}{'ours p50 µs':>12}{'ours p99':>10}", end="")
        print(f"{'base p50':>10}{'base p99':>10}{'ratio p50':>11}")
        for label, m50, m99, b50, b99 in rows:
            print(f"{label:<20}{m50:>12.1f}{m99:>10.1f}{b50:>10.1f}{b99:>10.1f}{m50 / b50:>10.2f}x")
            ratios.setdefault(label, []).append(m50 / b50)
        worst = max(m50 / b50 for _, m50, _, b50, _ in rows)
        print(f"worst ratio {worst:.2f}x (target <= 2.00x)")
    if args.runs > 1:
        print(f"ratio range over {args.runs} runs:")
        for label, values in ratios.items():
            print(f"  {label:<20}{min(values):.2f}-{max(values):.2f}x")


if __name__ == "__main__":
    main()
