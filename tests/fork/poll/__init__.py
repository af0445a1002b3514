"""A live poll: what a fork writes to replace the chat (the fork test copies it into a fork).

Hub ``poll``: people negotiate (``GET /api/poll/negotiate?name=``), connect only with the URL the
app gave them, and send ``vote`` events (``{"option": "tea"}``); each vote is stored once in
Table Storage however often the service retries it, and everyone gets the new totals.
"""

from __future__ import annotations

from collections import Counter

import azure.functions as func
from azure.core.exceptions import AzureError

from shared import (
    ConnectErrorResponse,
    ConnectEvent,
    ConnectResponse,
    EventResponse,
    UserEvent,
    WebPubSubHub,
    get_service_client,
)
from shared.claims import claim, release
from shared.negotiate import negotiate_response, signed_name
from shared.tables import get_table

HUB = "poll"
OPTIONS = ("tea", "coffee")
VOTERS = "voters"  # the group everyone joins
TABLE = "votes"

blueprint = func.Blueprint()
hub = WebPubSubHub(HUB, blueprint)


@blueprint.function_name("poll_negotiate")  # its own name and route: it may sit beside the chat's
@blueprint.route(route="poll/negotiate", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    return await negotiate_response(req, HUB, allow_guests=True)


@hub.on_connect
def connect(event: ConnectEvent) -> ConnectResponse | ConnectErrorResponse:
    user_id = event.context.user_id
    if not user_id or signed_name(event, user_id) is None:  # not a URL from our negotiate
        return ConnectErrorResponse(status=401, detail="unknown user")
    return ConnectResponse(groups=[VOTERS])


@hub.on_event("vote")
async def vote(event: UserEvent) -> EventResponse:
    option = event.data.get("option") if isinstance(event.data, dict) else None
    if option not in OPTIONS:
        return EventResponse(data={"kind": "error", "reason": f"vote for one of {', '.join(OPTIONS)}"})
    table = get_table("PollStorage", TABLE)
    if table is None:
        return EventResponse(data={"kind": "error", "reason": "no storage configured"})
    counted = await claim(table, HUB, event.context, {"option": option})
    rows = await table.query("PartitionKey eq @poll", {"poll": HUB}, select=["option"])
    totals = dict(Counter(row["option"] for row in rows))
    if counted.first:  # not a retry of a vote already counted and sent
        message = {"kind": "totals", "totals": totals}
        try:
            await get_service_client(HUB).send_to_group(VOTERS, message, content_type="application/json")
        except AzureError:
            await release(table, HUB, event.context)  # the service retries: count and send it then
            raise
    return EventResponse(data={"kind": "results", "totals": totals})
