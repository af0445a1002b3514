"""The sans-I/O core: decoding each event kind, replies, and every refusal."""

import base64
import json

import pytest

from shared import headers as h
from shared.errors import HandlerError, WebPubSubError
from shared.events import (
    ConnectedEvent,
    ConnectEvent,
    DataType,
    DisconnectedEvent,
    GroupJoinedEvent,
    GroupLeftEvent,
    MqttConnectEvent,
    MqttDisconnectedEvent,
    MqttUserEvent,
    UserEvent,
)
from shared.responses import (
    ConnectErrorResponse,
    ConnectResponse,
    EventErrorResponse,
    EventResponse,
    MqttConnectErrorResponse,
    RawRequest,
)
from shared.settings import load_settings
from shared.state import encode_state
from shared.upstream import MAX_BODY_BYTES, UpstreamProtocol
from tests.upstream_requests import (
    CONNECTION_STRING,
    HUB,
    OTHER_KEY,
    SECONDARY_KEY,
    connect_body,
    event_headers,
)

SETTINGS = load_settings({"WebPubSubConnectionString": CONNECTION_STRING})


@pytest.fixture
def core() -> UpstreamProtocol:
    return UpstreamProtocol(HUB, SETTINGS)


def raw(event: str, body: bytes = b"{}", method: str = "POST", **options: object) -> RawRequest:
    return RawRequest(method, h.lower_keys(event_headers(event, **options)), body)  # type: ignore[arg-type]


def refused(core: UpstreamProtocol, request: RawRequest, expected: str | None = None) -> WebPubSubError:
    with pytest.raises(WebPubSubError) as info:
        core.receive(request, expected)
    return info.value


# -- decoding ----------------------------------------------------------------------------


def test_connect_is_decoded_with_every_body_field(core: UpstreamProtocol) -> None:
    body = connect_body(clientCertificates=[{"thumbprint": "ab12", "content": "PEM"}])
    event = core.receive(raw("connect", body), "connect")
    assert type(event) is ConnectEvent
    assert event.claims == {"sub": ["alice"]}
    assert event.query == {"room": ["lobby"]}
    assert event.headers == {"User-Agent": ["test"]}
    assert event.subprotocols == ["json.webpubsub.azure.v1"]
    assert event.client_certificates[0].thumbprint == "ab12"
    assert event.context.user_id == "alice"
    assert event.context.origin == "wps-test.webpubsub.azure.com"
    assert event.claim("sub") == "alice" and event.claim("nope") is None


def test_connect_tolerates_scalar_claims_and_null_lists(core: UpstreamProtocol) -> None:
    body = json.dumps({"claims": {"sub": "bob", "n": 5}, "subprotocols": None}).encode()
    event = core.receive(raw("connect", body))
    assert isinstance(event, ConnectEvent)
    assert event.claims == {"sub": ["bob"], "n": ["5"]} and event.subprotocols == []


def test_connect_accepts_numeric_claim_values_in_lists(core: UpstreamProtocol) -> None:
    # token claims such as iat/exp can arrive as JSON numbers inside the lists
    body = json.dumps({"claims": {"sub": ["bob"], "iat": [1700000000], "exp": [1700003600]}}).encode()
    event = core.receive(raw("connect", body))
    assert isinstance(event, ConnectEvent)
    assert event.claims["iat"] == ["1700000000"] and event.claim("sub") == "bob"


def test_mqtt_connect_has_its_properties(core: UpstreamProtocol) -> None:
    body = connect_body(
        mqtt={
            "protocolVersion": 5,
            "cleanStart": False,
            "username": "u",
            "password": "cA==",
            "userProperties": [{"name": "a", "value": "b"}],
        }
    )
    event = core.receive(raw("connect", body, extra={"ce-physicalConnectionId": "p1"}))
    assert isinstance(event, MqttConnectEvent)
    assert event.mqtt.protocol_version == 5 and event.mqtt.clean_start is False
    assert event.mqtt.user_properties and event.mqtt.user_properties[0].name == "a"
    assert event.context.is_mqtt


def test_mqtt_connect_without_mqtt_body_is_refused(core: UpstreamProtocol) -> None:
    error = refused(core, raw("connect", connect_body(), extra={"ce-physicalConnectionId": "p1"}))
    assert error.status == 400


def test_connected_and_disconnected(core: UpstreamProtocol) -> None:
    assert isinstance(core.receive(raw("connected")), ConnectedEvent)
    gone = core.receive(raw("disconnected", b'{"reason":"closed by client"}'))
    assert isinstance(gone, DisconnectedEvent) and gone.reason == "closed by client"
    assert core.receive(raw("disconnected", b"")).reason is None  # type: ignore[union-attr]


def test_mqtt_disconnected(core: UpstreamProtocol) -> None:
    body = b'{"reason":null,"mqtt":{"initiatedByClient":true,"disconnectPacket":{"code":0}}}'
    event = core.receive(raw("disconnected", body))
    assert isinstance(event, MqttDisconnectedEvent)
    assert event.mqtt.initiated_by_client and event.mqtt.disconnect_packet
    assert event.mqtt.disconnect_packet.code == 0


@pytest.mark.parametrize(
    ("content_type", "body", "data_type", "data"),
    [
        ("text/plain", "héllo".encode(), DataType.TEXT, "héllo"),
        ("application/json; charset=utf-8", b'{"text":"hi"}', DataType.JSON, {"text": "hi"}),
        ("application/octet-stream", b"\x00\xff", DataType.BINARY, b"\x00\xff"),
        ("application/x-protobuf", b"\x0a\x01", DataType.PROTOBUF, b"\x0a\x01"),
    ],
)
def test_user_event_data_is_typed_by_content_type(
    core: UpstreamProtocol, content_type: str, body: bytes, data_type: DataType, data: object
) -> None:
    event = core.receive(raw("message", body, content_type=content_type), "message")
    assert type(event) is UserEvent
    assert event.data_type is data_type and event.data == data


def test_custom_event_carries_metadata_and_subprotocol(core: UpstreamProtocol) -> None:
    extra = {"ce-subprotocol": "json.webpubsub.azure.v1", "X-WebPubSub-Metadata-Trace": "t1"}
    event = core.receive(raw("chat", b'"x"', extra=extra), "chat")
    assert isinstance(event, UserEvent)
    assert event.context.subprotocol == "json.webpubsub.azure.v1"
    assert event.metadata == {"trace": "t1"}


def test_mqtt_user_event_collects_user_properties(core: UpstreamProtocol) -> None:
    extra = {"ce-physicalConnectionId": "p", "ce-subprotocol": "mqtt", "mqtt-color": "red"}
    event = core.receive(raw("telemetry", b"1", content_type="application/json", extra=extra))
    assert isinstance(event, MqttUserEvent)
    assert [(p.name, p.value) for p in event.user_properties] == [("color", "red")]


def test_group_presence_events(core: UpstreamProtocol) -> None:
    joined = core.receive(raw("joined", b'{"group":"g1"}'))
    left = core.receive(raw("left", b'{"group":"g1"}'))
    assert isinstance(joined, GroupJoinedEvent) and joined.group == "g1"
    assert isinstance(left, GroupLeftEvent)


def test_state_is_decoded_into_the_context(core: UpstreamProtocol) -> None:
    state = encode_state({"room": "general"})
    event = core.receive(raw("connected", extra={"ce-connectionState": state}))
    assert event.context.state == {"room": "general"}


def test_hub_is_compared_case_insensitively(core: UpstreamProtocol) -> None:
    assert core.receive(raw("connected", hub=HUB.upper())).context.hub == HUB.upper()


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (raw("connect", connect_body(), keys=(OTHER_KEY,)), 401),
        (raw("connect", connect_body(), keys=()), 401),
        (raw("connect", connect_body(), origin="evil.example"), 403),
        (raw("connect", connect_body(), hub="other"), 400),
        (raw("connect", b"{not json"), 400),
        (raw("connect", b'{"claims": 5}'), 400),
        (raw("connect", connect_body(), content_type="text/plain"), 415),
        (raw("message", b"x", content_type="image/png"), 415),
        (raw("message", b"\xff\xfe", content_type="text/plain"), 400),
        (raw("message", b"{bad", content_type="application/json"), 400),
        # json.loads would raise RecursionError here (a 500); nesting is capped instead
        (raw("message", b"[" * 5000 + b"]" * 5000, content_type="application/json"), 400),
        (raw("connect", b'{"claims":' + b"[" * 5000 + b"]" * 5000 + b"}"), 400),
        (raw("connected", extra={"ce-connectionState": base64.b64encode(b"[" * 3000).decode()}), 400),
        (raw("joined", b'{"group":""}'), 400),
        (raw("connected", extra={"ce-connectionState": "%%%"}), 400),
        (raw("connect", connect_body(), method="GET"), 405),
        (raw("message", b"x" * (MAX_BODY_BYTES + 1), content_type="text/plain"), 413),
    ],
)
def test_bad_requests_get_the_documented_status(
    core: UpstreamProtocol, request_: RawRequest, status: int
) -> None:
    assert refused(core, request_).status == status


def test_event_on_the_wrong_route_is_refused(core: UpstreamProtocol) -> None:
    assert refused(core, raw("connected"), expected="connect").status == 400


def test_forged_user_id_without_signature_is_refused(core: UpstreamProtocol) -> None:
    forged = raw("connect", connect_body(), keys=(), user_id="admin")
    assert refused(core, forged).status == 401


def test_missing_origin_on_post_is_refused(core: UpstreamProtocol) -> None:
    request = raw("connected")
    headers = dict(request.headers)
    del headers["webhook-request-origin"]
    assert refused(core, RawRequest("POST", headers, b"{}")).status == 403


@pytest.mark.parametrize(
    "origin", [" WPS-Test.webpubsub.azure.com ", "evil.example, wps-test.webpubsub.azure.com"]
)
def test_an_origin_header_in_another_spelling_is_normalised(core: UpstreamProtocol, origin: str) -> None:
    event = core.receive(raw("connected", origin=origin), "connected")
    assert event.context.origin == "wps-test.webpubsub.azure.com"


@pytest.mark.parametrize("origin", ["evil.example", "evil.example, other.example", "", "*"])
def test_an_origin_header_without_an_allowed_host_is_refused(core: UpstreamProtocol, origin: str) -> None:
    assert refused(core, raw("connected", origin=origin), "connected").status == 403


def test_forged_request_is_refused_before_its_body_is_parsed(core: UpstreamProtocol) -> None:
    # A bad body would be a 400; the missing signature must win (no JSON parsing for forgeries).
    assert refused(core, raw("connect", b"{not json", keys=())).status == 401


def test_key_rotation_either_key_alone_validates() -> None:
    for keys in ((SECONDARY_KEY,), (OTHER_KEY, SECONDARY_KEY)):
        settings = load_settings(
            {"WebPubSubAccessKeys": ",".join(keys), "WebPubSubAllowedOrigins": "wps-test.webpubsub.azure.com"}
        )
        assert UpstreamProtocol(HUB, settings).receive(raw("connected"))
        only_secondary_signed = raw("connected", keys=(SECONDARY_KEY,))
        assert UpstreamProtocol(HUB, settings).receive(only_secondary_signed)


def test_no_key_configured_refuses_with_401() -> None:
    core = UpstreamProtocol(HUB, load_settings({}))
    error = refused(core, raw("connected"))
    assert error.status == 401 and "no upstream authentication" in error.reason


def test_dev_override_accepts_unsigned_events_only_when_explicit() -> None:
    core = UpstreamProtocol(HUB, load_settings({"WebPubSubAllowUnauthenticated": "true"}))
    event = core.receive(raw("connected", keys=(), origin="anything.example"))
    assert isinstance(event, ConnectedEvent)


def test_dev_override_does_not_weaken_a_configured_key() -> None:
    settings = load_settings(
        {"WebPubSubConnectionString": CONNECTION_STRING, "WebPubSubAllowUnauthenticated": "true"}
    )
    assert refused(UpstreamProtocol(HUB, settings), raw("connected", keys=(OTHER_KEY,))).status == 401


def test_refusal_reasons_never_contain_keys_or_header_values(core: UpstreamProtocol) -> None:
    error = refused(core, raw("connect", connect_body(), keys=(OTHER_KEY,), user_id="secret-user"))
    reply = UpstreamProtocol.error_response(error)
    assert reply.status == 401
    for secret in (OTHER_KEY, "secret-user", "sha256="):
        assert secret.encode() not in reply.body


# -- abuse protection --------------------------------------------------------------------


def options(origin: str | None) -> RawRequest:
    headers = {"ce-awpsversion": "1.0"}
    if origin is not None:
        headers["webhook-request-origin"] = origin
    return RawRequest("OPTIONS", headers)


def test_validate_echoes_the_allowed_origin(core: UpstreamProtocol) -> None:
    reply = core.validate(options("evil.example, WPS-TEST.webpubsub.azure.com"))
    assert reply.status == 200
    assert reply.headers == {"WebHook-Allowed-Origin": "wps-test.webpubsub.azure.com"}


def test_validate_refuses_foreign_and_missing_origins(core: UpstreamProtocol) -> None:
    with pytest.raises(WebPubSubError) as foreign:
        core.validate(options("evil.example"))
    assert foreign.value.status == 403
    with pytest.raises(WebPubSubError) as missing:
        core.validate(options(None))
    assert missing.value.status == 400


def test_validate_never_answers_a_wildcard_in_production(core: UpstreamProtocol) -> None:
    assert core.validate(options("wps-test.webpubsub.azure.com")).headers["WebHook-Allowed-Origin"] != "*"


# -- replies -----------------------------------------------------------------------------


def connect_event(core: UpstreamProtocol) -> ConnectEvent:
    event = core.receive(raw("connect", connect_body()))
    assert isinstance(event, ConnectEvent)
    return event


def test_connect_reply_with_fields_is_200_json(core: UpstreamProtocol) -> None:
    reply = core.respond(
        connect_event(core),
        ConnectResponse(
            user_id="alice",
            groups=["lobby"],
            roles=[],
            subprotocol="json.webpubsub.azure.v1",
            state={"room": "lobby"},
        ),
    )
    assert reply.status == 200
    assert json.loads(reply.body) == {
        "userId": "alice",
        "groups": ["lobby"],
        "roles": [],
        "subprotocol": "json.webpubsub.azure.v1",
    }
    assert json.loads(base64.b64decode(reply.headers["ce-connectionState"])) == {"room": "lobby"}


def test_connect_reply_without_fields_is_204(core: UpstreamProtocol) -> None:
    assert core.respond(connect_event(core), None).status == 204
    assert core.respond(connect_event(core), ConnectResponse()).status == 204


def test_connect_reply_with_unoffered_subprotocol_is_a_handler_bug(core: UpstreamProtocol) -> None:
    with pytest.raises(HandlerError):
        core.respond(connect_event(core), ConnectResponse(subprotocol="mqtt"))


@pytest.mark.parametrize("status", [400, 401, 403, 500])
def test_connect_errors_carry_status_and_detail(core: UpstreamProtocol, status: int) -> None:
    reply = core.respond(connect_event(core), ConnectErrorResponse(status=status, detail="nope"))
    assert (reply.status, reply.body) == (status, b"nope")


def test_mqtt_connect_error_body(core: UpstreamProtocol) -> None:
    reply = core.respond(
        connect_event(core), MqttConnectErrorResponse(status=403, code=0x8A, reason="banned")
    )
    assert reply.status == 403
    assert json.loads(reply.body) == {"mqtt": {"code": 138, "reason": "banned"}}


@pytest.mark.parametrize(
    ("data", "data_type", "content_type", "body"),
    [
        ("hi", None, "text/plain", b"hi"),
        (b"\x01", None, "application/octet-stream", b"\x01"),
        ({"a": 1}, None, "application/json", b'{"a":1}'),
        ("hi", DataType.JSON, "application/json", b'"hi"'),
    ],
)
def test_event_reply_content_type_follows_data_type(
    core: UpstreamProtocol, data: object, data_type: DataType | None, content_type: str, body: bytes
) -> None:
    event = core.receive(raw("message", b"x", content_type="text/plain"))
    reply = core.respond(event, EventResponse(data=data, data_type=data_type))
    assert (reply.status, reply.headers["Content-Type"], reply.body) == (200, content_type, body)


def test_event_reply_none_is_204_and_error_is_its_status(core: UpstreamProtocol) -> None:
    event = core.receive(raw("message", b"x", content_type="text/plain"))
    assert core.respond(event, None).status == 204
    assert core.respond(event, EventErrorResponse(status=400, detail="bad")).status == 400


def test_event_reply_can_set_and_clear_state(core: UpstreamProtocol) -> None:
    event = core.receive(raw("message", b"x", content_type="text/plain"))
    assert core.respond(event, EventResponse(state={})).headers["ce-connectionState"] == "e30="


def test_connected_handler_cannot_reply(core: UpstreamProtocol) -> None:
    event = core.receive(raw("connected"))
    assert core.respond(event, None).status == 204
    with pytest.raises(HandlerError):
        core.respond(event, EventResponse(data="x"))


def test_handler_errors_become_a_generic_500() -> None:
    reply = UpstreamProtocol.error_response(HandlerError("secret detail"))
    assert (reply.status, reply.body) == (500, b"internal error")


@pytest.mark.parametrize("name", ["connect", "connected", "disconnected", "joined", "left"])
def test_a_route_serves_one_event_kind_not_just_one_name(core: UpstreamProtocol, name: str) -> None:
    user_kind = raw(name, b"x", content_type="text/plain", extra={"ce-type": f"azure.webpubsub.user.{name}"})
    error = refused(core, user_kind, name)
    assert (error.status, error.reason) == (400, f"a user event cannot use the reserved name '{name}'")
    assert isinstance(core.receive(user_kind), UserEvent)  # with no route to match it is a user event
    system_on_user_route = raw("connected")
    assert refused(core, system_on_user_route, "message").status == 400
