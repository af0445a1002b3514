"""The client WebSocket endpoint: ``/client/hubs/{hub}`` and ``/client/?hub=``.

Handshake (protocol reference 5.1, 8.1, 10):

    token (query ``access_token`` or ``Authorization``) -> blocking ``connect`` event
    -> 101 with the chosen subprotocol -> ``connected`` system message -> ``connected`` event

A 4xx from ``connect`` refuses the upgrade with that status; anything else that fails
refuses it with 500. Afterwards frames are dispatched by protocol:

* simple clients: every text/binary frame is the blocking ``message`` user event; the
  reply goes back as a text/binary frame; a failure closes the socket with 1011;
* ``json.webpubsub.azure.v1``: joinGroup, leaveGroup, sendToGroup, event, ping, acks;
* ``json.reliable.webpubsub.azure.v1``: the same plus ``sequenceId``/``sequenceAck``
  and recovery with ``awps_connection_id`` + ``awps_reconnection_token`` within
  ``recovery_window``; close code 1008 when recovery is impossible.

``disconnected`` is sent exactly once per accepted connection, after ``connected``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.http_websocket import WebSocketError

from shared.logsafe import log_safe

from .config import EmulatorConfig, is_valid_hub_name
from .hubs import CLOSE_INTERNAL, CLOSE_POLICY, ClientKind, Connection, HubRegistry, new_connection_id
from .messages import (
    PONG_FRAME,
    SUPPORTED_PROTOCOLS,
    Delivery,
    InvalidPayload,
    JoinGroup,
    LeaveGroup,
    Payload,
    Ping,
    ProtocolViolation,
    SendEvent,
    SendToGroup,
    SequenceAck,
    build_ack,
    build_connected,
    build_disconnected,
    load_json,
    parse_request,
)
from .outbound import OutboundQueue, encode_message
from .tokens import ClientIdentity, TokenError, validate_client_token
from .upstream import SYSTEM_CONTENT_TYPE, UpstreamCaller, UpstreamFailure, UpstreamResult

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_TIMEOUT = 2.0  # seconds to wait for a close handshake before dropping the socket
_STRIPPED_QUERY = {"access_token", "awps_connection_id", "awps_reconnection_token"}
_STRIPPED_HEADERS = {"authorization"}


@dataclass(slots=True, eq=False)
class _Session:
    """Transport-side bookkeeping of one accepted connection."""

    conn: Connection
    ws: web.WebSocketResponse | None = None
    transport: asyncio.BaseTransport | None = None
    connected_task: asyncio.Task[None] | None = None
    recovery_task: asyncio.Task[None] | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


class _Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _ConnectDecision:
    user_id: str | None
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    subprotocol: str | None


class ClientEndpoint:
    """Accepts client WebSockets and runs their protocol. One instance per app."""

    def __init__(self, config: EmulatorConfig, hubs: HubRegistry) -> None:
        self._config = config
        self._hubs = hubs
        self._sessions: dict[str, _Session] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._upstream: UpstreamCaller | None = None
        self._shutting_down = False

    def bind_upstream(self, upstream: UpstreamCaller | None) -> None:
        self._upstream = upstream

    # -- aiohttp handler ---------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        hub_name = request.match_info.get("hub") or request.query.get("hub", "")
        if not is_valid_hub_name(hub_name):
            return web.Response(status=400, text="invalid or missing hub name")
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=400, text="WebSocket upgrade expected")
        if self._shutting_down:
            return web.Response(status=503, text="emulator is shutting down")
        offered = _offered_subprotocols(request)
        if "awps_connection_id" in request.query:
            return await self._recover(request, hub_name.lower(), offered)
        try:
            identity = self._authenticate(request, hub_name)
        except TokenError as exc:
            return web.Response(status=401, text=exc.reason)
        conn = Connection(
            hub=hub_name.lower(),
            connection_id=new_connection_id(),
            user_id=identity.user_id,
            subprotocol=None,
            roles=identity.roles,
            reliable_max_messages=self._config.reliable_max_messages,
            reliable_max_bytes=self._config.reliable_max_bytes,
            max_ack_ids=self._config.max_ack_ids,
        )
        try:
            decision = await self._run_connect(request, conn, identity, offered)
        except _Rejected as exc:
            log.info("connect of %s/%s rejected: %s", conn.hub, conn.connection_id, exc.reason)
            return web.Response(status=exc.status, text=exc.reason)
        conn.user_id = decision.user_id
        conn.roles = set(decision.roles)
        conn.choose_subprotocol(decision.subprotocol)
        return await self._serve_new(request, conn, decision.groups)

    def _authenticate(self, request: web.Request, hub_name: str) -> ClientIdentity:
        token = request.query.get("access_token")
        if not token:
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        path = f"/client/hubs/{hub_name}"
        audiences = {f"http://{request.host}{path}", self._config.endpoint(_port_of(request)) + path}
        return validate_client_token(token, self._config.keys, audiences)

    async def _run_connect(
        self, request: web.Request, conn: Connection, identity: ClientIdentity, offered: list[str]
    ) -> _ConnectDecision:
        default_protocol = next((p for p in offered if p in SUPPORTED_PROTOCOLS), None)
        decision = _ConnectDecision(identity.user_id, identity.roles, identity.groups, default_protocol)
        handler = self._config.handlers.for_system_event(conn.hub, "connect")
        if handler is None or self._upstream is None:
            return decision
        body = {
            "claims": identity.claims,
            "query": _multi(request.query, _STRIPPED_QUERY),
            "headers": _multi(request.headers, _STRIPPED_HEADERS),
            "subprotocols": offered,
            "clientCertificates": [],
        }
        try:
            result = await self._upstream.call(
                handler,
                conn,
                "connect",
                system=True,
                body=json.dumps(body).encode(),
                content_type=SYSTEM_CONTENT_TYPE,
                user_id=identity.user_id or "",
                subprotocol="",
            )
        except UpstreamFailure as exc:
            raise _Rejected(500, "connect event handler failed") from exc
        if 400 <= result.status < 500:
            raise _Rejected(result.status, "rejected by the connect event handler")
        if not result.ok:
            raise _Rejected(500, "connect event handler failed")
        if result.connection_state is not None:
            conn.connection_state = result.connection_state or None
        return _apply_connect_response(decision, result, offered)

    async def _serve_new(
        self, request: web.Request, conn: Connection, groups: tuple[str, ...]
    ) -> web.StreamResponse:
        ws = self._websocket(conn.subprotocol)
        await ws.prepare(request)
        session = _Session(conn=conn)
        self._sessions[conn.connection_id] = session
        conn.terminate = lambda code, reason: self._terminate(session, code, reason)
        hub = self._hubs.get_or_create(conn.hub)
        hub.add(conn)
        for group in groups:
            hub.join(conn, group)
        first = None
        if conn.kind is not ClientKind.SIMPLE:
            first = build_connected(conn.connection_id, conn.user_id, conn.reconnection_token)
        self._attach(session, ws, request, first)
        handler = self._config.handlers.for_system_event(conn.hub, "connected")
        if handler is not None and self._upstream is not None:
            session.connected_task = self._spawn(self._fire_connected(conn))
        await self._read_loop(session, ws)
        return ws

    def _websocket(self, subprotocol: str | None) -> web.WebSocketResponse:
        return web.WebSocketResponse(
            protocols=(subprotocol,) if subprotocol else (),
            max_msg_size=self._config.max_message_bytes,
            compress=False,  # per-recipient compression costs more CPU than local sockets save
            timeout=CLOSE_TIMEOUT,
        )

    def _attach(
        self, session: _Session, ws: web.WebSocketResponse, request: web.Request, first: str | None
    ) -> None:
        transport = request.transport
        assert isinstance(transport, asyncio.WriteTransport)  # prepare() succeeded, so it is open
        session.ws = ws
        session.transport = transport
        outbound = OutboundQueue(ws, transport, max_bytes=self._config.outbound_max_bytes)
        session.conn.attach(outbound, first)

    # -- recovery (reliable protocol) --------------------------------------------------------
    async def _recover(self, request: web.Request, hub_name: str, offered: list[str]) -> web.StreamResponse:
        conn_id = request.query.get("awps_connection_id", "")
        token = request.query.get("awps_reconnection_token", "")
        session = self._sessions.get(conn_id)
        conn = session.conn if session else None
        ok = (
            session is not None
            and conn is not None
            and not conn.ended
            and conn.hub == hub_name
            and conn.kind is ClientKind.RELIABLE
            and conn.reconnection_token is not None
            and hmac.compare_digest(token.encode(), conn.reconnection_token.encode())
        )
        if not ok or session is None or conn is None:
            ws = self._websocket(next((p for p in offered if p in SUPPORTED_PROTOCOLS), None))
            await ws.prepare(request)
            await ws.close(code=CLOSE_POLICY, message=b"connection cannot be recovered")
            return ws
        ws = self._websocket(conn.subprotocol)
        await ws.prepare(request)
        if session.recovery_task is not None:
            session.recovery_task.cancel()
            session.recovery_task = None
        old_ws = session.ws
        first = build_connected(conn.connection_id, conn.user_id, conn.reconnection_token)
        self._attach(session, ws, request, first)
        if old_ws is not None and not old_ws.closed:
            self._spawn(self._close_socket(old_ws, None, CLOSE_POLICY, "superseded by a reconnection"))
        log.info("connection %s/%s recovered", conn.hub, conn.connection_id)
        await self._read_loop(session, ws)
        return ws

    async def _expire_recovery(self, session: _Session) -> None:
        await asyncio.sleep(self._config.recovery_window)
        session.recovery_task = None
        self._finish(session, "recovery window expired")

    # -- frames ------------------------------------------------------------------------------
    async def _read_loop(self, session: _Session, ws: web.WebSocketResponse) -> None:
        conn = session.conn
        final = True
        try:
            while True:
                msg = await ws.receive()
                if msg.type is WSMsgType.TEXT or msg.type is WSMsgType.BINARY:
                    if conn.ended or session.ws is not ws:
                        break
                    await self._dispatch(session, msg.type, msg.data)
                    continue
                if msg.type is WSMsgType.CLOSE:
                    final = True  # the client said goodbye: never recoverable
                elif msg.type is WSMsgType.ERROR:
                    final = isinstance(ws.exception(), WebSocketError)  # protocol error or too big
                else:
                    final = False  # transport dropped (or closed by us; see below)
                break
        except asyncio.CancelledError:
            final = True
            raise
        except Exception:
            # The one broad catch of the WebSocket adapter: log and drop this connection only.
            log.exception("error while serving %s/%s", conn.hub, conn.connection_id)
            final = True
        finally:
            self._on_transport_closed(session, ws, final)

    def _on_transport_closed(self, session: _Session, ws: web.WebSocketResponse, final: bool) -> None:
        conn = session.conn
        if session.ws is not ws or conn.ended:
            return  # superseded by a recovered transport, or already finished
        session.ws = None
        session.transport = None
        conn.detach()
        if conn.kind is ClientKind.RELIABLE and not final and not self._shutting_down:
            session.recovery_task = self._spawn(self._expire_recovery(session))
            return
        self._finish(session, _close_reason(ws))

    async def _dispatch(self, session: _Session, kind: WSMsgType, data: str | bytes) -> None:
        conn = session.conn
        if conn.kind is ClientKind.SIMPLE:
            await self._simple_message(session, kind, data)
            return
        if kind is WSMsgType.BINARY or not isinstance(data, str):
            self._terminate(session, CLOSE_POLICY, "binary frames are not valid in this subprotocol")
            return
        try:
            request = parse_request(data)
        except ProtocolViolation as exc:
            log.info("closing %s/%s: %s", conn.hub, conn.connection_id, exc)
            self._terminate(session, CLOSE_POLICY, f"invalid message: {exc}")
            return
        if isinstance(request, SequenceAck):
            conn.acknowledge(request.sequence_id)
        elif isinstance(request, Ping):
            conn.send_frame(PONG_FRAME)
        elif isinstance(request, JoinGroup | LeaveGroup):
            self._join_or_leave(conn, request)
        elif isinstance(request, SendToGroup):
            self._send_to_group(conn, request)
        elif isinstance(request, SendEvent):
            await self._user_event(conn, request)

    def _ack(self, conn: Connection, ack_id: int | None, error: str | None = None, message: str = "") -> None:
        if ack_id is not None:
            conn.send_frame(build_ack(ack_id, error, message))

    def _duplicate(self, conn: Connection, ack_id: int | None) -> bool:
        if ack_id is not None and conn.is_duplicate_ack(ack_id):
            self._ack(conn, ack_id, "Duplicate", "message with this ackId was already processed")
            return True
        return False

    def _join_or_leave(self, conn: Connection, request: JoinGroup | LeaveGroup) -> None:
        if self._duplicate(conn, request.ack_id):
            return
        if not conn.has_permission("joinLeaveGroup", request.group):
            self._ack(conn, request.ack_id, "Forbidden", f"no permission to join or leave '{request.group}'")
            return
        hub = self._hubs.get_or_create(conn.hub)
        if isinstance(request, JoinGroup):
            hub.join(conn, request.group)
        else:
            hub.leave(conn, request.group)
        self._ack(conn, request.ack_id)

    def _send_to_group(self, conn: Connection, request: SendToGroup) -> None:
        if self._duplicate(conn, request.ack_id):
            return
        if not conn.has_permission("sendToGroup", request.group):
            self._ack(conn, request.ack_id, "Forbidden", f"no permission to send to '{request.group}'")
            return
        delivery = Delivery(request.payload, group=request.group, from_user_id=conn.user_id)
        hub = self._hubs.get_or_create(conn.hub)
        for member in hub.group_connections(request.group):
            if not (request.no_echo and member is conn):
                member.deliver(delivery)
        self._ack(conn, request.ack_id)

    async def _user_event(self, conn: Connection, request: SendEvent) -> None:
        if self._duplicate(conn, request.ack_id):
            return
        handler = self._config.handlers.for_user_event(conn.hub, request.event)
        if handler is None or self._upstream is None:
            self._ack(conn, request.ack_id, "InternalServerError", f"no event handler for '{request.event}'")
            return
        payload = request.payload
        try:
            result = await self._upstream.call(
                handler,
                conn,
                request.event,
                system=False,
                body=payload.body,
                content_type=payload.content_type,
            )
            reply = self._accept_event_result(conn, result)
        except (UpstreamFailure, InvalidPayload) as exc:
            log.info(
                "event %s of %s/%s failed: %s", log_safe(request.event), conn.hub, conn.connection_id, exc
            )
            self._ack(conn, request.ack_id, "InternalServerError", "the event handler failed")
            return
        if reply is not None:
            conn.deliver(Delivery(reply))  # the reply arrives before the ack
        self._ack(conn, request.ack_id)

    async def _simple_message(self, session: _Session, kind: WSMsgType, data: str | bytes) -> None:
        conn = session.conn
        handler = self._config.handlers.for_user_event(conn.hub, "message")
        if handler is None or self._upstream is None:
            self._terminate(session, CLOSE_INTERNAL, "no event handler for 'message'")
            return
        if isinstance(data, str):
            body, content_type = data.encode(), "text/plain"
        else:
            body, content_type = bytes(data), "application/octet-stream"
        try:
            result = await self._upstream.call(
                handler, conn, "message", system=False, body=body, content_type=content_type
            )
            reply = self._accept_event_result(conn, result)
        except (UpstreamFailure, InvalidPayload) as exc:
            log.info("message of %s/%s failed: %s", conn.hub, conn.connection_id, exc)
            self._terminate(session, CLOSE_INTERNAL, "the event handler failed")
            return
        if reply is not None:
            conn.deliver(Delivery(reply))

    @staticmethod
    def _accept_event_result(conn: Connection, result: UpstreamResult) -> Payload | None:
        """Apply state from a 2xx answer; return the reply payload (``None`` if empty)."""
        if not result.ok:
            raise UpstreamFailure(f"event handler answered {result.status}")
        if result.connection_state is not None:
            conn.connection_state = result.connection_state or None
        if not result.body:
            return None
        content_type = result.content_type or "application/octet-stream"
        return Payload.from_http(content_type, result.body)

    # -- system events -------------------------------------------------------------------------
    async def _fire_connected(self, conn: Connection) -> None:
        handler = self._config.handlers.for_system_event(conn.hub, "connected")
        if handler is None or self._upstream is None:
            return
        try:
            result = await self._upstream.call(
                handler, conn, "connected", system=True, body=b"{}", content_type=SYSTEM_CONTENT_TYPE
            )
            if not result.ok:
                log.info("connected event of %s answered %s", conn.connection_id, result.status)
        except UpstreamFailure as exc:
            log.info("connected event of %s failed: %s", conn.connection_id, exc)

    async def _fire_disconnected(self, session: _Session, reason: str) -> None:
        conn = session.conn
        if session.connected_task is not None:
            # keep the order connected -> disconnected at the handler
            await asyncio.wait({session.connected_task})
        handler = self._config.handlers.for_system_event(conn.hub, "disconnected")
        if handler is None or self._upstream is None:
            return
        body = json.dumps({"reason": reason}).encode()
        try:
            result = await self._upstream.call(
                handler, conn, "disconnected", system=True, body=body, content_type=SYSTEM_CONTENT_TYPE
            )
            if not result.ok:
                log.info("disconnected event of %s answered %s", conn.connection_id, result.status)
        except UpstreamFailure as exc:
            log.info("disconnected event of %s failed: %s", conn.connection_id, exc)

    # -- ending connections -------------------------------------------------------------------
    def close_connection(self, conn: Connection, reason: str) -> None:
        """Server-side close (REST): tell JSON clients why, then close the socket."""
        session = self._sessions.get(conn.connection_id)
        if session is not None and session.conn is conn:
            code = CLOSE_POLICY if conn.kind is ClientKind.RELIABLE else 1000
            self._terminate(session, code, reason, notify=True)

    def _terminate(self, session: _Session, code: int, reason: str, *, notify: bool = False) -> None:
        """End the connection now and close its socket in the background."""
        conn = session.conn
        if conn.ended:
            return
        outbound = conn.outbound
        if notify and outbound is not None and conn.kind is not ClientKind.SIMPLE:
            outbound.put(encode_message(build_disconnected(reason)))
        ws, transport = session.ws, session.transport
        session.ws = None
        self._finish(session, reason, detach=False)
        if outbound is not None and not notify:
            outbound.stop()  # nothing worth flushing (e.g. a slow consumer's backlog)
            outbound = None
        if ws is not None:
            self._spawn(self._close_socket(ws, transport, code, reason, outbound))
        elif outbound is not None:
            outbound.stop()

    async def _close_socket(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.BaseTransport | None,
        code: int,
        reason: str,
        outbound: OutboundQueue | None = None,
    ) -> None:
        try:
            if outbound is not None:
                await outbound.drain(CLOSE_TIMEOUT)
                outbound.stop()
            # a close reason is at most 123 bytes of valid UTF-8
            message = reason.encode()[:120].decode("utf-8", "ignore").encode()
            await asyncio.wait_for(ws.close(code=code, message=message), CLOSE_TIMEOUT)
        except (TimeoutError, ConnectionError, RuntimeError):
            if transport is not None:
                transport.abort()  # a consumer that stopped reading cannot take a close frame

    def _finish(self, session: _Session, reason: str, *, detach: bool = True) -> None:
        """Remove the connection everywhere and send ``disconnected`` (exactly once)."""
        conn = session.conn
        if conn.ended:
            return
        conn.ended = True
        if detach:
            conn.detach()
        if session.recovery_task is not None:
            session.recovery_task.cancel()
            session.recovery_task = None
        self._sessions.pop(conn.connection_id, None)
        hub = self._hubs.get(conn.hub)
        if hub is not None:
            hub.remove(conn)
        if not self._shutting_down:
            self._spawn(self._fire_disconnected(session, reason))

    # -- housekeeping ---------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def drop_transport(self, connection_id: str) -> bool:
        """Abort a connection's socket without a close frame (a network drop; for tests/tools)."""
        session = self._sessions.get(connection_id)
        if session is None or session.transport is None:
            return False
        session.transport.abort()
        return True

    async def shutdown(self) -> None:
        """Close every socket with 1001; no more events are sent."""
        self._shutting_down = True
        for session in list(self._sessions.values()):
            conn = session.conn
            ws = session.ws
            conn.ended = True
            conn.detach()
            if session.recovery_task is not None:
                session.recovery_task.cancel()
            if ws is not None and not ws.closed:
                self._spawn(self._close_socket(ws, session.transport, CLOSE_GOING_AWAY, "emulator stopping"))
        self._sessions.clear()
        for task in list(self._background):
            if task.get_coro().__name__ != self._close_socket.__name__:  # type: ignore[union-attr]
                task.cancel()  # in-flight upstream calls: nobody waits for their answers now
        if self._background:
            _, pending = await asyncio.wait(set(self._background), timeout=CLOSE_TIMEOUT + 1)
            for task in pending:
                task.cancel()


def _offered_subprotocols(request: web.Request) -> list[str]:
    offered: list[str] = []
    for value in request.headers.getall("Sec-WebSocket-Protocol", []):
        offered.extend(p.strip() for p in value.split(",") if p.strip())
    return offered


def _multi(values: Mapping[str, str], stripped: set[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, value in values.items():  # multidicts yield repeated names once per value
        if name.lower() not in stripped:
            result.setdefault(name, []).append(value)
    return result


def _port_of(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else None


def _close_reason(ws: web.WebSocketResponse) -> str:
    code = ws.close_code
    return f"connection closed (code {code})" if code else "connection lost"


def _ci(mapping: Mapping[str, Any], key: str) -> Any:
    return next((v for k, v in mapping.items() if isinstance(k, str) and k.lower() == key.lower()), None)


def _apply_connect_response(
    decision: _ConnectDecision, result: UpstreamResult, offered: list[str]
) -> _ConnectDecision:
    """Merge a 2xx connect answer into the token defaults (protocol reference 5.1)."""
    if result.status == 204 or not result.body.strip():
        return decision
    try:
        answer = load_json(result.body)
    except ValueError as exc:
        raise _Rejected(500, "connect event handler returned invalid JSON") from exc
    if not isinstance(answer, dict):
        raise _Rejected(500, "connect event handler returned invalid JSON")
    user_id, roles, groups, subprotocol = (
        decision.user_id,
        decision.roles,
        decision.groups,
        decision.subprotocol,
    )
    value = _ci(answer, "userId")
    if isinstance(value, str) and value:
        user_id = value
    value = _ci(answer, "roles")
    if isinstance(value, list):
        roles = tuple(r for r in value if isinstance(r, str))
    value = _ci(answer, "groups")
    if isinstance(value, list) and value:
        groups = tuple(g for g in value if isinstance(g, str) and g.strip())
    value = _ci(answer, "subprotocol")
    if isinstance(value, str) and value:
        if value not in offered:
            raise _Rejected(500, "connect event handler chose a subprotocol the client did not offer")
        subprotocol = value
    return _ConnectDecision(user_id, roles, groups, subprotocol)
