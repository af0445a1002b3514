"""``shared.routes.served_hubs``: the hubs and events an app serves, read from its routes only."""

from __future__ import annotations

import azure.functions as func

from shared import WebPubSubHub
from shared.routes import served_hubs
from tests.app_index import get_functions


def routes_of(app: func.FunctionApp) -> list[tuple[str, list[str] | None]]:
    pairs = []
    for function in get_functions(app):
        trigger = function.get_trigger()
        methods = [str(getattr(m, "value", m)) for m in trigger.methods] if trigger.methods else None
        pairs.append((trigger.route, methods))
    return pairs


def test_two_hubs_and_a_plain_route_in_one_app() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    poll, chat = WebPubSubHub("poll", env={}), WebPubSubHub("chat", env={})
    poll.on_event("vote")(lambda event: None)
    chat.on_connect(lambda event: None)
    chat.on_event("message")(lambda event: None)
    app.register_functions(poll.blueprint)
    app.register_functions(chat.blueprint)

    @app.route(route="negotiate", methods=["GET"])
    def negotiate(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("")

    assert served_hubs(routes_of(app)) == {"poll": {"vote"}, "chat": {"connect", "message"}}


def test_only_a_validate_route_that_takes_options_makes_a_hub() -> None:
    routes = [
        ("items/validate", ["POST"]),  # not the abuse-protection preflight
        ("items/connect", ["POST"]),
        ("a/b/validate", None),  # not <hub>/validate
        ("/poll/validate/", None),  # every method, slashes around
        ("poll/vote", ["POST"]),
        ("poll/vote/extra", ["POST"]),
        ("poll/negotiate", ["GET"]),  # beside the hub's events, but the service posts events
        ("poll/any", None),  # every method: POST too
    ]
    assert served_hubs(routes) == {"poll": {"vote", "any"}}


def test_an_app_without_a_hub_serves_none() -> None:
    assert served_hubs([("negotiate", ["GET"]), ("index", None)]) == {}
