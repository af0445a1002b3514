"""Azure Web PubSub upstream event handling for Azure Functions (Python v2 model).

The core (``headers``, ``events``, ``verify``, ``state``, ``responses``, ``upstream``)
is sans-I/O; ``functions`` adapts it to Azure Functions; ``service`` creates the
pooled REST client. Forks keep this package and write only their handlers.

The names below are loaded on first use (PEP 562): ``import shared`` imports nothing else,
and ``from shared import WebPubSubHub`` imports what the hub needs, not the MQTT models or
the service client (``bench/coldstart.py``).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import (
        Forbidden,
        InvalidBody,
        InvalidHeader,
        InvalidRequest,
        InvalidSignature,
        InvalidToken,
        MissingHeader,
        NoKeyConfigured,
        OriginNotAllowed,
        PayloadTooLarge,
        Unauthenticated,
        UnknownHub,
        UnsupportedMediaType,
        WebPubSubError,
    )
    from .events import (
        ConnectedEvent,
        ConnectEvent,
        ConnectionContext,
        DataType,
        DisconnectedEvent,
        Event,
        GroupJoinedEvent,
        GroupLeftEvent,
        UserEvent,
    )
    from .functions import WebPubSubHub
    from .mqtt import (
        MqttConnectErrorResponse,
        MqttConnectEvent,
        MqttDisconnectedEvent,
        MqttUserEvent,
    )
    from .responses import (
        ConnectErrorResponse,
        ConnectResponse,
        EventErrorResponse,
        EventResponse,
        RawRequest,
        RawResponse,
    )
    from .service import get_service_client
    from .settings import UpstreamSettings, load_settings
    from .upstream import UpstreamProtocol

# Each public name and the module that defines it.
_EXPORTS = {
    "ConnectErrorResponse": "responses",
    "ConnectEvent": "events",
    "ConnectResponse": "responses",
    "ConnectedEvent": "events",
    "ConnectionContext": "events",
    "DataType": "events",
    "DisconnectedEvent": "events",
    "Event": "events",
    "EventErrorResponse": "responses",
    "EventResponse": "responses",
    "Forbidden": "errors",
    "GroupJoinedEvent": "events",
    "GroupLeftEvent": "events",
    "InvalidBody": "errors",
    "InvalidHeader": "errors",
    "InvalidRequest": "errors",
    "InvalidSignature": "errors",
    "InvalidToken": "errors",
    "MissingHeader": "errors",
    "MqttConnectErrorResponse": "mqtt",
    "MqttConnectEvent": "mqtt",
    "MqttDisconnectedEvent": "mqtt",
    "MqttUserEvent": "mqtt",
    "NoKeyConfigured": "errors",
    "OriginNotAllowed": "errors",
    "PayloadTooLarge": "errors",
    "RawRequest": "responses",
    "RawResponse": "responses",
    "Unauthenticated": "errors",
    "UnknownHub": "errors",
    "UnsupportedMediaType": "errors",
    "UpstreamProtocol": "upstream",
    "UpstreamSettings": "settings",
    "UserEvent": "events",
    "WebPubSubError": "errors",
    "WebPubSubHub": "functions",
    "get_service_client": "service",
    "load_settings": "settings",
}

__all__ = [
    "ConnectErrorResponse",
    "ConnectEvent",
    "ConnectResponse",
    "ConnectedEvent",
    "ConnectionContext",
    "DataType",
    "DisconnectedEvent",
    "Event",
    "EventErrorResponse",
    "EventResponse",
    "Forbidden",
    "GroupJoinedEvent",
    "GroupLeftEvent",
    "InvalidBody",
    "InvalidHeader",
    "InvalidRequest",
    "InvalidSignature",
    "InvalidToken",
    "MissingHeader",
    "MqttConnectErrorResponse",
    "MqttConnectEvent",
    "MqttDisconnectedEvent",
    "MqttUserEvent",
    "NoKeyConfigured",
    "OriginNotAllowed",
    "PayloadTooLarge",
    "RawRequest",
    "RawResponse",
    "Unauthenticated",
    "UnknownHub",
    "UnsupportedMediaType",
    "UpstreamProtocol",
    "UpstreamSettings",
    "UserEvent",
    "WebPubSubError",
    "WebPubSubHub",
    "get_service_client",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__ rather than importlib.import_module: the same import, but the one that
    # ``python -X importtime`` reports (it sees only imports made through the C import path).
    value = getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
    globals()[name] = value  # the next access is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
