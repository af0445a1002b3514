"""The MQTT variants of the events and of the connect refusal (protocol reference section 5).

Imported on the first MQTT request (or when a handler imports them), not at cold start:
``events`` and ``responses`` hand these names out on first use, so
``from shared.events import MqttConnectEvent`` and ``from shared import MqttUserEvent``
keep working.
"""

from pydantic import Field

from .events import ConnectEvent, DisconnectedEvent, MqttUserProperty, UserEvent, _Frozen
from .responses import ErrorStatus


class MqttConnectProperties(_Frozen):
    protocol_version: int = Field(alias="protocolVersion")
    clean_start: bool = Field(default=True, alias="cleanStart")
    username: str | None = None
    password: str | None = None  # base64, as sent by the service
    user_properties: list[MqttUserProperty] | None = Field(default=None, alias="userProperties")


class MqttConnectEvent(ConnectEvent):
    mqtt: MqttConnectProperties


class MqttDisconnectPacket(_Frozen):
    code: int = 0
    user_properties: list[MqttUserProperty] | None = Field(default=None, alias="userProperties")


class MqttDisconnectedProperties(_Frozen):
    initiated_by_client: bool = Field(default=False, alias="initiatedByClient")
    disconnect_packet: MqttDisconnectPacket | None = Field(default=None, alias="disconnectPacket")


class MqttDisconnectedEvent(DisconnectedEvent):
    mqtt: MqttDisconnectedProperties


class MqttUserEvent(UserEvent):
    """A PUBLISH to ``$webpubsub/server/events/<name>``; ``mqtt-*`` headers become properties."""

    user_properties: list[MqttUserProperty] = Field(default_factory=list)


class MqttConnectErrorResponse(_Frozen):
    """Reject an MQTT connection; ``code`` becomes the CONNACK return / reason code."""

    status: ErrorStatus = 401
    code: int = Field(ge=0, le=255)
    reason: str | None = None
    user_properties: list[MqttUserProperty] | None = None
