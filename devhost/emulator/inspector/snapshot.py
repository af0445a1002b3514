"""The inspector's view of the emulator's state: hubs, handler settings, connections, groups."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..config import EmulatorConfig
from ..hubs import Connection, HubRegistry
from .redact import Redactor

MAX_CONNECTIONS = 200  # per hub; the total is reported too
MAX_GROUPS = 200
MAX_GROUPS_PER_CONNECTION = 20


def _connection(conn: Connection) -> dict[str, Any]:
    return {
        "id": conn.connection_id,
        "userId": conn.user_id,
        "protocol": conn.subprotocol,
        "groups": sorted(conn.groups)[:MAX_GROUPS_PER_CONNECTION],
        "roles": sorted(conn.roles),
        "since": int(conn.connected_at * 1000),
    }


def snapshot(config: EmulatorConfig, hubs: HubRegistry, redactor: Redactor) -> dict[str, Any]:
    """Every hub with handler settings or connections, bounded, secrets redacted."""
    live = {hub.name: hub for hub in hubs}
    result = []
    for name in sorted(set(config.handlers.hubs()) | set(live)):
        handlers = [
            {
                "urlTemplate": redactor.url(handler.url_template),
                "systemEvents": sorted(handler.system_events),
                "eventPattern": handler.event_pattern,
            }
            for handler in config.handlers.handlers(name)
        ]
        hub = live.get(name)
        conns = sorted(hub.connections.values(), key=lambda c: c.connected_at) if hub else []
        groups = Counter(group for conn in conns for group in conn.groups)
        result.append(
            {
                "name": name,
                "handlers": handlers,
                "connectionCount": len(conns),
                "connections": [_connection(c) for c in conns[:MAX_CONNECTIONS]],
                "groupCount": len(groups),
                "groups": [{"name": g, "members": n} for g, n in sorted(groups.items())[:MAX_GROUPS]],
            }
        )
    return {"hubs": redactor.json_value(result)}
