"""Step 5 of the data path: typed replies -> ``RawResponse(status, headers, body)``.

Handlers return one of the ``*Response`` classes below (or ``None``); the core turns
it into bytes with ``to_raw``. Wire rules follow protocol reference sections 5 and 6:

* connect success: 204 with no body, or 200 JSON ``{userId, groups, roles, subprotocol}``
  (only the fields that were set);
* connect failure: 400/401/403/500 with a plain-text detail; MQTT clients get the
  JSON body ``{"mqtt": {"code", "reason", "userProperties"}}``;
* user-event reply: 200 with the data and the ``Content-Type`` of its data type, or 204;
* ``ce-connectionState`` set from ``state`` on blocking replies (``state={}`` clears it).
"""

import operator
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from . import jsonwire
from .errors import HandlerError
from .events import CONTENT_TYPES, DataType, MqttUserProperty, _Frozen
from .headers import CE_CONNECTION_STATE, CONTENT_TYPE
from .state import encode_state

if TYPE_CHECKING:
    from .mqtt import MqttConnectErrorResponse

ErrorStatus = Literal[400, 401, 403, 500]


class RawRequest(NamedTuple):
    """One HTTP request as the core sees it: header names must be lower case."""

    method: str
    headers: Mapping[str, str]
    body: bytes = b""


_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class RawResponse(NamedTuple):
    status: int
    headers: Mapping[str, str] = _NO_HEADERS
    body: bytes = b""


# tuple.__new__: what RawResponse(...) does, without the Python function namedtuple adds
# (the two 200 replies below are built per event).
_raw_response = tuple.__new__


def text_response(status: int, text: str) -> RawResponse:
    return RawResponse(status, {CONTENT_TYPE: "text/plain; charset=utf-8"}, text.encode())


class ConnectResponse(_Frozen):
    """Accept a connection. Unset fields keep the token's values."""

    user_id: str | None = None
    groups: list[str] | None = None
    roles: list[str] | None = None
    subprotocol: str | None = None
    state: dict[str, Any] | None = None
    mqtt_user_properties: list[MqttUserProperty] | None = None


class ConnectErrorResponse(_Frozen):
    """Reject a connection; the service returns ``status`` to the client."""

    status: ErrorStatus = 401
    detail: str = ""


class EventResponse(_Frozen):
    """Reply to a user event. ``data_type`` defaults from the value's Python type."""

    data: Any = None
    data_type: DataType | None = None
    state: dict[str, Any] | None = None


class EventErrorResponse(_Frozen):
    """Refuse a user event (the service drops a simple client's connection on non-2xx)."""

    status: ErrorStatus = 400
    detail: str = ""


def _state_headers(state: Mapping[str, Any] | None) -> dict[str, str]:
    return {} if state is None else {CE_CONNECTION_STATE: encode_state(state)}


# A model's field values, read from its ``__dict__`` (where pydantic keeps them) in one
# lookup: each attribute read on a pydantic model goes through its ``__getattr__`` hook.
_fields_of = operator.attrgetter("__dict__")


def connect_to_raw(response: ConnectResponse | None, offered: list[str]) -> RawResponse:
    if response is None:
        return RawResponse(204)
    fields = _fields_of(response)
    subprotocol = fields["subprotocol"]
    if subprotocol is not None and subprotocol not in offered:
        raise HandlerError("connect handler chose a subprotocol the client did not offer")
    body: dict[str, Any] = {}
    if fields["user_id"] is not None:
        body["userId"] = fields["user_id"]
    if fields["groups"] is not None:
        body["groups"] = fields["groups"]
    if fields["roles"] is not None:
        body["roles"] = fields["roles"]
    if subprotocol is not None:
        body["subprotocol"] = subprotocol
    if fields["mqtt_user_properties"] is not None:
        body["mqtt"] = {"userProperties": [p.model_dump() for p in fields["mqtt_user_properties"]]}
    headers = _state_headers(fields["state"])
    if not body:
        return RawResponse(204, headers)
    headers[CONTENT_TYPE] = "application/json"
    return _raw_response(RawResponse, (200, headers, jsonwire.encode(body)))


def connect_error_to_raw(response: "ConnectErrorResponse | MqttConnectErrorResponse") -> RawResponse:
    if isinstance(response, ConnectErrorResponse):
        return text_response(response.status, response.detail)
    mqtt: dict[str, Any] = {"code": response.code}
    if response.reason is not None:
        mqtt["reason"] = response.reason
    if response.user_properties is not None:
        mqtt["userProperties"] = [p.model_dump() for p in response.user_properties]
    body = jsonwire.encode({"mqtt": mqtt})
    return RawResponse(response.status, {CONTENT_TYPE: "application/json"}, body)


def is_connect_error(result: object) -> bool:
    """A ``ConnectErrorResponse`` or ``MqttConnectErrorResponse`` (loaded only if needed)."""
    if isinstance(result, ConnectErrorResponse):
        return True
    from .mqtt import MqttConnectErrorResponse

    return isinstance(result, MqttConnectErrorResponse)


# A tuple, not ``bytes | bytearray | memoryview``: isinstance with a union is twice as slow.
_BYTES_TYPES = (bytes, bytearray, memoryview)
# Enum members as module constants: ``DataType.JSON`` is a metaclass lookup on every use.
_TEXT, _JSON, _BINARY = DataType.TEXT, DataType.JSON, DataType.BINARY


def _infer_data_type(data: Any) -> DataType:
    if isinstance(data, str):
        return _TEXT
    if isinstance(data, _BYTES_TYPES):
        return _BINARY
    return _JSON


def _encode_data(data: Any, data_type: DataType) -> bytes:
    if data_type is _JSON:
        return jsonwire.encode(data)
    if data_type is _TEXT:
        if not isinstance(data, str):
            raise HandlerError("text reply data must be a str")
        return data.encode()
    if not isinstance(data, _BYTES_TYPES):
        raise HandlerError("binary reply data must be bytes")
    return bytes(data)


def event_to_raw(response: EventResponse | None) -> RawResponse:
    if response is None:
        return RawResponse(204)
    fields = _fields_of(response)
    headers = _state_headers(fields["state"])
    data = fields["data"]
    if data is None:
        return RawResponse(204, headers)
    data_type = fields["data_type"] or _infer_data_type(data)
    try:
        body = _encode_data(data, data_type)
    except (TypeError, ValueError) as exc:
        raise HandlerError("reply data is not JSON-serialisable") from exc
    headers[CONTENT_TYPE] = CONTENT_TYPES[data_type]
    return _raw_response(RawResponse, (200, headers, body))


def __getattr__(name: str) -> Any:
    if name == "MqttConnectErrorResponse":  # in ``mqtt.py``, imported on first use
        from .mqtt import MqttConnectErrorResponse

        return MqttConnectErrorResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
