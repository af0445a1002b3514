"""The chat page: ``GET /api/index`` and its two static files, served by the function app.

Plain HTML, CSS and JavaScript (no build step) from ``chat/static``. A strict
Content-Security-Policy means no inline script can run even if user text ever
reached the DOM as HTML (the page only ever uses ``textContent``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import azure.functions as func

from .app import blueprint

STATIC = Path(__file__).parent / "static"
FILES = {
    "index.html": "text/html",
    "chat.js": "text/javascript",
    "chat.css": "text/css",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def _read(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def _file(name: str) -> func.HttpResponse:
    return func.HttpResponse(
        _read(name),
        mimetype=FILES[name],
        charset="utf-8",
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


@blueprint.function_name("index")
@blueprint.route(route="index", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def index(req: func.HttpRequest) -> func.HttpResponse:
    return _file("index.html")


@blueprint.function_name("static")
@blueprint.route(route="static/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def static(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name", "")
    if name not in FILES or name == "index.html":
        return func.HttpResponse("not found", status_code=404)
    return _file(name)
