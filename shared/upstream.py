"""The sans-I/O core: ``RawRequest`` in, typed event out; typed reply in, ``RawResponse`` out.

    core = UpstreamProtocol("chat", settings)
    event = core.receive(raw, expected_event="connect")   # verified and typed, or raises
    raw = core.respond(event, handler_result)             # RawResponse(status, headers, body)

The core never runs user code, reads the environment, the clock or the network (the
one exception is the Entra signing-key fetch, which ``entra.py`` bounds and caches; the
async adapter awaits it before calling ``receive(..., fetch_keys=False)``). Checks run
cheapest first, and authentication runs before any body is decoded:

    size -> ce-* headers -> hub -> route (event kind and name) -> origin -> signature/token
    -> state -> body

Errors are ``WebPubSubError`` subclasses carrying their HTTP status (see ``errors.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from pydantic import ValidationError

from . import headers as h
from . import jsonwire, routes
from .errors import (
    EventMismatch,
    HandlerError,
    InvalidBody,
    InvalidHeader,
    MethodNotAllowed,
    MissingHeader,
    NoKeyConfigured,
    PayloadTooLarge,
    UnknownHub,
    UnsupportedMediaType,
    WebPubSubError,
)
from .events import (
    DATA_TYPES,
    ConnectedEvent,
    ConnectEvent,
    ConnectionContext,
    DataType,
    DisconnectedEvent,
    Event,
    GroupJoinedEvent,
    GroupLeftEvent,
    MqttUserProperty,
    UserEvent,
    build_checked,
    validate_connect,
    validate_fields,
)
from .headers import context_fields
from .responses import (
    ConnectErrorResponse,
    ConnectResponse,
    EventErrorResponse,
    EventResponse,
    RawRequest,
    RawResponse,
    connect_error_to_raw,
    connect_to_raw,
    event_to_raw,
    is_connect_error,
    text_response,
)
from .settings import UpstreamSettings
from .state import decode_state
from .verify import SignatureVerifier, check_origin

if TYPE_CHECKING:
    from .entra import EntraTokenValidator
    from .mqtt import MqttConnectErrorResponse

MAX_BODY_BYTES = 1024 * 1024  # the service's own message limit (1 MB)
METADATA_PREFIX = "x-webpubsub-metadata-"
MQTT_PROPERTY_PREFIX = "mqtt-"

HandlerResult = Union[  # noqa: UP007 - a string forward reference cannot take part in "|"
    ConnectResponse,
    ConnectErrorResponse,
    "MqttConnectErrorResponse",  # in mqtt.py, imported on first use
    EventResponse,
    EventErrorResponse,
    None,
]


# Lower-case header names (the adapter hands over lower-cased headers).
_CONTENT_TYPE, _AUTHORIZATION, _SIGNATURE, _STATE, _ORIGIN = (
    name.lower()
    for name in (
        h.CONTENT_TYPE,
        h.AUTHORIZATION,
        h.CE_SIGNATURE,
        h.CE_CONNECTION_STATE,
        h.WEBHOOK_REQUEST_ORIGIN,
    )
)
_NO_CONTENT = RawResponse(204)


def _json_object(body: bytes) -> dict[str, Any]:
    """The JSON object body of a system or group event (empty body: ``{}``)."""
    if not body:
        return {}
    try:
        fields = jsonwire.parse(body)
    except ValueError as exc:
        raise InvalidBody("body is not valid JSON") from exc
    if not isinstance(fields, dict):
        raise InvalidBody("body is not a JSON object")
    return fields


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


# Content-Type values the service sends (bare for user events, with a charset for system
# events), mapped to their media types without a parse.
_MEDIA_TYPES: dict[str | None, str] = {name: name for name in DATA_TYPES}
_MEDIA_TYPES["application/json; charset=utf-8"] = "application/json"


def _optional_headers(headers: Mapping[str, str]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """``x-webpubsub-metadata-<key>`` -> metadata; ``mqtt-<name>`` -> MQTT user properties."""
    metadata: dict[str, str] = {}
    properties: list[dict[str, str]] = []
    for name, value in headers.items():
        if name.startswith(METADATA_PREFIX):
            metadata[name[len(METADATA_PREFIX) :]] = h.check_text(name, value)
        elif name.startswith(MQTT_PROPERTY_PREFIX):
            properties.append({"name": name[len(MQTT_PROPERTY_PREFIX) :], "value": h.check_text(name, value)})
    return metadata, properties


# ``ConnectionContext`` fields every request sets (the ``ce-*`` attributes and the origin);
# ``state`` is set too when the request carries ``ce-connectionState``.
_CONTEXT_SET = frozenset(
    ("hub", "connection_id", "event_name", "event_type", "event_id", "user_id", "subprotocol")
    + ("origin", "physical_connection_id", "session_id")
)
_CONTEXT_SET_WITH_STATE = _CONTEXT_SET | {"state"}


def _system_event(context: ConnectionContext, is_mqtt: bool, content_type: str, body: bytes) -> Event:
    """connect, connected, disconnected and group events: a JSON object body (or none)."""
    if content_type and content_type != "application/json":
        raise UnsupportedMediaType()
    event_type = context.event_type
    if event_type == "azure.webpubsub.sys.connected":  # its body is always {}: nothing to validate
        return build_checked(ConnectedEvent, {"context": context}, {"context"})
    # A body comes from the client (claims, query, headers) or the service: validated, with
    # the context passed as the model it already is (taken as is, not validated again).
    fields = _json_object(body)
    fields["context"] = context
    if event_type == "azure.webpubsub.sys.connect":
        if "mqtt" in fields or is_mqtt:
            from .mqtt import MqttConnectEvent  # MQTT models: loaded on the first MQTT event

            return validate_connect(MqttConnectEvent, fields)
        return validate_connect(ConnectEvent, fields)
    if event_type == "azure.webpubsub.sys.disconnected":
        if fields.get("mqtt") is not None:
            from .mqtt import MqttDisconnectedEvent

            return validate_fields(MqttDisconnectedEvent, fields)
        return validate_fields(DisconnectedEvent, fields)
    if event_type == "azure.webpubsub.gp.joined":
        return validate_fields(GroupJoinedEvent, fields)
    if event_type == "azure.webpubsub.gp.left":
        return validate_fields(GroupLeftEvent, fields)
    raise InvalidHeader(h.CE_TYPE, "unknown event type")


# Enum members as module constants: ``DataType.TEXT`` is a metaclass lookup on every use.
_TEXT, _JSON = DataType.TEXT, DataType.JSON


_USER_EVENT_SET = frozenset(("context", "data", "data_type"))
_PROPERTY_SET = frozenset(("name", "value"))


def _user_event(
    context: ConnectionContext, is_mqtt: bool, headers: Mapping[str, str], content_type: str, body: bytes
) -> UserEvent:
    """A user event: the body typed by its content type, plus metadata / MQTT properties.

    Every field is the core's own (the decoded body, a ``DataType``, header text checked by
    ``check_text``), so the event is built without a second validation (``build_checked``).
    """
    data_type = DATA_TYPES.get(content_type)
    if data_type is None:
        raise UnsupportedMediaType()
    data: Any
    if data_type is _TEXT:
        try:
            data = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidBody("text body is not UTF-8") from exc
    elif data_type is _JSON:
        try:
            data = jsonwire.parse(body)
        except ValueError as exc:  # bad JSON, bad UTF-8, nested too deep
            raise InvalidBody("body is not valid JSON") from exc
    else:
        data = body
    fields_set = set(_USER_EVENT_SET)
    # Metadata headers (and MQTT property headers, which only MQTT events have) are rare:
    # one search over the joined names (a C call) decides whether the per-header loop runs.
    names = "\n".join(headers)
    if METADATA_PREFIX in names or (is_mqtt and MQTT_PROPERTY_PREFIX in names):
        metadata, properties = _optional_headers(headers)
        if metadata:
            fields_set.add("metadata")
    else:
        metadata, properties = {}, []
    values = {"context": context, "data": data, "data_type": data_type, "metadata": metadata}
    if is_mqtt:
        from .mqtt import MqttUserEvent

        values["user_properties"] = [
            build_checked(MqttUserProperty, prop, set(_PROPERTY_SET)) for prop in properties
        ]
        fields_set.add("user_properties")
        return build_checked(MqttUserEvent, values, fields_set)
    return build_checked(UserEvent, values, fields_set)


def _misfit(event: Event, result: object) -> str:
    """Why a handler's result does not fit its event (logged, never sent)."""
    if is_connect_error(result):
        return "connect error returned for a non-connect event"
    if isinstance(event, ConnectEvent):
        return "connect handler must return ConnectResponse or an error"
    if isinstance(event, UserEvent):
        return "event handler must return EventResponse or an error"
    # connected / disconnected / group events cannot reply or change state
    return f"{event.context.event_name} handlers must return None"


def _route_mismatch(attributes: h.CloudEventAttributes, route_event: str) -> EventMismatch:
    if attributes["event_name"] == route_event and attributes["event_type"].startswith(h.TYPE_USER_PREFIX):
        # The URL template .../{event} posts a client's custom event "connect" here too.
        return EventMismatch(f"a user event cannot use the reserved name {route_event!r}")
    return EventMismatch()


class UpstreamProtocol:
    """Validates and decodes the upstream requests of one hub."""

    def __init__(self, hub: str, settings: UpstreamSettings) -> None:
        self.hub = hub
        self._hub_lower = hub.lower()
        self.settings = settings
        # Computed once: every request asks these.
        self._verifier = SignatureVerifier(settings.access_keys) if settings.access_keys else None
        self._no_auth_configured = not settings.has_upstream_auth
        self.entra: EntraTokenValidator | None = None
        if settings.entra is not None:
            from .entra import EntraTokenValidator  # lazy: PyJWT only when configured

            self.entra = EntraTokenValidator(settings.entra)
        self._route_types: dict[str, str] = {}  # route event name -> the ce-type it serves
        # With the dev override and nothing to compare with, accept any origin.
        self._origins = settings.allowed_origins or (
            frozenset({"*"}) if settings.allow_unauthenticated else frozenset()
        )

    # -- abuse protection ---------------------------------------------------------------

    def validate(self, request: RawRequest) -> RawResponse:
        """Answer the abuse-protection ``OPTIONS`` request (protocol reference section 4).

        200 with ``WebHook-Allowed-Origin: <the requested origin>`` when a requested
        origin is on the allow-list; 400 when no origin was sent; 403 otherwise.
        """
        if request.method.upper() not in ("OPTIONS", "GET"):
            raise MethodNotAllowed()
        requested = request.headers.get(_ORIGIN)
        if requested not in self._origins and not h.parse_origins(requested):
            raise MissingHeader(h.WEBHOOK_REQUEST_ORIGIN)
        return RawResponse(200, {h.WEBHOOK_ALLOWED_ORIGIN: self._allowed_origin(requested)})

    # -- events -------------------------------------------------------------------------

    def receive(
        self, request: RawRequest, expected_event: str | None = None, *, fetch_keys: bool = True
    ) -> Event:
        """Verify and decode one event ``POST``.

        Args:
            request: lower-cased headers and the raw body.
            expected_event: the event name this endpoint serves (``None``: any). The
                event's kind must match too: a *user* event named ``connect`` is refused
                on the ``connect`` route (see ``routes.event_type``).
            fetch_keys: in Entra mode, fetch due signing keys here (blocking, bounded).

        Raises:
            WebPubSubError: a subclass whose ``status`` is the 4xx to answer.
        """
        method, headers, body = request
        if method != "POST" and method.upper() != "POST":
            raise MethodNotAllowed()
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        attributes = context_fields(headers)
        hub = attributes["hub"]
        if hub != self.hub and hub.lower() != self._hub_lower:
            raise UnknownHub()
        event_type = attributes["event_type"]
        if expected_event is not None:
            route_type = self._route_types.get(expected_event) or self._add_route(expected_event)
            if event_type != route_type:
                raise _route_mismatch(attributes, expected_event)
        # Authentication: the origin, then every configured mechanism must pass; nothing
        # configured fails closed. (Written out here, not in a method: this runs per event.)
        requested = headers.get(_ORIGIN)
        if self._no_auth_configured:
            attributes["origin"] = self._unauthenticated_origin(requested)
        else:
            # what the service sends, one allowed host as listed, is taken as is
            origin = requested if requested in self._origins else self._allowed_origin(requested)
            attributes["origin"] = origin
            if self._verifier is not None:
                self._verifier.verify(headers.get(_SIGNATURE), attributes["connection_id"])
            if self.entra is not None:
                self.entra.verify(headers.get(_AUTHORIZATION), may_fetch=fetch_keys)
        state = headers.get(_STATE)
        if state:  # no header: the model's default, an empty state (set, not sent)
            attributes["state"] = decode_state(state)
        # Every value is now what validating it would give (text from checked headers, the
        # state a decoded JSON object): the dict becomes the context without a second pass.
        context = build_checked(
            ConnectionContext,
            attributes,  # type: ignore[arg-type]
            set(_CONTEXT_SET_WITH_STATE if state else _CONTEXT_SET),
        )
        content_type = headers.get(_CONTENT_TYPE)
        # The spellings the service sends are looked up; any other is parsed.
        content_type = _MEDIA_TYPES.get(content_type) or media_type(content_type)
        # h.is_mqtt, written out (a call less per event)
        is_mqtt = (
            attributes["physical_connection_id"] is not None
            or attributes["subprotocol"] == h.MQTT_SUBPROTOCOL
        )
        if event_type.startswith(h.TYPE_USER_PREFIX):
            return _user_event(context, is_mqtt, headers, content_type, body)
        try:
            return _system_event(context, is_mqtt, content_type, body)
        except ValidationError as exc:
            raise InvalidBody(f"invalid {attributes['event_name']} body") from exc

    def _add_route(self, event_name: str) -> str:
        """The ``ce-type`` a route serves, computed once per route (a dict lookup after)."""
        route_type = self._route_types[event_name] = routes.event_type(event_name)
        return route_type

    def _unauthenticated_origin(self, requested: str | None) -> str | None:
        """No key and no Entra settings: fail closed, unless the development override is set.

        Returns the first requested origin in development mode.
        """
        if self.settings.allow_unauthenticated:  # explicit, logged development override
            origins = h.parse_origins(requested)
            return origins[0] if origins else None
        raise NoKeyConfigured()

    def _allowed_origin(self, requested: str | None) -> str:
        """The first requested host (``WebHook-Request-Origin``) on the allow-list, or 403."""
        if requested in self._origins:  # what the service sends: one allowed host, as listed
            return requested
        return check_origin(h.parse_origins(requested), self._origins)

    # -- replies ------------------------------------------------------------------------

    def respond(self, event: Event, result: HandlerResult) -> RawResponse:
        """Turn a handler's result into the wire reply for ``event``.

        Raises:
            HandlerError: the result does not fit the event (a bug in the handler).
        """
        if result is None:  # the usual reply, for every event kind: 204, nothing changes
            return _NO_CONTENT
        # The usual replies first, found by exact type and then isinstance checks that
        # succeed: a failing isinstance on a pydantic class goes through ABCMeta and costs
        # several times more.
        reply_type = type(result)
        if reply_type is ConnectResponse and isinstance(event, ConnectEvent):
            offered = event.__dict__["subprotocols"]  # one read, not one through pydantic's hook
            return connect_to_raw(result, offered)  # type: ignore[arg-type]
        if reply_type is EventResponse and isinstance(event, UserEvent):
            return event_to_raw(result)  # type: ignore[arg-type]
        if isinstance(event, UserEvent):
            if isinstance(result, EventResponse):
                return event_to_raw(result)
        elif isinstance(event, ConnectEvent):
            if isinstance(result, ConnectResponse):
                return connect_to_raw(result, event.subprotocols)
            if is_connect_error(result):
                return connect_error_to_raw(result)  # type: ignore[arg-type]
        if isinstance(result, EventErrorResponse):
            return text_response(result.status, result.detail)
        raise HandlerError(_misfit(event, result))

    @staticmethod
    def error_response(error: WebPubSubError) -> RawResponse:
        """The reply for a refused request: its status and public reason, nothing else."""
        if isinstance(error, HandlerError):
            return text_response(500, "internal error")
        return text_response(error.status, error.reason)
