"""Wire formats of the client protocols (protocol reference 8), without any I/O.

* ``Payload``: one message body with its data type (text / json / binary), built from a
  REST send (``Content-Type`` + bytes) or from a JSON-protocol ``data`` field.
* ``Delivery``: a payload addressed from the server or a group, with its encodings for
  simple clients and ``json.webpubsub.azure.v1`` built once and shared by every
  recipient; reliable clients splice their own ``sequenceId`` in.
* ``parse_request``: a JSON-protocol text frame -> one typed request, or ``ProtocolViolation``.
* ``build_*``: system, ack and pong frames.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import cached_property
from typing import Any

from .outbound import OPCODE_TEXT, encode_frame, encode_message
from .tokens import is_header_text

JSON_PROTOCOL = "json.webpubsub.azure.v1"
RELIABLE_JSON_PROTOCOL = "json.reliable.webpubsub.azure.v1"
SUPPORTED_PROTOCOLS = (JSON_PROTOCOL, RELIABLE_JSON_PROTOCOL)
MAX_ACK_ID = 2**64 - 1

PONG_FRAME = '{"type":"pong"}'


class DataType(Enum):
    TEXT = "text"
    JSON = "json"
    BINARY = "binary"


class ContentType(StrEnum):
    TEXT = "text/plain"
    JSON = "application/json"
    BINARY = "application/octet-stream"


_CONTENT_TYPES = {
    DataType.TEXT: ContentType.TEXT,
    DataType.JSON: ContentType.JSON,
    DataType.BINARY: ContentType.BINARY,
}


class ProtocolViolation(ValueError):
    """A client frame that does not follow the subprotocol; the reason is safe to log."""


class InvalidPayload(ValueError):
    """A REST or upstream body that does not match its content type."""


def load_json(text: str | bytes) -> Any:
    """``json.loads``, reporting nesting too deep for the parser as ``ValueError``.

    ``json`` raises ``RecursionError`` on ``[[[[...`` a few thousand levels deep; callers
    catch ``ValueError`` to answer 400 / close with a policy violation.
    """
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def _compact_json(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"))
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True, slots=True)
class Payload:
    """A message body. ``data`` is ``str`` (text; JSON text for json) or ``bytes`` (binary)."""

    data_type: DataType
    data: str | bytes

    @classmethod
    def from_http(cls, content_type: str | None, body: bytes) -> Payload:
        """Map a REST or upstream body by its media type (parameters ignored).

        Raises:
            InvalidPayload: unsupported media type, bad UTF-8 or bad JSON.
        """
        media = _media_type(content_type)
        if media in (ContentType.BINARY.value, ""):
            return cls(DataType.BINARY, bytes(body))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidPayload("body is not UTF-8") from exc
        if media == ContentType.TEXT.value:
            return cls(DataType.TEXT, text)
        if media == ContentType.JSON.value:
            try:
                return cls(DataType.JSON, _compact_json(load_json(text)))
            except ValueError as exc:
                raise InvalidPayload("body is not valid JSON") from exc
        raise InvalidPayload(f"unsupported content type {media!r}")

    @classmethod
    def from_json_field(cls, data_type: Any, data: Any) -> Payload:
        """Map the ``dataType``/``data`` pair of a JSON-protocol request (json is the default)."""
        if data_type is None or data_type == DataType.JSON.value:
            try:
                return cls(DataType.JSON, _compact_json(data))
            except ValueError as exc:
                raise ProtocolViolation("json data nested too deeply") from exc
        if data_type == DataType.TEXT.value:
            if not isinstance(data, str):
                raise ProtocolViolation("text data must be a string")
            try:
                data.encode("utf-8")  # lone surrogates would break every recipient's writer
            except UnicodeEncodeError as exc:
                raise ProtocolViolation("text data is not valid Unicode") from exc
            return cls(DataType.TEXT, data)
        if data_type == DataType.BINARY.value:
            if not isinstance(data, str):
                raise ProtocolViolation("binary data must be base64 text")
            try:
                return cls(DataType.BINARY, base64.b64decode(data, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise ProtocolViolation("binary data is not valid base64") from exc
        raise ProtocolViolation("unknown dataType")

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self.data_type].value

    @property
    def body(self) -> bytes:
        return self.data if isinstance(self.data, bytes) else self.data.encode("utf-8")

    def json_data_fragment(self) -> str:
        """The ``"dataType":..,"data":..`` members of a JSON-protocol frame."""
        if self.data_type is DataType.JSON:
            return f'"dataType":"json","data":{self.data}'
        if self.data_type is DataType.TEXT:
            return '"dataType":"text","data":' + json.dumps(self.data)
        encoded = base64.b64encode(self.body).decode("ascii")
        return f'"dataType":"binary","data":"{encoded}"'

    def raw_frame(self) -> str | bytes:
        """What a simple WebSocket client receives: text/json as text, binary as bytes."""
        return self.data


class Delivery:
    """One outbound message, encoded lazily once per protocol and shared by recipients."""

    __slots__ = ("payload", "group", "from_user_id", "__dict__")

    def __init__(
        self, payload: Payload, *, group: str | None = None, from_user_id: str | None = None
    ) -> None:
        self.payload = payload
        self.group = group
        self.from_user_id = from_user_id

    @cached_property
    def raw_frame(self) -> str | bytes:
        return self.payload.raw_frame()

    @cached_property
    def _json_members(self) -> str:
        if self.group is None:
            head = '"type":"message","from":"server",'
        else:
            head = '"type":"message","from":"group","group":' + json.dumps(self.group) + ","
        tail = self.payload.json_data_fragment()
        if self.group is not None and self.from_user_id:
            tail += ',"fromUserId":' + json.dumps(self.from_user_id)
        return head + tail

    @cached_property
    def json_frame(self) -> str:
        return "{" + self._json_members + "}"

    def reliable_frame(self, sequence_id: int) -> str:
        return '{"sequenceId":' + str(sequence_id) + "," + self._json_members + "}"

    # Encoded WebSocket frames, shared by every recipient of a broadcast.
    @cached_property
    def raw_wire(self) -> bytes:
        return encode_message(self.raw_frame)

    @cached_property
    def json_wire(self) -> bytes:
        return encode_message(self.json_frame)

    def reliable_wire(self, sequence_id: int) -> bytes:
        return encode_frame(self.reliable_frame(sequence_id).encode(), OPCODE_TEXT)


# -- client requests (json.webpubsub.azure.v1 and its reliable variant) -------------------


@dataclass(frozen=True, slots=True)
class JoinGroup:
    group: str
    ack_id: int | None


@dataclass(frozen=True, slots=True)
class LeaveGroup:
    group: str
    ack_id: int | None


@dataclass(frozen=True, slots=True)
class SendToGroup:
    group: str
    payload: Payload
    ack_id: int | None
    no_echo: bool


@dataclass(frozen=True, slots=True)
class SendEvent:
    event: str
    payload: Payload
    ack_id: int | None


@dataclass(frozen=True, slots=True)
class SequenceAck:
    sequence_id: int


@dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientRequest = JoinGroup | LeaveGroup | SendToGroup | SendEvent | SequenceAck | Ping


def _ack_id(message: dict[str, Any]) -> int | None:
    value = message.get("ackId")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ACK_ID:
        raise ProtocolViolation("ackId must be an unsigned 64-bit integer")
    return value


def _group(message: dict[str, Any]) -> str:
    group = message.get("group")
    if not isinstance(group, str) or not group.strip() or len(group) > 1024:
        raise ProtocolViolation("group must be a non-blank string of at most 1024 characters")
    return group


def parse_request(frame: str) -> ClientRequest | None:
    """Parse one text frame. ``None`` means a well-formed request of a type we ignore.

    Raises:
        ProtocolViolation: not JSON, not an object, or missing/invalid fields.
    """
    try:
        message = load_json(frame)
    except ValueError as exc:
        raise ProtocolViolation("frame is not JSON") from exc
    if not isinstance(message, dict):
        raise ProtocolViolation("frame is not a JSON object")
    kind = message.get("type")
    if kind == "joinGroup":
        return JoinGroup(_group(message), _ack_id(message))
    if kind == "leaveGroup":
        return LeaveGroup(_group(message), _ack_id(message))
    if kind == "sendToGroup":
        payload = Payload.from_json_field(message.get("dataType"), message.get("data"))
        return SendToGroup(_group(message), payload, _ack_id(message), message.get("noEcho") is True)
    if kind == "event":
        event = message.get("event")
        # the name travels in ce-eventName: a control character would make the upstream call fail
        if not isinstance(event, str) or not event or len(event) > 128 or not is_header_text(event):
            raise ProtocolViolation("event must be a non-empty string without control characters")
        payload = Payload.from_json_field(message.get("dataType"), message.get("data"))
        return SendEvent(event, payload, _ack_id(message))
    if kind == "sequenceAck":
        sequence_id = message.get("sequenceId")
        if not isinstance(sequence_id, int) or isinstance(sequence_id, bool) or sequence_id < 0:
            raise ProtocolViolation("sequenceId must be a non-negative integer")
        return SequenceAck(sequence_id)
    if kind == "ping":
        return Ping()
    if not isinstance(kind, str):
        raise ProtocolViolation("missing type")
    return None  # a newer request type (streaming, invocation): not supported, ignored


# -- service frames -----------------------------------------------------------------------


def build_connected(connection_id: str, user_id: str | None, reconnection_token: str | None) -> str:
    message: dict[str, Any] = {"type": "system", "event": "connected", "connectionId": connection_id}
    if user_id is not None:
        message["userId"] = user_id
    if reconnection_token is not None:
        message["reconnectionToken"] = reconnection_token
    return json.dumps(message)


def build_disconnected(reason: str) -> str:
    return json.dumps({"type": "system", "event": "disconnected", "message": reason})


def build_ack(ack_id: int, error_name: str | None = None, error_message: str = "") -> str:
    if error_name is None:
        return f'{{"type":"ack","ackId":{ack_id},"success":true}}'
    error = {"name": error_name, "message": error_message}
    return json.dumps({"type": "ack", "ackId": ack_id, "success": False, "error": error})
