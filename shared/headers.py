"""Step 1 of the data path: CloudEvents binary-mode headers -> ``CloudEventAttributes``.

Input: a mapping of HTTP header names to values (lower case). Output: the checked
``CloudEventAttributes``. Errors: ``MissingHeader`` / ``InvalidHeader`` (400).
Follows the Web PubSub CloudEvents extension (protocol reference sections 2 and 5).

Every ``ce-*`` name used anywhere in this project (adapter, emulator, tests,
benchmarks) is spelled once, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from .errors import InvalidHeader, MissingHeader

# Wire spellings (header names are case-insensitive; this is how the service writes them).
CE_SPECVERSION = "ce-specversion"
CE_TYPE = "ce-type"
CE_SOURCE = "ce-source"
CE_ID = "ce-id"
CE_TIME = "ce-time"
CE_AWPSVERSION = "ce-awpsversion"
CE_HUB = "ce-hub"
CE_CONNECTION_ID = "ce-connectionId"
CE_EVENT_NAME = "ce-eventName"
CE_USER_ID = "ce-userId"
CE_SUBPROTOCOL = "ce-subprotocol"
CE_CONNECTION_STATE = "ce-connectionState"
CE_SIGNATURE = "ce-signature"
CE_PHYSICAL_CONNECTION_ID = "ce-physicalConnectionId"
CE_SESSION_ID = "ce-sessionId"
WEBHOOK_REQUEST_ORIGIN = "WebHook-Request-Origin"
WEBHOOK_ALLOWED_ORIGIN = "WebHook-Allowed-Origin"
AUTHORIZATION = "Authorization"
CONTENT_TYPE = "Content-Type"

SPEC_VERSION = "1.0"
AWPS_VERSION = "1.0"

# ce-type prefixes
TYPE_SYSTEM_PREFIX = "azure.webpubsub.sys."
TYPE_USER_PREFIX = "azure.webpubsub.user."
TYPE_GROUP_PREFIX = "azure.webpubsub.gp."

MQTT_SUBPROTOCOL = "mqtt"

# Header values are bounded so a hostile caller cannot make us hash megabytes.
MAX_ID_LENGTH = 1024

# Lower-case spellings, computed once: the parser looks headers up by these.
_TYPE, _HUB, _CONNECTION_ID, _EVENT_NAME = (
    n.lower() for n in (CE_TYPE, CE_HUB, CE_CONNECTION_ID, CE_EVENT_NAME)
)
_ID, _USER_ID, _SUBPROTOCOL = (n.lower() for n in (CE_ID, CE_USER_ID, CE_SUBPROTOCOL))
_PHYSICAL_ID, _SESSION_ID, _ORIGIN = (
    n.lower() for n in (CE_PHYSICAL_CONNECTION_ID, CE_SESSION_ID, WEBHOOK_REQUEST_ORIGIN)
)
_KNOWN_PREFIXES = (TYPE_SYSTEM_PREFIX, TYPE_USER_PREFIX, TYPE_GROUP_PREFIX)


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the headers keyed by lower-case name (the last value wins)."""
    return {name.lower(): value for name, value in headers.items()}


class CloudEventAttributes(TypedDict):
    """The ``ce-*`` attributes of one upstream request that describe it, checked for shape.

    Keyed by the ``ConnectionContext`` field names. ``context_fields`` returns them in that
    model's field order with ``state`` (empty) and ``origin`` (``None``) in their places;
    the core sets those two once the request is authenticated, and this very dict becomes
    the event's context (``events.build_checked``): built once, never copied.
    ``ce-signature``, ``ce-connectionState`` and the origin header are read by the core
    where it checks them; ``ce-source``, ``ce-time`` and the versions are not used.
    """

    hub: str
    connection_id: str
    event_name: str
    event_type: str
    event_id: str
    user_id: str | None
    subprotocol: str | None
    state: NotRequired[dict[str, Any]]  # set by the core from ce-connectionState, if sent
    origin: NotRequired[str | None]  # set by the core (``verify.check_origin``)
    physical_connection_id: str | None
    session_id: str | None


def is_mqtt(attributes: CloudEventAttributes) -> bool:
    """An MQTT connection: it has a physical connection id or speaks the ``mqtt`` subprotocol."""
    return attributes["physical_connection_id"] is not None or attributes["subprotocol"] == MQTT_SUBPROTOCOL


def parse_origins(value: str | None) -> tuple[str, ...]:
    """Split a ``WebHook-Request-Origin`` value (``a, b``) into lower-cased hosts."""
    if not value:
        return ()
    if "," not in value:  # what the service sends: one host (4x cheaper than the general path)
        host = value.strip().lower()
        return (host,) if host else ()
    return tuple(host for host in (part.strip().lower() for part in value.split(",")) if host)


def parse_cloud_event_headers(headers: Mapping[str, str]) -> CloudEventAttributes:
    """Parse the CloudEvents headers of a POST into the attributes that describe it.

    ``context_fields`` without the two fields the core sets (``state`` and ``origin``).
    """
    attributes = context_fields(headers)
    del attributes["state"], attributes["origin"]
    return attributes


def context_fields(headers: Mapping[str, str]) -> CloudEventAttributes:
    """Parse the CloudEvents headers of a POST into the fields of the event's context.

    The origin header is not parsed here (the core does, with its allow-list), but its
    text is checked like the others: the allowed origin reaches handlers too. ``state`` is
    a new empty dict and ``origin`` is ``None`` until the core sets them.

    Args:
        headers: header names in **lower case** (see ``lower_keys``).

    Raises:
        MissingHeader: a required ``ce-*`` header is absent or empty.
        InvalidHeader: a value is too long, inconsistent (``ce-type`` vs ``ce-eventName``)
            or not valid UTF-8.
    """
    get = headers.get
    event_type: str | None
    hub: str | None
    connection_id: str | None
    event_name: str | None
    try:  # sent with every event: subscripts, cheaper than get() calls
        event_type = headers[_TYPE]
        hub = headers[_HUB]
        connection_id = headers[_CONNECTION_ID]
        event_name = headers[_EVENT_NAME]
    except KeyError:  # one is missing: the checks below name the first
        event_type, hub = get(_TYPE), get(_HUB)
        connection_id, event_name = get(_CONNECTION_ID), get(_EVENT_NAME)
    if not event_type:
        raise MissingHeader(CE_TYPE)
    if not hub:
        raise MissingHeader(CE_HUB)
    if not connection_id:
        raise MissingHeader(CE_CONNECTION_ID)
    if not event_name:
        raise MissingHeader(CE_EVENT_NAME)
    if len(connection_id) > MAX_ID_LENGTH:
        raise InvalidHeader(CE_CONNECTION_ID, "too long")
    if len(hub) > 128:
        raise InvalidHeader(CE_HUB, "too long")
    if not event_type.startswith(_KNOWN_PREFIXES):
        raise InvalidHeader(CE_TYPE, "not a Web PubSub event type")
    # user event names may contain dots, so compare the whole type, not its last segment
    if event_type.startswith(TYPE_USER_PREFIX):
        consistent = event_type == TYPE_USER_PREFIX + event_name
    else:
        consistent = event_type.rpartition(".")[2] == event_name
    if not consistent:
        raise InvalidHeader(CE_TYPE, "does not match ce-eventName")
    event_id = get(_ID, "")
    user_id = get(_USER_ID) or None
    subprotocol = get(_SUBPROTOCOL) or None
    physical_id = get(_PHYSICAL_ID) or None
    session_id = get(_SESSION_ID) or None
    origin = get(_ORIGIN)
    # The values a handler sees must be real text. One ASCII test covers the usual case;
    # a value with undecodable bytes (surrogate escapes, as aiohttp reads them) is a 400
    # here instead of a failure when a reply built from it is encoded.
    # (``or ""``: formatting a None is three times slower than an empty string.)
    text = (
        f"{connection_id}{event_name}{hub}{event_id}{user_id or ''}{subprotocol or ''}"
        f"{physical_id or ''}{session_id or ''}{origin or ''}"
    )
    if not text.isascii():
        _check_text(headers)
    return {  # in ConnectionContext's field order
        "hub": hub,
        "connection_id": connection_id,
        "event_name": event_name,
        "event_type": event_type,
        "event_id": event_id,
        "user_id": user_id,
        "subprotocol": subprotocol,
        "state": {},
        "origin": None,
        "physical_connection_id": physical_id,
        "session_id": session_id,
    }


# The headers whose values reach handlers as text (checked by ``_check_text``).
_TEXT_HEADERS = (
    CE_CONNECTION_ID,
    CE_EVENT_NAME,
    CE_HUB,
    CE_ID,
    CE_USER_ID,
    CE_SUBPROTOCOL,
    CE_PHYSICAL_CONNECTION_ID,
    CE_SESSION_ID,
    WEBHOOK_REQUEST_ORIGIN,
)


def check_text(name: str, value: str) -> str:
    """Return ``value`` if it encodes as UTF-8, else raise ``InvalidHeader`` (400).

    HTTP servers that decode header bytes leniently (aiohttp uses ``surrogateescape``)
    hand over lone surrogates for bytes that are not UTF-8; such a string cannot be
    encoded again, so it must not reach a handler.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidHeader(name, "not valid UTF-8") from None
    return value


def _check_text(headers: Mapping[str, str]) -> None:
    for name in _TEXT_HEADERS:
        check_text(name, headers.get(name.lower()) or "")


def build_cloud_event_headers(
    *,
    hub: str,
    connection_id: str,
    event_type: str,
    event_name: str,
    event_id: str,
    time: str,
    origin: str,
    signature: str,
    user_id: str | None = None,
    subprotocol: str | None = None,
    connection_state: str | None = None,
    physical_connection_id: str | None = None,
    session_id: str | None = None,
    source: str | None = None,
) -> dict[str, str]:
    """Build the headers the service sends with an event (used by the emulator and tests)."""
    headers = {
        CE_SPECVERSION: SPEC_VERSION,
        CE_AWPSVERSION: AWPS_VERSION,
        CE_TYPE: event_type,
        CE_SOURCE: source or f"/hubs/{hub}/client/{connection_id}",
        CE_ID: event_id,
        CE_TIME: time,
        CE_HUB: hub,
        CE_CONNECTION_ID: connection_id,
        CE_EVENT_NAME: event_name,
        CE_SIGNATURE: signature,
        WEBHOOK_REQUEST_ORIGIN: origin,
    }
    optional = {
        CE_USER_ID: user_id,
        CE_SUBPROTOCOL: subprotocol,
        CE_CONNECTION_STATE: connection_state,
        CE_PHYSICAL_CONNECTION_ID: physical_connection_id,
        CE_SESSION_ID: session_id,
    }
    headers.update({name: value for name, value in optional.items() if value})
    return headers
