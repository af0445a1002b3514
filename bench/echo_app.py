"""A minimal Functions app for ``bench/http_compare.py``: hub ``bench``, one ``message`` handler
that echoes the text back (no REST calls, unlike the chat sample). Served with
``python -m devhost.functions --module bench.echo_app``.
"""

import azure.functions as func

from shared import EventResponse, UserEvent, WebPubSubHub

hub = WebPubSubHub("bench")


@hub.on_event("message")
def message(event: UserEvent) -> EventResponse:
    return EventResponse(data=event.data)


app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(hub.blueprint)
