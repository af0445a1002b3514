"""A minimal app built on the template, with no sample: one hub ``probe`` whose ``echo`` event
answers the caller, and ``GET /api/token`` returning a client URL (a fork's negotiate).

The smoke test's generic checks and a scenario written in the tests run against it.
"""

import json

import azure.functions as func

from shared import ConnectEvent, ConnectResponse, EventResponse, UserEvent, WebPubSubHub, get_service_client

HUB = "probe"
JSON_SUBPROTOCOL = "json.webpubsub.azure.v1"

hub = WebPubSubHub(HUB)


@hub.on_connect
def connect(event: ConnectEvent) -> ConnectResponse:
    chosen = JSON_SUBPROTOCOL if JSON_SUBPROTOCOL in event.subprotocols else None
    return ConnectResponse(user_id=event.context.user_id, subprotocol=chosen)


@hub.on_event("echo")
def echo(event: UserEvent) -> EventResponse:
    return EventResponse(data={"echo": event.data})


@hub.blueprint.route(route="token", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def token(req: func.HttpRequest) -> func.HttpResponse:
    issued = await get_service_client(HUB).get_client_access_token(user_id="probe-user", minutes_to_expire=5)
    return func.HttpResponse(json.dumps({"url": issued["url"]}), mimetype="application/json")


app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(hub.blueprint)
