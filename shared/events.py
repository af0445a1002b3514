"""Step 2 of the data path: typed, immutable event models.

Each upstream request becomes exactly one of the ``Event`` classes below; callers
branch on the type. Models are frozen pydantic models, so an event that does not
match the protocol cannot be built: bodies are validated once, from bytes
(``validate_fields``), and what the core has already checked itself (header text, the
decoded state and user-event data) is wrapped without a second pass (``build_checked``).
Shapes follow protocol reference section 5 (connect, connected, disconnected,
user events, group presence); the MQTT variants are in ``mqtt.py``, loaded on first use.
"""

from enum import StrEnum
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class DataType(StrEnum):
    """How a user-event payload is typed; maps one-to-one onto a Content-Type."""

    TEXT = "text"
    JSON = "json"
    BINARY = "binary"
    PROTOBUF = "protobuf"


CONTENT_TYPES: dict[DataType, str] = {
    DataType.TEXT: "text/plain",
    DataType.JSON: "application/json",
    DataType.BINARY: "application/octet-stream",
    DataType.PROTOBUF: "application/x-protobuf",
}
DATA_TYPES: dict[str, DataType] = {mime: dt for dt, mime in CONTENT_TYPES.items()}


_new_object = object.__new__
_set_slot = object.__setattr__  # pydantic's own model_construct sets its slots this way
_Model = TypeVar("_Model", bound=BaseModel)


def build_checked(cls: type[_Model], values: dict[str, Any], fields_set: set[str]) -> _Model:
    """Wrap values the core produced and checked itself, without validating them again.

    For the core's per-request path only: ``values`` holds every field of ``cls``, in field
    order, each already what validation would make of it (``str`` header values, a decoded
    state ``dict``, a ``DataType``, ...); ``fields_set`` names the fields the input set.
    This is what ``model_construct`` ends with, without its per-field Python loop (which
    costs more than validating), and it needs no validator, so a first request does not
    build one. A function, not a classmethod: looking a classmethod up on a pydantic model
    class goes through its metaclass's ``__getattr__`` hook on every call (bench/handler.py).
    ``tests/unit/test_checked_events.py`` holds every event built this way equal, field for
    field and set for set, to the validated one.
    """
    model = _new_object(cls)
    _set_slot(model, "__dict__", values)
    _set_slot(model, "__pydantic_fields_set__", fields_set)
    _set_slot(model, "__pydantic_extra__", None)
    _set_slot(model, "__pydantic_private__", None)
    return model


# Each model's validator, once built: a dict lookup per request instead of a class
# attribute read through pydantic's metaclass.
_validators: dict[type[BaseModel], Any] = {}


def validate_fields(cls: type[_Model], fields: dict[str, Any]) -> _Model:
    """Validate already-decoded fields into ``cls``: the core's way to build a body's event.

    Calls the model's pydantic-core validator directly; ``model_validate`` adds Python-level
    steps that this per-request path does not need (``bench/handler.py``). The first call
    for a model builds its validator (``defer_build``).

    Raises:
        ValidationError: the fields do not describe this model.
    """
    validator = _validators.get(cls)
    if validator is None:
        if not cls.__pydantic_complete__:  # deferred: build the validator now
            cls.model_rebuild()
        validator = _validators[cls] = cls.__pydantic_validator__
    return validator.validate_python(fields)  # type: ignore[no-any-return]


class _Frozen(BaseModel):
    # defer_build: a model's validator is built on its first use, not at import, so a cold
    # start pays only for the models its first request needs (see bench/coldstart.py).
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", defer_build=True)

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Self:
        """Validate already-decoded fields (``validate_fields``).

        Raises:
            ValidationError: the fields do not describe this model.
        """
        return validate_fields(cls, fields)


class ConnectionContext(_Frozen):
    """Who and where: the connection an event belongs to (from the ``ce-*`` headers)."""

    hub: str
    connection_id: str
    event_name: str
    event_type: str
    event_id: str = ""
    user_id: str | None = None
    subprotocol: str | None = None
    state: dict[str, Any] = Field(default_factory=dict)
    origin: str | None = None
    physical_connection_id: str | None = None
    session_id: str | None = None

    @property
    def is_mqtt(self) -> bool:
        return self.physical_connection_id is not None or self.subprotocol == "mqtt"


def _as_string_lists(value: Any) -> Any:
    """``{name: scalar | [values]}`` -> ``{name: [str, ...]}`` (nulls dropped, others as text)."""
    if not isinstance(value, dict):
        return value
    out: dict[str, list[str]] = {}
    for key, items in value.items():
        seq = items if isinstance(items, list) else [items]
        out[str(key)] = [item if isinstance(item, str) else str(item) for item in seq if item is not None]
    return out


def _tolerant_connect_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A connect body in an odd but harmless shape, normalised (see ``ConnectEvent.from_fields``)."""
    out = {name: value for name, value in fields.items() if value is not None}  # null: default
    for name in ("claims", "query", "headers"):
        if name in out:
            out[name] = _as_string_lists(out[name])
    return out


class ClientCertificate(_Frozen):
    thumbprint: str
    content: str | None = None


class MqttUserProperty(_Frozen):
    name: str
    value: str


class ConnectEvent(_Frozen):
    """A client is connecting (blocking): accept, reject, or set identity, groups, roles.

    Built from the JSON body (``claims``, ``query``, ``headers``, ``subprotocols``,
    ``clientCertificates``) plus the context; claim/query/header values are always lists.
    """

    context: ConnectionContext
    claims: dict[str, list[str]] = Field(default_factory=dict)
    query: dict[str, list[str]] = Field(default_factory=dict)
    headers: dict[str, list[str]] = Field(default_factory=dict)
    subprotocols: list[str] = Field(default_factory=list)
    client_certificates: list[ClientCertificate] = Field(default_factory=list, alias="clientCertificates")

    # JSON numbers in claim lists (iat, exp, ...) become text without leaving pydantic-core.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Self:
        """Validate a decoded body (plus ``context``): ``validate_connect``."""
        return validate_connect(cls, fields)

    def claim(self, name: str) -> str | None:
        """First value of a token claim, if any."""
        values = self.claims.get(name)
        return values[0] if values else None


_Connect = TypeVar("_Connect", bound=ConnectEvent)


def validate_connect(cls: type[_Connect], fields: dict[str, Any]) -> _Connect:
    """Validate a decoded connect body (plus ``context``) into ``cls``.

    The service's documented shape (``{name: [str, ...]}``, lists never null) is
    validated in one pass inside pydantic-core. Anything else that is still
    meaningful (a scalar claim, a null list, a null inside a list) is normalised
    and validated again; only that rare path runs Python per field.

    Raises:
        ValidationError: the body does not describe a connect request.
    """
    try:
        return validate_fields(cls, fields)
    except ValidationError:
        return validate_fields(cls, _tolerant_connect_fields(fields))


class ConnectedEvent(_Frozen):
    """The connection is established (non-blocking; the reply is only logged by the service)."""

    context: ConnectionContext


class DisconnectedEvent(_Frozen):
    """The connection ended (non-blocking; sent once per accepted connection)."""

    context: ConnectionContext
    reason: str | None = None


class UserEvent(_Frozen):
    """A ``message`` from a simple client or a custom event from a subprotocol client (blocking).

    ``data`` is ``str`` for text, ``bytes`` for binary and protobuf, and the parsed JSON
    value for JSON.
    """

    context: ConnectionContext
    data: Any
    data_type: DataType
    metadata: dict[str, str] = Field(default_factory=dict)

    @property
    def text(self) -> str | None:
        return self.data if self.data_type is DataType.TEXT else None


class GroupJoinedEvent(_Frozen):
    """The connection joined a group (group presence, when enabled on the handler)."""

    context: ConnectionContext
    group: str = Field(min_length=1, max_length=1024)


class GroupLeftEvent(_Frozen):
    context: ConnectionContext
    group: str = Field(min_length=1, max_length=1024)


Event = ConnectEvent | ConnectedEvent | DisconnectedEvent | UserEvent | GroupJoinedEvent | GroupLeftEvent


# The MQTT variants live in ``mqtt.py``, imported on first use: an app without MQTT
# clients never builds those models (about 1.5 ms of a cold start).
_MQTT_NAMES = frozenset(
    (
        "MqttConnectProperties",
        "MqttConnectEvent",
        "MqttDisconnectPacket",
        "MqttDisconnectedProperties",
        "MqttDisconnectedEvent",
        "MqttUserEvent",
    )
)


def __getattr__(name: str) -> Any:
    if name in _MQTT_NAMES:
        from . import mqtt

        return getattr(mqtt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
