"""In-memory service state: hubs -> connections, groups and users.

Nothing here awaits. ``Connection.deliver`` queues frames on the connection's
``OutboundQueue``; when a cap is hit it calls the connection's ``terminate`` hook,
which the WebSocket layer (``clients.py``) installs, so the state never owns sockets.

Reliable connections (``json.reliable.webpubsub.azure.v1``) number every message and
keep it until the client acknowledges it, so a reconnecting client can be replayed
what it missed (protocol reference 8.4).
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from enum import Enum

from .messages import JSON_PROTOCOL, RELIABLE_JSON_PROTOCOL, Delivery
from .outbound import OutboundQueue, encode_message
from .roles import ROLE_PREFIX, grants
from .watch import UNWATCHED, Watchers

log = logging.getLogger(__name__)

# WebSocket close codes used by the emulator.
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED_DATA = 1003  # a binary frame where the subprotocol allows only text
CLOSE_INVALID_PAYLOAD = 1007  # a frame that is not a valid message of the subprotocol
CLOSE_POLICY = 1008  # also tells reliable clients "do not try to recover"
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011

PERMISSIONS = ("joinLeaveGroup", "sendToGroup")


class ClientKind(Enum):
    SIMPLE = "simple"
    JSON = "json"
    RELIABLE = "reliable"

    @classmethod
    def for_subprotocol(cls, subprotocol: str | None) -> ClientKind:
        if subprotocol == JSON_PROTOCOL:
            return cls.JSON
        if subprotocol == RELIABLE_JSON_PROTOCOL:
            return cls.RELIABLE
        return cls.SIMPLE


def new_connection_id() -> str:
    return secrets.token_urlsafe(16)


class Connection:
    """One logical client connection (it survives transport drops when reliable)."""

    def __init__(
        self,
        *,
        hub: str,
        connection_id: str,
        user_id: str | None,
        subprotocol: str | None,
        roles: Iterable[str] = (),
        reliable_max_messages: int = 1000,
        reliable_max_bytes: int = 16 * 1024 * 1024,
        max_ack_ids: int = 10_000,
    ) -> None:
        self.hub = hub
        self.connection_id = connection_id
        self.user_id = user_id
        self.subprotocol = subprotocol
        self.kind = ClientKind.for_subprotocol(subprotocol)
        self.roles: set[str] = set(roles)
        self.groups: set[str] = set()
        self.connection_state: str | None = None
        self.outbound: OutboundQueue | None = None
        self.ended = False
        self.connected_at = time.time()
        self.watchers: Watchers = UNWATCHED  # the hub's, once added to one
        # Installed by the WebSocket layer: close the socket and finish the connection.
        self.terminate: Callable[[int, str], None] = lambda code, reason: None
        self._event_ids = itertools.count()
        self._ack_ids: set[int] = set()
        self._ack_order: deque[int] = deque()
        self._max_ack_ids = max_ack_ids
        # reliable protocol only
        self.reconnection_token = secrets.token_urlsafe(24) if self.kind is ClientKind.RELIABLE else None
        self._next_sequence_id = 1
        self._unacked: deque[tuple[int, bytes]] = deque()  # (sequenceId, encoded frame)
        self._unacked_bytes = 0
        self._reliable_max_messages = reliable_max_messages
        self._reliable_max_bytes = reliable_max_bytes

    def choose_subprotocol(self, subprotocol: str | None) -> None:
        """Fix the protocol once the handshake settles it (before any message is sent)."""
        self.subprotocol = subprotocol
        self.kind = ClientKind.for_subprotocol(subprotocol)
        self.reconnection_token = secrets.token_urlsafe(24) if self.kind is ClientKind.RELIABLE else None

    # -- what OData filters and list_connections see ---------------------------------
    @property
    def protocol(self) -> str | None:
        return self.subprotocol

    def next_event_id(self) -> str:
        """``ce-id``: 0 for connect, then 1, 2, ... for later events of this connection."""
        return str(next(self._event_ids))

    # -- permissions (protocol reference 8.5) ----------------------------------------
    def has_permission(self, permission: str, group: str | None) -> bool:
        """Roles from the token, the connect response or REST grants (wildcards included)."""
        return grants(self.roles, permission, group)

    def grant(self, permission: str, group: str | None) -> None:
        self.roles.add(ROLE_PREFIX + permission + (f".{group}" if group else ""))

    def revoke(self, permission: str, group: str | None) -> None:
        self.roles.discard(ROLE_PREFIX + permission + (f".{group}" if group else ""))

    # -- acks --------------------------------------------------------------------------
    def has_ack_id(self, ack_id: int) -> bool:
        """``True`` if a request with ``ack_id`` already succeeded on this connection."""
        return ack_id in self._ack_ids

    def record_ack_id(self, ack_id: int) -> None:
        """Remember a *successful* request's ``ack_id`` (bounded memory).

        Refused or failed requests are not recorded, so a client may retry them with the
        same ackId; both SDKs treat a ``Duplicate`` ack as success.
        """
        if ack_id in self._ack_ids:
            return
        self._ack_ids.add(ack_id)
        self._ack_order.append(ack_id)
        if len(self._ack_order) > self._max_ack_ids:
            self._ack_ids.discard(self._ack_order.popleft())

    # -- sending ---------------------------------------------------------------------
    def send_frame(self, frame: str | bytes) -> None:
        """Queue an unsequenced frame (system message, ack, pong)."""
        if self.watchers.active and isinstance(frame, str):
            self.watchers.frame_out(self, frame)
        self._write(encode_message(frame))

    def _write(self, wire: bytes) -> None:
        if self.outbound is not None and not self.outbound.put(wire):
            reason = self.outbound.refusal
            log.warning(
                "disconnecting %s/%s (user %r): %s", self.hub, self.connection_id, self.user_id, reason
            )
            self.terminate(self.overflow_close_code, reason)

    def deliver(self, delivery: Delivery) -> None:
        """Queue a data message in this connection's protocol."""
        if self.ended:
            return
        watchers = self.watchers
        if watchers.active:  # a broadcast reports its first recipient and counts the others
            if delivery is watchers.last_delivery:
                watchers.repeats += 1
            else:
                watchers.delivery_started(self, delivery)
        if self.kind is ClientKind.JSON:
            self._write(delivery.json_wire)
        elif self.kind is ClientKind.SIMPLE:
            self._write(delivery.raw_wire)
        else:
            sequence_id = self._next_sequence_id
            self._next_sequence_id += 1
            wire = delivery.reliable_wire(sequence_id)
            self._unacked.append((sequence_id, wire))
            self._unacked_bytes += len(wire)
            if (
                len(self._unacked) > self._reliable_max_messages
                or self._unacked_bytes > self._reliable_max_bytes
            ):
                self.terminate(CLOSE_POLICY, "too many unacknowledged messages")
                return
            self._write(wire)

    @property
    def overflow_close_code(self) -> int:
        return CLOSE_POLICY if self.kind is ClientKind.RELIABLE else CLOSE_INTERNAL

    def acknowledge(self, sequence_id: int) -> None:
        """``sequenceAck``: the client has everything up to ``sequence_id``."""
        while self._unacked and self._unacked[0][0] <= sequence_id:
            _, frame = self._unacked.popleft()
            self._unacked_bytes -= len(frame)

    @property
    def unacked_count(self) -> int:
        return len(self._unacked)

    def attach(self, outbound: OutboundQueue, first_frame: str | None = None) -> None:
        """Use a new transport: send ``first_frame``, then replay what is unacknowledged."""
        if self.outbound is not None:
            self.outbound.stop()
        self.outbound = outbound
        if first_frame is not None:
            self.send_frame(first_frame)
        for _, wire in self._unacked:
            if self.ended or self.outbound is not outbound:
                return  # terminated by a cap while replaying
            self._write(wire)

    def detach(self) -> None:
        if self.outbound is not None:
            self.outbound.stop()
            self.outbound = None

    def __repr__(self) -> str:
        return f"Connection({self.hub}/{self.connection_id}, user={self.user_id!r}, kind={self.kind.value})"


class Hub:
    """Connections of one hub, indexed by id, group and user."""

    def __init__(self, name: str, watchers: Watchers = UNWATCHED) -> None:
        self.name = name
        self.watchers = watchers
        self.connections: dict[str, Connection] = {}
        self._groups: dict[str, dict[str, Connection]] = {}
        self._users: dict[str, dict[str, Connection]] = {}
        # REST add_user_to_group also applies to the user's later connections.
        self._user_groups: dict[str, set[str]] = {}

    # -- membership --------------------------------------------------------------------
    def add(self, conn: Connection) -> None:
        conn.watchers = self.watchers
        self.connections[conn.connection_id] = conn
        if conn.user_id is not None:
            self._users.setdefault(conn.user_id, {})[conn.connection_id] = conn
            for group in self._user_groups.get(conn.user_id, ()):
                self.join(conn, group)
        self._changed()

    def remove(self, conn: Connection) -> None:
        if self.connections.pop(conn.connection_id, None) is None:
            return
        for group in list(conn.groups):
            self.leave(conn, group)
        if conn.user_id is not None:
            members = self._users.get(conn.user_id)
            if members is not None:
                members.pop(conn.connection_id, None)
                if not members:
                    del self._users[conn.user_id]
        self._changed()

    def join(self, conn: Connection, group: str) -> None:
        conn.groups.add(group)
        self._groups.setdefault(group, {})[conn.connection_id] = conn
        self._changed()

    def leave(self, conn: Connection, group: str) -> None:
        conn.groups.discard(group)
        members = self._groups.get(group)
        if members is not None:
            members.pop(conn.connection_id, None)
            if not members:
                del self._groups[group]
        self._changed()

    def leave_all(self, conn: Connection) -> None:
        for group in list(conn.groups):
            self.leave(conn, group)

    def add_user_to_group(self, user_id: str, group: str) -> None:
        self._user_groups.setdefault(user_id, set()).add(group)
        for conn in self.user_connections(user_id):
            self.join(conn, group)

    def remove_user_from_group(self, user_id: str, group: str) -> None:
        remembered = self._user_groups.get(user_id)
        if remembered is not None:
            remembered.discard(group)
            if not remembered:
                del self._user_groups[user_id]
        for conn in self.user_connections(user_id):
            self.leave(conn, group)

    def remove_user_from_all_groups(self, user_id: str) -> None:
        self._user_groups.pop(user_id, None)
        for conn in self.user_connections(user_id):
            self.leave_all(conn)

    def _changed(self) -> None:
        if self.watchers.active:
            self.watchers.state_changed(self.name)

    # -- lookups -----------------------------------------------------------------------
    def group_connections(self, group: str) -> list[Connection]:
        return list(self._groups.get(group, {}).values())

    def user_connections(self, user_id: str) -> list[Connection]:
        return list(self._users.get(user_id, {}).values())

    def has_group(self, group: str) -> bool:
        return bool(self._groups.get(group))

    def has_user(self, user_id: str) -> bool:
        return bool(self._users.get(user_id))


class HubRegistry:
    """Hubs by lower-case name (hub names are case-insensitive)."""

    def __init__(self, watchers: Watchers | None = None) -> None:
        self._hubs: dict[str, Hub] = {}
        self.watchers = watchers if watchers is not None else Watchers()

    def get(self, name: str) -> Hub | None:
        return self._hubs.get(name.lower())

    def get_or_create(self, name: str) -> Hub:
        key = name.lower()
        hub = self._hubs.get(key)
        if hub is None:
            hub = self._hubs[key] = Hub(key, self.watchers)
        return hub

    def __iter__(self) -> Iterator[Hub]:
        return iter(list(self._hubs.values()))

    def all_connections(self) -> list[Connection]:
        return [conn for hub in self._hubs.values() for conn in hub.connections.values()]
