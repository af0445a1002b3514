"""The data-plane REST API under ``/api/hubs/{hub}/...`` (protocol reference 9).

Routing is done on the **raw** path: it is split on ``/`` first and each segment is
percent-decoded afterwards, so a user id containing ``%2F`` stays one segment. Every
call needs an HS256 bearer token whose ``aud`` is the request URL (with or without
the query). Status codes follow what ``azure-messaging-webpubsubservice`` 1.3.0
expects (sends 202, deletes and closes 204, adds and grants 200, HEAD 200/404).
Errors are ``{"code", "message"}`` with an ``x-ms-error-code`` header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from .clients import ClientEndpoint
from .config import EmulatorConfig, is_valid_hub_name
from .hubs import PERMISSIONS, Connection, Hub, HubRegistry
from .messages import Delivery, InvalidPayload, Payload, load_json
from .odata import Filter, FilterError, parse_filter
from .tokens import TokenError, is_valid_user_id, issue_client_token, validate_rest_token

MAX_PAGE_SIZE = 200
ERROR_CODE_HEADER = "x-ms-error-code"


class RestError(Exception):
    """An error answer; ``message`` is safe to return to the caller."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, *, head: bool = False) -> web.Response:
    headers = {ERROR_CODE_HEADER: code}
    if head:
        return web.Response(status=status, headers=headers)
    return web.json_response({"code": code, "message": message}, status=status, headers=headers)


@dataclass(frozen=True, slots=True)
class Call:
    """One routed REST request."""

    request: web.Request
    hub_name: str  # lower case
    hub_segment: str  # the hub as it appeared in the raw path (case preserved)
    params: dict[str, str]
    hubs: HubRegistry
    clients: ClientEndpoint
    config: EmulatorConfig

    @property
    def hub(self) -> Hub | None:
        return self.hubs.get(self.hub_name)

    def query_list(self, name: str) -> list[str]:
        return self.request.query.getall(name, [])

    def connection(self) -> Connection | None:
        hub = self.hub
        return hub.connections.get(self.params["connection"]) if hub else None


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


# -- helpers -------------------------------------------------------------------------------


def _filter(call: Call) -> Filter | None:
    text = call.request.query.get("filter")
    if text is None or not text.strip():
        return None
    try:
        return parse_filter(text)
    except FilterError as exc:
        raise RestError(400, "InvalidFilter", f"invalid filter: {exc}") from exc


def _check_ttl(call: Call) -> None:
    value = call.request.query.get("messageTtlSeconds")
    if value is None:
        return
    if not value.isdigit() or not 0 <= int(value) <= 300:
        raise RestError(400, "InvalidArgument", "messageTtlSeconds must be an integer from 0 to 300")


async def _payload(call: Call) -> Payload:
    body = await call.request.read()
    try:
        return Payload.from_http(call.request.headers.get("Content-Type"), body)
    except InvalidPayload as exc:
        status = 415 if "content type" in str(exc) else 400
        raise RestError(status, "InvalidBody", str(exc)) from exc


def _select(candidates: Iterable[Connection], excluded: list[str], flt: Filter | None) -> list[Connection]:
    skip = set(excluded)
    return [c for c in candidates if c.connection_id not in skip and (flt is None or flt.matches(c))]


def _deliver(targets: Iterable[Connection], delivery: Delivery) -> None:
    for conn in targets:
        conn.deliver(delivery)


def _accepted() -> web.Response:
    return web.Response(status=202)


def _no_content() -> web.Response:
    return web.Response(status=204)


def _exists(found: bool) -> web.Response:
    return web.Response(status=200 if found else 404)


def _permission(call: Call) -> str:
    permission = call.params["permission"]
    if permission not in PERMISSIONS:
        raise RestError(400, "InvalidArgument", f"permission must be one of {', '.join(PERMISSIONS)}")
    return permission


def _group_param(value: str) -> str:
    if not value.strip() or len(value) > 1024:
        raise RestError(400, "InvalidArgument", "group must be 1-1024 characters and not blank")
    return value


# -- sends ---------------------------------------------------------------------------------


async def send_to_all(call: Call) -> web.StreamResponse:
    _check_ttl(call)
    flt = _filter(call)
    payload = await _payload(call)
    hub = call.hub
    if hub is not None:
        _deliver(_select(hub.connections.values(), call.query_list("excluded"), flt), Delivery(payload))
    return _accepted()


async def send_to_user(call: Call) -> web.StreamResponse:
    _check_ttl(call)
    flt = _filter(call)
    payload = await _payload(call)
    hub = call.hub
    if hub is not None:
        _deliver(_select(hub.user_connections(call.params["user"]), [], flt), Delivery(payload))
    return _accepted()


async def send_to_connection(call: Call) -> web.StreamResponse:
    _check_ttl(call)
    payload = await _payload(call)
    conn = call.connection()
    if conn is not None:
        conn.deliver(Delivery(payload))
    return _accepted()


async def send_to_group(call: Call) -> web.StreamResponse:
    _check_ttl(call)
    flt = _filter(call)
    group = _group_param(call.params["group"])
    payload = await _payload(call)
    hub = call.hub
    if hub is not None:
        targets = _select(hub.group_connections(group), call.query_list("excluded"), flt)
        # members get it as a group message ("from":"group", no fromUserId), as from the service
        _deliver(targets, Delivery(payload, group=group))
    return _accepted()


# -- existence -------------------------------------------------------------------------------


async def connection_exists(call: Call) -> web.StreamResponse:
    return _exists(call.connection() is not None)


async def group_exists(call: Call) -> web.StreamResponse:
    hub = call.hub
    return _exists(hub is not None and hub.has_group(call.params["group"]))


async def user_exists(call: Call) -> web.StreamResponse:
    hub = call.hub
    return _exists(hub is not None and hub.has_user(call.params["user"]))


# -- closing ---------------------------------------------------------------------------------


def _reason(call: Call) -> str:
    return call.request.query.get("reason", "")[:512]


def _close(call: Call, targets: Iterable[Connection]) -> web.Response:
    reason = _reason(call)
    for conn in _select(list(targets), call.query_list("excluded"), None):
        call.clients.close_connection(conn, reason)
    return _no_content()


async def close_connection(call: Call) -> web.StreamResponse:
    conn = call.connection()
    if conn is not None:
        call.clients.close_connection(conn, _reason(call))
    return _no_content()


async def close_all(call: Call) -> web.StreamResponse:
    hub = call.hub
    return _close(call, hub.connections.values() if hub else ())


async def close_group(call: Call) -> web.StreamResponse:
    hub = call.hub
    return _close(call, hub.group_connections(call.params["group"]) if hub else ())


async def close_user(call: Call) -> web.StreamResponse:
    hub = call.hub
    return _close(call, hub.user_connections(call.params["user"]) if hub else ())


# -- groups ----------------------------------------------------------------------------------


async def add_connection_to_group(call: Call) -> web.StreamResponse:
    group = _group_param(call.params["group"])
    conn = call.connection()
    hub = call.hub
    if conn is None or hub is None:
        raise RestError(404, "NotFound", "connection not found")
    hub.join(conn, group)
    return web.Response(status=200)


async def remove_connection_from_group(call: Call) -> web.StreamResponse:
    conn = call.connection()
    hub = call.hub
    if conn is not None and hub is not None:
        hub.leave(conn, call.params["group"])
    return _no_content()


async def remove_connection_from_all_groups(call: Call) -> web.StreamResponse:
    conn = call.connection()
    hub = call.hub
    if conn is not None and hub is not None:
        hub.leave_all(conn)
    return _no_content()


async def add_user_to_group(call: Call) -> web.StreamResponse:
    group = _group_param(call.params["group"])
    call.hubs.get_or_create(call.hub_name).add_user_to_group(call.params["user"], group)
    return web.Response(status=200)


async def remove_user_from_group(call: Call) -> web.StreamResponse:
    hub = call.hub
    if hub is not None:
        hub.remove_user_from_group(call.params["user"], call.params["group"])
    return _no_content()


async def remove_user_from_all_groups(call: Call) -> web.StreamResponse:
    hub = call.hub
    if hub is not None:
        hub.remove_user_from_all_groups(call.params["user"])
    return _no_content()


async def _groups_body(call: Call) -> tuple[list[str], Filter | None]:
    try:
        body = load_json(await call.request.read() or b"{}")
    except ValueError as exc:
        raise RestError(400, "InvalidBody", "body is not valid JSON") from exc
    groups = body.get("groups") if isinstance(body, dict) else None
    if not isinstance(groups, list) or not groups or not all(isinstance(g, str) for g in groups):
        raise RestError(400, "InvalidBody", "groups must be a non-empty list of strings")
    text = body.get("filter")
    if text is not None and not isinstance(text, str):
        raise RestError(400, "InvalidBody", "filter must be a string")
    try:
        flt = parse_filter(text) if text and text.strip() else None
    except FilterError as exc:
        raise RestError(400, "InvalidFilter", f"invalid filter: {exc}") from exc
    return [_group_param(g) for g in groups], flt


async def add_to_groups(call: Call) -> web.StreamResponse:
    return await _change_groups_of_filtered(call, join=True)


async def remove_from_groups(call: Call) -> web.StreamResponse:
    return await _change_groups_of_filtered(call, join=False)


async def _change_groups_of_filtered(call: Call, *, join: bool) -> web.StreamResponse:
    """``:addToGroups`` / ``:removeFromGroups``: every connection the filter selects."""
    groups, flt = await _groups_body(call)
    hub = call.hub
    if hub is not None:
        change = hub.join if join else hub.leave
        for conn in _select(list(hub.connections.values()), [], flt):
            for group in groups:
                change(conn, group)
    return web.Response(status=200)


def _int_param(call: Call, name: str, low: int, high: int) -> int | None:
    value = call.request.query.get(name)
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise RestError(400, "InvalidArgument", f"{name} must be an integer from {low} to {high}")
    return int(value)


async def list_connections(call: Call) -> web.StreamResponse:
    group = call.params["group"]
    page_size = _int_param(call, "maxpagesize", 1, MAX_PAGE_SIZE) or MAX_PAGE_SIZE
    top = _int_param(call, "top", 1, 2**31 - 1)
    token = call.request.query.get("continuationToken", "0")
    if not token.isdigit():
        raise RestError(400, "InvalidArgument", "invalid continuationToken")
    offset = int(token)
    hub = call.hub
    members = hub.group_connections(group) if hub else []
    count = page_size if top is None else min(page_size, top)
    page = members[offset : offset + count]
    body: dict[str, Any] = {"value": [{"connectionId": c.connection_id, "userId": c.user_id} for c in page]}
    remaining_top = None if top is None else top - len(page)
    if offset + len(page) < len(members) and (remaining_top is None or remaining_top > 0):
        query = f"maxpagesize={page_size}&continuationToken={offset + len(page)}"
        if remaining_top is not None:
            query += f"&top={remaining_top}"
        path = f"/api/hubs/{quote(call.hub_name, safe='')}/groups/{quote(group, safe='')}/connections"
        body["nextLink"] = f"{path}?{query}"
    return web.json_response(body)


# -- permissions ------------------------------------------------------------------------------


async def grant_permission(call: Call) -> web.StreamResponse:
    permission = _permission(call)
    conn = call.connection()
    if conn is None:
        raise RestError(404, "NotFound", "connection not found")
    conn.grant(permission, call.request.query.get("targetName") or None)
    return web.Response(status=200)


async def revoke_permission(call: Call) -> web.StreamResponse:
    permission = _permission(call)
    conn = call.connection()
    if conn is not None:
        conn.revoke(permission, call.request.query.get("targetName") or None)
    return _no_content()


async def check_permission(call: Call) -> web.StreamResponse:
    permission = _permission(call)
    conn = call.connection()
    target = call.request.query.get("targetName") or None
    return _exists(conn is not None and conn.has_permission(permission, target))


# -- tokens -----------------------------------------------------------------------------------


async def generate_token(call: Call) -> web.StreamResponse:
    minutes = _int_param(call, "minutesToExpire", 1, 2**31 - 1) or 60
    client_type = call.request.query.get("clientType", "Default").lower()
    prefixes = {
        "default": "/client/hubs/",
        "mqtt": "/clients/mqtt/hubs/",
        "socketio": "/clients/socketio/hubs/",
    }
    if client_type not in prefixes:
        raise RestError(400, "InvalidArgument", "clientType must be Default, MQTT or SocketIO")
    user_id = call.request.query.get("userId") or None
    if user_id is not None and not is_valid_user_id(user_id):
        raise RestError(400, "InvalidArgument", "userId must not contain control characters")
    audience = f"http://{call.request.host}{prefixes[client_type]}{call.hub_segment}"
    token = issue_client_token(
        call.config.access_key,
        audience,
        user_id=user_id,
        roles=call.query_list("role"),
        groups=call.query_list("group"),
        minutes_to_expire=minutes,
    )
    return web.json_response({"token": token})


# -- routing -----------------------------------------------------------------------------------

# (method, path segments after /api/hubs/{hub}) -> handler; {name} matches one segment.
ROUTES: list[tuple[str, tuple[str, ...], Handler]] = [
    ("POST", (":send",), send_to_all),
    ("POST", ("users", "{user}", ":send"), send_to_user),
    ("POST", ("connections", "{connection}", ":send"), send_to_connection),
    ("POST", ("groups", "{group}", ":send"), send_to_group),
    ("HEAD", ("connections", "{connection}"), connection_exists),
    ("DELETE", ("connections", "{connection}"), close_connection),
    ("DELETE", ("connections", "{connection}", "groups"), remove_connection_from_all_groups),
    ("POST", (":closeConnections",), close_all),
    ("POST", ("groups", "{group}", ":closeConnections"), close_group),
    ("POST", ("users", "{user}", ":closeConnections"), close_user),
    ("HEAD", ("groups", "{group}"), group_exists),
    ("HEAD", ("users", "{user}"), user_exists),
    ("PUT", ("groups", "{group}", "connections", "{connection}"), add_connection_to_group),
    ("DELETE", ("groups", "{group}", "connections", "{connection}"), remove_connection_from_group),
    ("GET", ("groups", "{group}", "connections"), list_connections),
    ("PUT", ("users", "{user}", "groups", "{group}"), add_user_to_group),
    ("DELETE", ("users", "{user}", "groups", "{group}"), remove_user_from_group),
    ("DELETE", ("users", "{user}", "groups"), remove_user_from_all_groups),
    ("POST", (":addToGroups",), add_to_groups),
    ("POST", (":removeFromGroups",), remove_from_groups),
    ("PUT", ("permissions", "{permission}", "connections", "{connection}"), grant_permission),
    ("DELETE", ("permissions", "{permission}", "connections", "{connection}"), revoke_permission),
    ("HEAD", ("permissions", "{permission}", "connections", "{connection}"), check_permission),
    ("POST", (":generateToken",), generate_token),
]


def match_route(method: str, segments: list[str]) -> tuple[Handler, dict[str, str]] | None:
    """Find the handler for decoded ``segments``.

    Raises:
        RestError: 405 when the path exists for another method.
    """
    path_known = False
    for route_method, pattern, handler in ROUTES:
        if len(pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        for expected, actual in zip(pattern, segments, strict=True):
            if expected.startswith("{"):
                if not actual:
                    break
                params[expected[1:-1]] = actual
            elif expected != actual:
                break
        else:
            path_known = True
            if route_method == method:
                return handler, params
    if path_known:
        raise RestError(405, "MethodNotAllowed", f"{method} is not supported on this path")
    return None


class RestApi:
    """The aiohttp handler for everything under ``/api/``."""

    def __init__(self, config: EmulatorConfig, hubs: HubRegistry, clients: ClientEndpoint) -> None:
        self._config = config
        self._hubs = hubs
        self._clients = clients

    async def handle(self, request: web.Request) -> web.StreamResponse:
        head = request.method == "HEAD"
        try:
            return await self._handle(request)
        except RestError as exc:
            return error_response(exc.status, exc.code, exc.message, head=head)
        except web.HTTPRequestEntityTooLarge:
            return error_response(413, "PayloadTooLarge", "request body exceeds 1 MiB", head=head)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        segments = [unquote(s) for s in raw_path.split("/")[2:]]  # drop "" and "api"
        if segments == ["health"] and request.method in ("HEAD", "GET"):
            return web.Response(status=200)
        if len(segments) < 3 or segments[0] != "hubs":
            raise RestError(404, "NotFound", "no such API")
        request_url = f"{request.scheme}://{request.host}{request.raw_path}"
        try:
            validate_rest_token(request.headers.get("Authorization"), self._config.keys, request_url)
        except TokenError as exc:
            raise RestError(401, "Unauthorized", exc.reason) from exc
        hub_name = segments[1]
        if not is_valid_hub_name(hub_name):
            raise RestError(400, "InvalidHubName", "invalid hub name")
        found = match_route(request.method, segments[2:])
        if found is None:
            raise RestError(404, "NotFound", "no such API")
        handler, params = found
        hub_segment = raw_path.split("/")[3]
        call = Call(request, hub_name.lower(), hub_segment, params, self._hubs, self._clients, self._config)
        return await handler(call)
