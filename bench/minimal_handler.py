"""The yardstick for ``bench/handler.py`` and ``bench/coldstart.py``: a minimal hand-written handler.

It does the least an event handler can do, with no check beyond one HMAC compare, but the
same application work and the same reply as the template's functions (``bench/handler.py``
compares the two replies before it measures). It imports nothing of this repository's
app, so a fresh interpreter that imports it pays for its dependencies only.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import azure.functions as func

from tests.upstream_requests import ENDPOINT_HOST, PRIMARY_KEY

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
