"""Per-event cost through the Functions adapter vs a minimal hand-written handler.

For each event kind (OPTIONS, connect, connected, text message, JSON custom event,
disconnected) the same prebuilt ``func.HttpRequest`` goes to

* **ours**: the function ``WebPubSubHub`` registered (parse headers, check origin and
  signature, decode state and body into pydantic models, run a trivial handler, build
  the reply), and
* **baseline**: a hand-written function that reads ``ce-type``, does one HMAC compare,
  ``json.loads`` the body and returns 200 — the least any handler can do.

A connect is the first event of a connection, so the connect requests each carry a new
connection id (more of them than the signature check remembers: every one is a first);
the other kinds repeat one connection, as the later events of a connection do.

Batches of the two alternate so drift hits both equally. Prints µs/event (median, p99)
and the ratio of medians. Run: ``python -m bench.handler [--events 20000] [--runs 2]``
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
    PRIMARY_KEY,
    connect_body,
    http_request,
    validate_request,
)

Function = Callable[[func.HttpRequest], func.HttpResponse]


def build_ours() -> dict[str, Function]:
    hub = WebPubSubHub("chat", settings=load_settings({"WebPubSubConnectionString": CONNECTION_STRING}))

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


def baseline(req: func.HttpRequest) -> func.HttpResponse:
    """The minimal handler: one header, one HMAC compare, one json.loads, 200."""
    event_type = req.headers.get("ce-type")
    connection_id = req.headers.get("ce-connectionid", "")
    expected = "sha256=" + hmac.new(_KEY, connection_id.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(req.headers.get("ce-signature", "").split(",")[0], expected):
        return func.HttpResponse(status_code=401)
    body = req.get_body()
    if body and event_type != "azure.webpubsub.user.message":
        json.loads(body)
    return func.HttpResponse(status_code=200)


def new_connections(count: int) -> list[func.HttpRequest]:
    """Signed connect requests for ``count`` different connections."""
    return [http_request("connect", connect_body(), connection_id=f"conn-{n}") for n in range(count)]


# Each case: the function to call and the requests, sent in turn.
CASES: dict[str, tuple[str, list[func.HttpRequest]]] = {
    "OPTIONS validate": ("chat_validate", [validate_request()]),
    "connect": ("chat_connect", new_connections(2 * EXPECTED_CACHE_SIZE)),
    "connected": ("chat_connected", [http_request("connected")]),
    "text message": ("chat_message", [http_request("message", b"hello world", content_type="text/plain")]),
    "JSON custom event": (
        "chat_chat",
        [http_request("chat", b'{"text":"hello world","n":1}', content_type="application/json")],
    ),
    "disconnected": ("chat_disconnected", [http_request("disconnected", b'{"reason":null}')]),
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


def measure(events: int, batches: int = 10) -> list[tuple[str, float, float, float, float]]:
    ours = build_ours()
    rows = []
    for label, (name, requests) in CASES.items():
        mine_fn = ours[name]
        expected_status = mine_fn(requests[-1]).status_code
        base_expected = baseline(requests[-1]).status_code if name != "chat_validate" else 401
        if expected_status >= 300:
            raise SystemExit(f"{label}: our function answered {expected_status}")
        mine: list[float] = []
        base: list[float] = []
        per_batch = max(events // batches, 1)
        mine_requests, base_requests = itertools.cycle(requests), itertools.cycle(requests)
        gc.disable()
        try:
            for _ in range(batches):
                mine += _time_batch(mine_fn, mine_requests, per_batch, expected_status)
                base += _time_batch(baseline, base_requests, per_batch, base_expected)
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
