"""Loopback-only access to the inspector, and no cross-site use of its stream or token API.

* the peer address must be loopback (the emulator binds 127.0.0.1 by default; this holds
  even when someone binds it wider);
* the ``Host`` header must name a loopback host, so a DNS-rebinding page cannot read the
  inspector through its own host name;
* state-changing and streaming endpoints also need an ``Origin`` equal to the inspector's
  own origin, so another site open in the same browser cannot open the stream (WebSockets
  are not covered by the same-origin policy) or mint client tokens.
"""

from __future__ import annotations

from aiohttp import web

from ..guard import is_loopback_name

# /etc/hosts names for ::1 on Debian-like systems, besides what the emulator's guard accepts.
_IPV6_LOOPBACK_NAMES = {"ip6-localhost", "ip6-loopback"}


def host_is_loopback(host: str) -> bool:
    """``Host`` header value (with or without a port) names this machine."""
    host = host.strip().lower()
    if host.startswith("["):
        name = host[1:].split("]", 1)[0]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in _IPV6_LOOPBACK_NAMES or is_loopback_name(name)


def refusal(request: web.Request, *, need_origin: bool) -> str | None:
    """Why ``request`` may not use the inspector, or ``None`` if it may."""
    if request.remote is None or not is_loopback_name(request.remote):
        return "the inspector answers loopback clients only"
    if not host_is_loopback(request.host):
        return "the inspector answers requests for a loopback host only"
    if need_origin:
        origin = request.headers.get("Origin")
        if origin is None or origin.lower() != f"http://{request.host}".lower():
            return "cross-origin use of the inspector is refused"
    return None


def forbidden(reason: str) -> web.Response:
    return web.Response(status=403, text=reason, headers={"Cache-Control": "no-store"})
