"""Parsing and building the CloudEvents binary-mode headers."""

import pytest

from shared import headers as h
from shared.errors import InvalidHeader, MissingHeader
from tests.upstream_requests import HUB, event_headers


def parse(headers: dict[str, str]) -> h.CloudEventAttributes:
    return h.parse_cloud_event_headers(h.lower_keys(headers))


def test_parses_every_attribute() -> None:
    raw = event_headers(
        "connected",
        extra={"ce-subprotocol": "json.webpubsub.azure.v1", "ce-connectionState": "e30="},
        origin="a.example, B.example",
    )
    assert parse(raw) == {
        "event_type": "azure.webpubsub.sys.connected",
        "event_name": "connected",
        "hub": HUB,
        "connection_id": "conn-1",
        "event_id": "1",
        "user_id": "alice",
        "subprotocol": "json.webpubsub.azure.v1",
        "physical_connection_id": None,
        "session_id": None,
    }
    assert not h.is_mqtt(parse(raw))


def test_header_names_are_case_insensitive() -> None:
    raw = {k.upper(): v for k, v in event_headers("connect").items()}
    assert parse(raw)["connection_id"] == "conn-1"


@pytest.mark.parametrize("missing", ["ce-type", "ce-hub", "ce-connectionId", "ce-eventName"])
def test_missing_required_header_is_named(missing: str) -> None:
    raw = event_headers("connect")
    del raw[missing]
    with pytest.raises(MissingHeader) as info:
        parse(raw)
    assert missing in info.value.reason
    assert info.value.status == 400


def test_event_type_must_agree_with_event_name() -> None:
    raw = event_headers("connect")
    raw["ce-eventName"] = "disconnected"
    with pytest.raises(InvalidHeader):
        parse(raw)


def test_unknown_event_family_is_refused() -> None:
    raw = event_headers("connect")
    raw["ce-type"] = "com.example.connect"
    with pytest.raises(InvalidHeader):
        parse(raw)


def test_dotted_user_event_names_are_accepted() -> None:
    ce = parse(event_headers("chat.v2", content_type="text/plain"))
    assert ce["event_name"] == "chat.v2"


def test_overlong_connection_id_is_refused() -> None:
    with pytest.raises(InvalidHeader):
        parse(event_headers("connect", connection_id="x" * 2000))


def test_mqtt_is_detected_from_physical_connection_id() -> None:
    ce = parse(event_headers("connect", extra={"ce-physicalConnectionId": "p1", "ce-sessionId": "s1"}))
    assert h.is_mqtt(ce) and ce["physical_connection_id"] == "p1" and ce["session_id"] == "s1"


def test_mqtt_is_detected_from_the_subprotocol() -> None:
    assert h.is_mqtt(parse(event_headers("connect", extra={"ce-subprotocol": "mqtt"})))


def test_build_then_parse_round_trips() -> None:
    built = h.build_cloud_event_headers(
        hub="chat",
        connection_id="c9",
        event_type="azure.webpubsub.user.message",
        event_name="message",
        event_id="3",
        time="2026-01-01T00:00:00Z",
        origin="localhost",
        signature="sha256=00",
        user_id="bob",
    )
    ce = parse(built)
    assert (ce["connection_id"], ce["user_id"], ce["event_id"]) == ("c9", "bob", "3")
    assert h.parse_origins(built[h.WEBHOOK_REQUEST_ORIGIN]) == ("localhost",)
    assert built[h.CE_AWPSVERSION] == "1.0" and h.CE_SUBPROTOCOL not in built


def test_parse_origins_trims_and_lowercases() -> None:
    assert h.parse_origins(" A.example ,, b.Example ") == ("a.example", "b.example")
    assert h.parse_origins(None) == ()


def test_event_name_longer_than_its_type_is_refused_not_crashing() -> None:
    # found by the hypothesis test: ce-eventName equal to a whole ce-type value
    raw = event_headers("connect")
    raw["ce-eventName"] = "azure.webpubsub.sys.connect"
    with pytest.raises(InvalidHeader):
        parse(raw)
