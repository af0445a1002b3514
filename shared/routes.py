"""Where each event is served: ``<hub>/<event>`` routes and their function names.

The hub's event-handler URL template is therefore ``https://<app>/api/<hub>/{event}``:
the service substitutes ``{event}`` with ``connect``, ``connected``, ``disconnected``,
a user event name, ``joined``/``left`` for group presence, and ``validate`` for the
abuse-protection ``OPTIONS`` request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .headers import TYPE_GROUP_PREFIX, TYPE_SYSTEM_PREFIX, TYPE_USER_PREFIX

VALIDATE_EVENT = "validate"
SYSTEM_EVENTS = frozenset({"connect", "connected", "disconnected"})
GROUP_EVENTS = frozenset({"joined", "left"})
RESERVED_EVENTS = SYSTEM_EVENTS | GROUP_EVENTS | {VALIDATE_EVENT}

# A user event name becomes one URL path segment and part of a function name.
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
_FUNCTION_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def check_user_event_name(name: str) -> str:
    """Return ``name`` if it can be served on its own route, else raise ``ValueError``."""
    if not _EVENT_NAME.match(name):
        raise ValueError(f"event name {name!r} must be 1-128 letters, digits, '_', '.' or '-'")
    if name in RESERVED_EVENTS:
        raise ValueError(f"event name {name!r} is reserved")
    return name


def event_type(event: str) -> str:
    """The ``ce-type`` a route serves: ``connect`` -> ``azure.webpubsub.sys.connect``.

    With the URL template ``.../{event}`` the service also posts a *user* event that a
    client named ``connect`` to the route ``<hub>/connect``; comparing the whole type
    (kind and name), not just ``ce-eventName``, keeps it away from the system handler.
    """
    if event in SYSTEM_EVENTS:
        return TYPE_SYSTEM_PREFIX + event
    if event in GROUP_EVENTS:
        return TYPE_GROUP_PREFIX + event
    return TYPE_USER_PREFIX + event


def event_route(hub: str, event: str) -> str:
    """``chat`` + ``connect`` -> ``chat/connect`` (below the ``api`` route prefix)."""
    return f"{hub}/{event}"


def url_template(hub: str, route_prefix: str = "api") -> str:
    """The path part of the hub's event-handler URL template."""
    prefix = f"/{route_prefix.strip('/')}" if route_prefix.strip("/") else ""
    return f"{prefix}/{hub}/{{event}}"


def function_name(hub: str, event: str) -> str:
    """A unique, valid Functions name: ``chat`` + ``my.event`` -> ``chat_my_event``."""
    return _FUNCTION_NAME_UNSAFE.sub("_", f"{hub}_{event}")


def served_hubs(routes: Iterable[tuple[str, Iterable[str] | None]]) -> dict[str, frozenset[str]]:
    """The hubs an app serves and each hub's events, from its functions' (route, methods).

    A hub is a ``<hub>/validate`` route that answers ``OPTIONS`` (what ``WebPubSubHub``
    registers first); its events are its other ``<hub>/<event>`` routes that take ``POST`` (how
    the service delivers events: a ``GET`` route beside them, such as a hub's own negotiate
    endpoint, is not one). ``methods`` is ``None`` for a route that takes every method. Names
    keep the case they were registered in.
    """
    pairs = [
        (route.strip("/"), None if methods is None else {m.upper() for m in methods})
        for route, methods in routes
    ]
    hubs = {
        route.rpartition("/")[0]: set[str]()
        for route, methods in pairs
        if route.endswith("/" + VALIDATE_EVENT)
        and route.count("/") == 1
        and (methods is None or "OPTIONS" in methods)
    }
    for route, methods in pairs:
        hub, _, event = route.partition("/")
        takes_post = methods is None or "POST" in methods
        if hub in hubs and event and "/" not in event and event != VALIDATE_EVENT and takes_post:
            hubs[hub].add(event)
    return {hub: frozenset(events) for hub, events in hubs.items()}
