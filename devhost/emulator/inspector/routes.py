"""HTTP routes of the inspector: the page, its two static files, the live stream, client tokens.

    GET  /                     the page (strict CSP; text is only ever set with textContent)
    GET  /inspector/{file}     inspector.js, inspector.css, favicon.svg
    GET  /inspector/stream     WebSocket: a "hello" (history + state), then batches
    POST /inspector/token      {"hub", "userId", "roles", "groups"} -> {"url"} for the client panel

Every route is loopback-only (``guard.py``); the stream and the token API also need the
page's own ``Origin``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from aiohttp import web

from ..config import EmulatorConfig, is_valid_hub_name
from ..tokens import issue_client_token
from .feed import Feed
from .guard import forbidden, refusal

STATIC = Path(__file__).parent / "static"
FILES = {
    "index.html": "text/html",
    "inspector.js": "text/javascript",
    "inspector.css": "text/css",
    "favicon.svg": "image/svg+xml",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
PANEL_TOKEN_MINUTES = 60
MAX_TOKEN_REQUEST_BYTES = 8 * 1024
MAX_LIST = 20  # roles or groups in a panel token
MAX_NAME = 256


@cache
def _read(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def _file(request: web.Request, name: str) -> web.Response:
    reason = refusal(request, need_origin=False)
    if reason:
        return forbidden(reason)
    return web.Response(body=_read(name), content_type=FILES[name], charset="utf-8", headers=SECURITY_HEADERS)


class InspectorRoutes:
    def __init__(self, config: EmulatorConfig, feed: Feed) -> None:
        self._config = config
        self._feed = feed

    async def page(self, request: web.Request) -> web.StreamResponse:
        return _file(request, "index.html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in FILES or name == "index.html":
            return web.Response(status=404, text="not found")
        return _file(request, name)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        reason = refusal(request, need_origin=True)
        if reason:
            return forbidden(reason)
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096, compress=False)
        await ws.prepare(request)
        await self._feed.serve(request, ws)
        return ws

    async def token(self, request: web.Request) -> web.StreamResponse:
        reason = refusal(request, need_origin=True)
        if reason:
            return forbidden(reason)
        if request.content_type != "application/json":
            return _bad("send application/json")
        if (request.content_length or 0) > MAX_TOKEN_REQUEST_BYTES:
            return _bad("request too large")
        try:
            body = json.loads(await request.content.read(MAX_TOKEN_REQUEST_BYTES + 1))
        except (ValueError, RecursionError):
            return _bad("body is not JSON")
        if not isinstance(body, dict):
            return _bad("body must be a JSON object")
        hub = body.get("hub")
        user_id = body.get("userId") or None
        roles = body.get("roles") or []
        groups = body.get("groups") or []
        if not isinstance(hub, str) or not is_valid_hub_name(hub):
            return _bad("invalid hub name")
        if user_id is not None and (not isinstance(user_id, str) or len(user_id) > MAX_NAME):
            return _bad(f"userId must be a string of at most {MAX_NAME} characters")
        for name, values in (("roles", roles), ("groups", groups)):
            if (
                not isinstance(values, list)
                or len(values) > MAX_LIST
                or not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME for v in values)
            ):
                return _bad(f"{name} must be a list of at most {MAX_LIST} non-empty strings")
        path = f"/client/hubs/{hub}"
        token = issue_client_token(
            self._config.access_key,
            f"http://{request.host}{path}",
            user_id=user_id,
            roles=roles,
            groups=groups,
            minutes_to_expire=PANEL_TOKEN_MINUTES,
        )
        # The URL goes to the page's script only; the page never displays it.
        return web.json_response(
            {"url": f"ws://{request.host}{path}?access_token={token}"}, headers={"Cache-Control": "no-store"}
        )


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)
