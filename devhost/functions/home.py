"""The host's own page at ``/``: what is served here, with a link to every plain GET route.

The Azure Functions host answers ``GET /`` itself (its "your Functions app is up and running"
page) because no function can claim a path outside the route prefix. The dev host does the
same, and lists the parameterless GET routes as links, so ``http://localhost:7071/`` leads to
the app's pages (the chat's ``/api/index``, say) instead of a blank 404. A Web PubSub hub's event
routes (``<hub>/validate`` answers GET too) are for the service, not for people: not listed.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from shared.routes import VALIDATE_EVENT, served_hubs

from .route_table import RouteTable
from .routes import SegmentKind

HOME_PATH = "/"
_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Functions dev host</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:2rem;max-width:40rem}}</style></head>
<body><h1>The function app is running</h1>
<p>Plain GET routes of this app:</p>
<ul>{links}</ul>
<p>Routes with parameters or other methods are listed when the host starts.</p>
</body></html>
"""


def plain_get_paths(routes: RouteTable) -> list[str]:
    """Paths of GET routes without parameters, in route-table order (no duplicates), except the
    routes of the app's Web PubSub hubs."""
    hubs = served_hubs((entry.function.route, entry.function.methods) for entry in routes.entries)
    paths: list[str] = []
    for entry in routes.entries:
        methods = entry.function.methods
        if methods is not None and "GET" not in methods:
            continue
        hub, _, event = entry.function.route.strip("/").partition("/")
        if hub in hubs and (event == VALIDATE_EVENT or event in hubs[hub]):
            continue
        if any(segment.kind is not SegmentKind.LITERAL for segment in entry.template.segments):
            continue
        if entry.path not in paths:
            paths.append(entry.path)
    return paths


def home_page(routes: RouteTable) -> web.Response:
    links = "".join(
        f'<li><a href="{escape(path)}">{escape(path)}</a></li>' for path in plain_get_paths(routes)
    )
    return web.Response(
        text=_PAGE.format(links=links or "<li>none</li>"),
        content_type="text/html",
        headers={
            "Content-Security-Policy": _CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )
