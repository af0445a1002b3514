"""Azure Web PubSub upstream event handling for Azure Functions (Python v2 model).

The core (``headers``, ``events``, ``verify``, ``state``, ``responses``, ``upstream``)
is sans-I/O; ``functions`` adapts it to Azure Functions; ``service`` creates the
pooled REST client. Forks keep this package and write only their handlers.
"""

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
    MqttConnectEvent,
    MqttDisconnectedEvent,
    MqttUserEvent,
    UserEvent,
)
from .functions import WebPubSubHub
from .responses import (
    ConnectErrorResponse,
    ConnectResponse,
    EventErrorResponse,
    EventResponse,
    MqttConnectErrorResponse,
    RawRequest,
    RawResponse,
)
from .service import get_service_client
from .settings import UpstreamSettings, load_settings
from .upstream import UpstreamProtocol

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
