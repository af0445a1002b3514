"""Events the core builds without validating (``events.build_checked``) equal validated ones.

The core builds the context, connected events and user events from values it has already
checked, skipping pydantic's second pass. That is only sound while such a model cannot be
told apart from one validated from the same input: same type, field values, field order
(``repr``, ``model_dump``, JSON), ``model_fields_set`` and pydantic's private slots. Each
case below builds the event through ``UpstreamProtocol.receive`` and compares it with the
model validated from the input the core had, field for field and set for set.
"""

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from shared import headers as h
from shared.events import (
    ConnectedEvent,
    ConnectionContext,
    DataType,
    MqttUserEvent,
    MqttUserProperty,
    UserEvent,
)
from shared.responses import RawRequest
from shared.settings import load_settings
from shared.upstream import UpstreamProtocol
from tests.upstream_requests import CONNECTION_STRING, ENDPOINT_HOST, HUB, event_headers

CORE = UpstreamProtocol(HUB, load_settings({"WebPubSubConnectionString": CONNECTION_STRING}))


def receive(event: str, body: bytes, **options: Any) -> Any:
    headers = h.lower_keys(event_headers(event, **options))
    return CORE.receive(RawRequest("POST", headers, body), event), headers


def validated_context(headers: dict[str, str]) -> dict[str, Any]:
    """The context's input as the core had it: the parsed attributes, origin, state if sent."""
    fields: dict[str, Any] = dict(h.parse_cloud_event_headers(headers))
    fields["origin"] = ENDPOINT_HOST
    if headers.get("ce-connectionstate"):
        fields["state"] = json.loads(base64.b64decode(headers["ce-connectionstate"]))
    return fields


def _json(model: BaseModel) -> str:
    try:
        return model.model_dump_json()
    except ValueError as error:  # binary data is not JSON: the same refusal on both sides
        return type(error).__name__


def assert_same(built: BaseModel, validated: BaseModel) -> None:
    """Indistinguishable: type, values, order, fields set and private slots, nested too."""
    assert type(built) is type(validated)
    assert built == validated
    assert list(built.__dict__) == list(validated.__dict__)
    assert repr(built) == repr(validated)
    assert built.model_dump() == validated.model_dump()
    assert _json(built) == _json(validated)
    assert built.model_fields_set == validated.model_fields_set
    assert built.__pydantic_extra__ == validated.__pydantic_extra__
    assert built.__pydantic_private__ == validated.__pydantic_private__
    for name, value in built.__dict__.items():
        if isinstance(value, BaseModel):
            assert_same(value, getattr(validated, name))
        elif isinstance(value, list):
            for item, other in zip(value, getattr(validated, name), strict=True):
                if isinstance(item, BaseModel):
                    assert_same(item, other)


@pytest.mark.parametrize(
    "model", [ConnectionContext, ConnectedEvent, UserEvent, MqttUserEvent, MqttUserProperty]
)
def test_models_built_without_validation_have_nothing_validation_would_add(model: type[BaseModel]) -> None:
    """No post-init hook, private attributes, extra fields or root: build_checked sets none."""
    assert not model.__pydantic_post_init__
    assert not model.__private_attributes__
    assert model.model_config.get("extra") != "allow"
    assert not model.__pydantic_root_model__


def test_connected_event_equals_the_validated_one() -> None:
    event, headers = receive("connected", b"{}")
    assert_same(event, ConnectedEvent.model_validate({"context": validated_context(headers)}))


@pytest.mark.parametrize(
    ("content_type", "body", "data_type", "data"),
    [
        ("text/plain", "héllo".encode(), DataType.TEXT, "héllo"),
        ("application/json", b'{"text":"hi","n":[1,2]}', DataType.JSON, {"text": "hi", "n": [1, 2]}),
        ("application/octet-stream", b"\x00\xff", DataType.BINARY, b"\x00\xff"),
        ("application/x-protobuf; proto=x", b"\x0a\x01", DataType.PROTOBUF, b"\x0a\x01"),
    ],
)
def test_user_event_equals_the_validated_one(
    content_type: str, body: bytes, data_type: DataType, data: object
) -> None:
    event, headers = receive("message", body, content_type=content_type)
    expected = {"context": validated_context(headers), "data": data, "data_type": data_type}
    assert_same(event, UserEvent.model_validate(expected))


def test_state_metadata_and_subprotocol_equal_the_validated_ones() -> None:
    state = base64.b64encode(b'{"room":"lobby","n":1}').decode()
    extra = {
        "ce-connectionState": state,
        "ce-subprotocol": "json.webpubsub.azure.v1",
        "X-WebPubSub-Metadata-Trace": "t1",
    }
    event, headers = receive("shout", b'"hi"', content_type="application/json", extra=extra)
    expected = {
        "context": validated_context(headers),
        "data": "hi",
        "data_type": DataType.JSON,
        "metadata": {"trace": "t1"},
    }
    assert_same(event, UserEvent.model_validate(expected))
    assert event.context.state == {"room": "lobby", "n": 1}


def test_an_empty_state_header_value_is_a_sent_state() -> None:
    """``e30=`` (``{}``) is sent, so ``state`` is in the fields set; no header leaves it out."""
    event, headers = receive("message", b"x", content_type="text/plain", extra={"ce-connectionState": "e30="})
    assert "state" in event.context.model_fields_set
    assert_same(event.context, ConnectionContext.model_validate(validated_context(headers)))
    event, _ = receive("message", b"x", content_type="text/plain")
    assert "state" not in event.context.model_fields_set


def test_mqtt_user_event_equals_the_validated_one() -> None:
    extra = {
        "ce-physicalConnectionId": "p1",
        "ce-sessionId": "s1",
        "mqtt-color": "red",
        "mqtt-size": "L",
        "X-WebPubSub-Metadata-A": "b",
    }
    event, headers = receive("telemetry", b"\x01", content_type="application/octet-stream", extra=extra)
    expected = {
        "context": validated_context(headers),
        "data": b"\x01",
        "data_type": DataType.BINARY,
        "metadata": {"a": "b"},
        "user_properties": [{"name": "color", "value": "red"}, {"name": "size", "value": "L"}],
    }
    assert_same(event, MqttUserEvent.model_validate(expected))


def test_models_built_without_validation_stay_frozen_and_copyable() -> None:
    event, _ = receive("message", b"hi", content_type="text/plain")
    with pytest.raises(ValueError, match="frozen"):
        event.context.hub = "other"
    copied = event.model_copy(update={"data": "changed"})
    assert copied.data == "changed" and "data" in copied.model_fields_set
    assert event.data == "hi" and event.model_fields_set == {"context", "data", "data_type"}


_text = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    user_id=st.one_of(st.none(), _text),
    subprotocol=st.one_of(st.none(), _text),
    state=st.one_of(
        st.none(), st.dictionaries(_text, st.one_of(st.integers(), _text, st.none()), max_size=3)
    ),
    metadata=st.dictionaries(_text.map(str.lower), _text, max_size=3),
    text=st.text(max_size=30),
)
def test_any_user_event_equals_the_validated_one(
    user_id: str | None,
    subprotocol: str | None,
    state: dict[str, Any] | None,
    metadata: dict[str, str],
    text: str,
) -> None:
    extra = {f"x-webpubsub-metadata-{key}": value for key, value in metadata.items()}
    if subprotocol is not None:
        extra["ce-subprotocol"] = subprotocol
    if state is not None:
        extra["ce-connectionState"] = base64.b64encode(json.dumps(state).encode()).decode()
    event, headers = receive(
        "message", text.encode(), content_type="text/plain", user_id=user_id, extra=extra
    )
    expected: dict[str, Any] = {
        "context": validated_context(headers),
        "data": text,
        "data_type": DataType.TEXT,
    }
    if metadata:
        expected["metadata"] = metadata
    model = MqttUserEvent if subprotocol == "mqtt" else UserEvent
    if model is MqttUserEvent:
        expected["user_properties"] = []
    assert_same(event, model.model_validate(expected))
