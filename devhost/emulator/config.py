"""Emulator configuration: keys, limits and per-hub event-handler settings.

Event handlers use the official emulator's file shape (emulator reference section 1)::

    {"WebPubSub": {"Hubs": {"chat": {"EventHandlers": [
        {"UrlTemplate": "http://localhost:7071/api/{hub}/{event}",
         "SystemEvents": ["connect", "connected", "disconnected"],
         "EventPattern": "*"}]}}}}

``HandlerRegistry`` holds the live handler lists. The CLI fills it from ``--config`` and
``--hub NAME=TEMPLATE``; other tools call ``set_hub()`` directly. Hub and event names
match case-insensitively and the first matching handler wins (protocol reference 1.1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

DEFAULT_ACCESS_KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"  # the official emulator's public key
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
SYSTEM_EVENTS = ("connect", "connected", "disconnected")
MAX_MESSAGE_BYTES = 1024 * 1024  # the service's 1 MB frame / message limit
MIN_KEY_BYTES = 32

_PLACEHOLDER = re.compile(r"\{([A-Za-z]+)\}")
_HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_`,.\[\]]{0,127}")  # fullmatch: "$" accepts a trailing "\n"


class ConfigError(ValueError):
    """The settings file, a ``--hub`` option or a key is not usable."""


def is_valid_hub_name(name: str) -> bool:
    return bool(_HUB_NAME.fullmatch(name))


def check_access_key(key: str) -> str:
    """Apply the official emulator's key rules; the message never contains the key."""
    if len(key.encode()) < MIN_KEY_BYTES:
        raise ConfigError(f"access key must be at least {MIN_KEY_BYTES} bytes")
    if key != key.strip() or ";" in key or any(ord(ch) < 32 for ch in key):
        raise ConfigError("access key must not contain whitespace at the ends, ';' or control characters")
    return key


@dataclass(frozen=True, slots=True)
class EventHandler:
    """One ``EventHandlers[]`` entry."""

    url_template: str
    system_events: frozenset[str] = frozenset(SYSTEM_EVENTS)
    event_pattern: str = "*"

    def __post_init__(self) -> None:
        parts = urlsplit(self.url_template)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("UrlTemplate must be an absolute http(s) URL")
        if "{" in parts.netloc:
            raise ConfigError("placeholders are not allowed in the UrlTemplate host")
        for name in _PLACEHOLDER.findall(self.url_template):
            if name.lower() not in ("hub", "event"):
                raise ConfigError(f"unknown UrlTemplate placeholder {{{name}}}")
        unknown = {e for e in self.system_events if e not in SYSTEM_EVENTS}
        if unknown:
            raise ConfigError(f"unknown system events: {sorted(unknown)}")

    def matches_system(self, event: str) -> bool:
        return event.lower() in self.system_events

    def matches_user(self, event: str) -> bool:
        pattern = self.event_pattern.strip()
        if pattern == "*":
            return True
        names = {part.strip().lower() for part in pattern.split(",") if part.strip()}
        return event.lower() in names

    def url_for(self, hub: str, event: str) -> str:
        return expand_url_template(self.url_template, hub=hub, event=event)


def expand_url_template(template: str, *, hub: str, event: str) -> str:
    """Substitute ``{hub}`` and ``{event}`` (case-insensitive names, URL-escaped values)."""
    values = {"hub": hub, "event": event}

    def substitute(match: re.Match[str]) -> str:
        return quote(values[match.group(1).lower()], safe="")

    return _PLACEHOLDER.sub(substitute, template)


def parse_hub_option(option: str) -> tuple[str, EventHandler]:
    """Parse ``--hub NAME=URL_TEMPLATE`` (all system events, every user event)."""
    name, sep, template = option.partition("=")
    if not sep or not name.strip() or not template.strip():
        raise ConfigError("--hub expects NAME=URL_TEMPLATE")
    if not is_valid_hub_name(name.strip()):
        raise ConfigError(f"invalid hub name {name.strip()!r}")
    return name.strip().lower(), EventHandler(url_template=template.strip())


def _ci_get(mapping: Mapping[str, Any], key: str) -> Any:
    # ASP.NET configuration keys are case-insensitive; so are ours.
    for name, value in mapping.items():
        if name.lower() == key.lower():
            return value
    return None


def _parse_handler(raw: Any) -> EventHandler:
    if not isinstance(raw, Mapping):
        raise ConfigError("each EventHandlers entry must be an object")
    template = _ci_get(raw, "UrlTemplate")
    if not isinstance(template, str):
        raise ConfigError("EventHandlers entry needs a UrlTemplate string")
    system = _ci_get(raw, "SystemEvents")
    if system is None:
        system = []
    if isinstance(system, str):
        system = [part for part in system.split(",")]
    if not isinstance(system, list) or not all(isinstance(e, str) for e in system):
        raise ConfigError("SystemEvents must be a list of event names")
    pattern = _ci_get(raw, "EventPattern")
    if pattern is None:
        pattern = ""
    if not isinstance(pattern, str):
        raise ConfigError("EventPattern must be a string")
    return EventHandler(
        url_template=template,
        system_events=frozenset(e.strip().lower() for e in system if e.strip()),
        event_pattern=pattern,
    )


def parse_settings(document: Mapping[str, Any]) -> dict[str, tuple[EventHandler, ...]]:
    """``{"WebPubSub": {"Hubs": {...}}}`` -> ``{hub (lower case): handlers}``."""
    section = _ci_get(document, "WebPubSub") or {}
    if not isinstance(section, Mapping):
        raise ConfigError("WebPubSub must be an object")
    hubs = _ci_get(section, "Hubs") or {}
    if not isinstance(hubs, Mapping):
        raise ConfigError("WebPubSub.Hubs must be an object")
    result: dict[str, tuple[EventHandler, ...]] = {}
    for hub, hub_settings in hubs.items():
        if not is_valid_hub_name(hub):
            raise ConfigError(f"invalid hub name {hub!r}")
        if not isinstance(hub_settings, Mapping):
            raise ConfigError(f"settings of hub {hub!r} must be an object")
        handlers = _ci_get(hub_settings, "EventHandlers") or []
        if not isinstance(handlers, list):
            raise ConfigError(f"EventHandlers of hub {hub!r} must be a list")
        result[hub.lower()] = tuple(_parse_handler(h) for h in handlers)
    return result


def load_settings_file(path: Path) -> dict[str, tuple[EventHandler, ...]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, Mapping):
        raise ConfigError(f"{path} must hold a JSON object")
    return parse_settings(document)


class HandlerRegistry:
    """Live event-handler settings: file entries, overridden per hub by programmatic ones."""

    def __init__(self) -> None:
        self._from_file: dict[str, tuple[EventHandler, ...]] = {}
        self._explicit: dict[str, tuple[EventHandler, ...]] = {}

    def set_hub(self, hub: str, handlers: Iterable[EventHandler]) -> None:
        """Replace the handlers of ``hub`` (wins over the settings file)."""
        self._explicit[hub.lower()] = tuple(handlers)

    def remove_hub(self, hub: str) -> None:
        self._explicit.pop(hub.lower(), None)

    def replace_file_settings(self, settings: Mapping[str, Sequence[EventHandler]]) -> None:
        self._from_file = {hub.lower(): tuple(h) for hub, h in settings.items()}

    def handlers(self, hub: str) -> tuple[EventHandler, ...]:
        hub = hub.lower()
        if hub in self._explicit:
            return self._explicit[hub]
        return self._from_file.get(hub, ())

    def hubs(self) -> list[str]:
        return sorted(set(self._from_file) | set(self._explicit))

    def for_system_event(self, hub: str, event: str) -> EventHandler | None:
        return next((h for h in self.handlers(hub) if h.matches_system(event)), None)

    def for_user_event(self, hub: str, event: str) -> EventHandler | None:
        return next((h for h in self.handlers(hub) if h.matches_user(event)), None)


@dataclass(slots=True, kw_only=True)
class EmulatorConfig:
    """Everything ``create_app`` needs. Mutable so tools can adjust it before starting."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    access_key: str = DEFAULT_ACCESS_KEY
    secondary_key: str | None = None
    handlers: HandlerRegistry = field(default_factory=HandlerRegistry)
    settings_file: Path | None = None
    reload_interval: float = 1.0  # seconds between settings-file mtime checks; 0 disables
    public_host: str = "localhost"  # host name printed in the connection string
    recovery_window: float = 30.0  # reliable clients may reconnect within this many seconds
    outbound_max_bytes: int = 16 * 1024 * 1024  # per connection, written but not yet taken by the peer
    reliable_max_messages: int = 1000  # unacked messages kept for replay
    reliable_max_bytes: int = 16 * 1024 * 1024
    max_message_bytes: int = MAX_MESSAGE_BYTES
    upstream_timeout: float = 20.0  # per attempt
    validation_timeout: float = 10.0
    upstream_retry_delays: tuple[float, ...] = (1.0, 3.0, 5.0)  # 408/5xx/network errors
    connect_retry_delays: tuple[float, ...] = (0.2, 0.5)  # connect: the client's handshake waits
    validation_ttl: float = 60.0
    max_ack_ids: int = 10_000  # remembered per connection for duplicate detection
    allowed_hosts: tuple[str, ...] = ()  # Host/Origin names besides loopback; "*" = any (guard.py)
    max_connections: int = 5000  # all hubs together; more upgrades are refused with 503
    total_outbound_max_bytes: int = 128 * 1024 * 1024  # backlog of all connections together
    rest_latency: float = 0.0  # seconds added to each REST call (a network round trip); see latency.py

    def __post_init__(self) -> None:
        check_access_key(self.access_key)
        if self.secondary_key is not None:
            check_access_key(self.secondary_key)

    @property
    def keys(self) -> tuple[str, ...]:
        """Primary first, then secondary: the ``ce-signature`` order."""
        return (self.access_key,) if not self.secondary_key else (self.access_key, self.secondary_key)

    def endpoint(self, port: int | None = None) -> str:
        return f"http://{self.public_host}:{port or self.port}"

    def connection_string(self, port: int | None = None) -> str:
        return f"Endpoint={self.endpoint(port)};AccessKey={self.access_key};Version=1.0;"

    def __repr__(self) -> str:  # keys never reach logs
        return f"EmulatorConfig(host={self.host!r}, port={self.port}, hubs={self.handlers.hubs()})"
