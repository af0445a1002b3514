"""The chat page: ``GET /api/index`` and its static files, served by the function app.

Plain HTML, CSS and JavaScript modules (no build step) from ``chat/static``. A strict
Content-Security-Policy means no inline script can run even if user text ever reached the
DOM as HTML (the page only ever uses ``textContent``).

* ``/api/index/`` redirects to ``/api/index`` (the page's relative links need the form
  without a slash), and ``/api`` and ``/api/`` redirect to the page. ``/`` belongs to the
  Functions host (its own landing page) while the route prefix is ``api``.
* Files are re-read when they change on disk (a ``stat`` per request), and every response
  carries ``Cache-Control: no-cache`` with an ``ETag``: an edit shows on the next reload,
  without restarting the host, and an unchanged file costs a ``304``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func

from shared.identity import PRINCIPAL_ID_HEADER, platform_auth_enabled

from .app import blueprint

STATIC = Path(__file__).parent / "static"
FILES = {
    "index.html": "text/html",
    "chat.css": "text/css",
    "chat.js": "text/javascript",
    "connection.js": "text/javascript",
    "timeline.js": "text/javascript",
    "linkify.js": "text/javascript",
    "composer.js": "text/javascript",
    "sidebar.js": "text/javascript",
    "dom.js": "text/javascript",
    "requests.js": "text/javascript",
    "rooms.js": "text/javascript",
    "people.js": "text/javascript",
    "menu.js": "text/javascript",
    "reactions.js": "text/javascript",
    "dialogs.js": "text/javascript",
    "members.js": "text/javascript",
    "message-actions.js": "text/javascript",
    "history-loader.js": "text/javascript",
    "reads.js": "text/javascript",
    "typing.js": "text/javascript",
    "scroll.js": "text/javascript",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class _Cached:
    stamp: tuple[int, int]  # (mtime_ns, size): a change on disk invalidates the entry
    body: bytes
    etag: str


_cache: dict[str, _Cached] = {}


def _load(name: str) -> _Cached:
    path = STATIC / name
    info = path.stat()
    stamp = (info.st_mtime_ns, info.st_size)
    cached = _cache.get(name)
    if cached is None or cached.stamp != stamp:
        body = path.read_bytes()
        cached = _Cached(stamp, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        _cache[name] = cached
    return cached


GUEST_FLAG = b'<meta name="chat-auth" content="guest">'
SIGNED_IN_FLAG = b'<meta name="chat-auth" content="signed-in">'


def _signed_in(req: func.HttpRequest) -> bool:
    """App Service Authentication signed this visitor in (its headers count only when it is on)."""
    return platform_auth_enabled() and bool(req.headers.get(PRINCIPAL_ID_HEADER))


def _page(req: func.HttpRequest) -> _Cached:
    """index.html, telling the script whether to skip the name prompt (a flag, no user data)."""
    cached = _load("index.html")
    if not _signed_in(req):
        return cached
    body = cached.body.replace(GUEST_FLAG, SIGNED_IN_FLAG)
    return replace(cached, body=body, etag=cached.etag[:-1] + '-s"')


def _file(req: func.HttpRequest, name: str) -> func.HttpResponse:
    cached = _page(req) if name == "index.html" else _load(name)
    # private: the page differs for signed-in visitors, so no shared cache may keep it.
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache, private", "ETag": cached.etag}
    if cached.etag in (req.headers.get("if-none-match") or ""):
        return func.HttpResponse(status_code=304, headers=headers)
    return func.HttpResponse(cached.body, mimetype=FILES[name], charset="utf-8", headers=headers)


def _redirect(location: str) -> func.HttpResponse:
    return func.HttpResponse(status_code=302, headers={"Location": location, "Cache-Control": "no-store"})


def _path_of(req: func.HttpRequest) -> str:
    # One leading slash: "//host/..." would be a protocol-relative URL in a Location header.
    path: str = urlsplit(req.url).path
    return "/" + path.lstrip("/")


@blueprint.function_name("index")
@blueprint.route(route="index", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def index(req: func.HttpRequest) -> func.HttpResponse:
    path = _path_of(req)
    if path.endswith("/"):  # /api/index/ would resolve static/chat.js under /api/index/
        query = urlsplit(req.url).query
        return _redirect(path.rstrip("/") + (f"?{query}" if query else ""))
    return _file(req, "index.html")


@blueprint.function_name("static")
@blueprint.route(route="static/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def static(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name", "")
    if name not in FILES or name == "index.html":
        return func.HttpResponse("not found", status_code=404)
    return _file(req, name)


@blueprint.function_name("home")
@blueprint.route(route="{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def home(req: func.HttpRequest) -> func.HttpResponse:
    """``/api`` and ``/api/`` lead to the page; any other unknown path is a plain 404."""
    if req.route_params.get("path"):
        return func.HttpResponse("not found", status_code=404)
    return _redirect(_path_of(req).rstrip("/") + "/index")
