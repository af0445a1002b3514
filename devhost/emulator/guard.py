"""Loopback guard: refuse requests whose ``Host`` or ``Origin`` names another site.

The emulator's default key is public, so anything that can reach it can mint tokens. Two
browser routes reach a loopback server from a hostile page:

* **cross-site WebSockets**: browsers do not apply CORS to WebSocket upgrades, they only
  send ``Origin``; a page on ``https://evil.example`` could connect and act as any user;
* **DNS rebinding**: ``evil.example`` re-resolved to 127.0.0.1 makes the page same-origin,
  so only the ``Host`` header (``evil.example:8080``) tells the request apart. The client
  token audience is built from ``Host`` too, so checking it also pins the audience.

So every request must name an allowed host in ``Host`` and, when it sends ``Origin`` (browsers
do; SDKs and servers do not), in ``Origin`` as well. Allowed by default: ``localhost`` and
``*.localhost`` (browsers resolve those to loopback themselves, never through DNS), loopback
IP literals (``127.0.0.0/8``, ``::1``), the bind address and the public host name of the
connection string; ``--allow-host NAME`` adds names and ``--allow-host '*'`` turns the guard off.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ANY_HOST = "*"
_UNSPECIFIED = {"0.0.0.0", "::", ""}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback_name(name: str) -> bool:
    """``localhost``, ``*.localhost`` or a loopback IP literal."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(authority: str) -> str | None:
    """``name[:port]`` or ``[v6]:port`` -> lower-case name (``None`` if malformed)."""
    try:
        parts = urlsplit("//" + authority)
        name = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    return name.rstrip(".") if name else None


class LoopbackGuard:
    """Decides whether a request's ``Host``/``Origin`` are acceptable."""

    def __init__(self, extra_names: Iterable[str] = ()) -> None:
        names = {n.strip().lower().strip("[]") for n in (*LOOPBACK_NAMES, *extra_names)}
        self.allow_any = ANY_HOST in names
        self.names = frozenset(n for n in names if n not in _UNSPECIFIED and n != ANY_HOST)

    def allows(self, name: str | None) -> bool:
        return name is not None and (name in self.names or is_loopback_name(name))

    def refusal(self, host: str | None, origin: str | None) -> str | None:
        """Why the request is refused, or ``None`` when it may pass."""
        if self.allow_any:
            return None
        if not self.allows(_host_name(host or "")):
            return "Host header is not an allowed name (see --allow-host)"
        if origin is not None:
            parts = urlsplit(origin.strip())
            if parts.scheme not in ("http", "https") or not self.allows(_host_name(parts.netloc)):
                return "Origin is not an allowed site (see --allow-host)"
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        reason = self.refusal(request.headers.get("Host"), request.headers.get("Origin"))
        if reason is not None:
            return web.Response(status=403, text=reason)
        return await handler(request)
