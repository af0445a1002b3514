"""Unit tests of the emulator's pure parts: OData filters, tokens, settings, queue caps."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest

from devhost.emulator.config import (
    ConfigError,
    EmulatorConfig,
    EventHandler,
    HandlerRegistry,
    expand_url_template,
    load_settings_file,
    parse_hub_option,
)
from devhost.emulator.guard import LoopbackGuard
from devhost.emulator.hubs import CLOSE_POLICY, Connection
from devhost.emulator.messages import Delivery, Payload, ProtocolViolation, parse_request
from devhost.emulator.odata import FilterError, parse_filter
from devhost.emulator.outbound import OutboundQueue, encode_frame
from devhost.emulator.roles import compile_pattern, grants, pattern_matches
from devhost.emulator.tokens import TokenError, validate_client_token, validate_rest_token

KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"
OTHER = "another-key-0123456789-abcdefghijklmnopqrstuv"


@dataclass
class Subject:
    connection_id: str = "c1"
    user_id: str | None = "alice"
    protocol: str | None = None
    groups: set[str] = field(default_factory=set)


# -- OData filter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userId eq 'alice'", True),
        ("userId ne 'alice'", False),
        ("USERID EQ 'alice'", True),
        ("userId eq 'Alice'", False),
        ("'g1' in groups", True),
        ("'g3' in groups", False),
        ("not ('g3' in groups)", True),
        ("userId in ('bob', 'alice')", True),
        ("connectionId in ('x')", False),
        ("userId eq 'alice' and 'g2' in groups", True),
        ("userId eq 'bob' or connectionId eq 'c1'", True),
        ("userId eq 'bob' or (connectionId eq 'c1' and not ('g1' in groups))", False),
        ("protocol eq null", True),
        ("userId eq 'it''s'", False),
        ("userId gt 'a'", True),
    ],
)
def test_filter_evaluates(text: str, expected: bool) -> None:
    assert parse_filter(text).matches(Subject(groups={"g1", "g2"})) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the documented functions and integer literals (Learn: OData filter syntax)
        ("length(userId) le 10 and length(userId) gt 3", True),
        ("length(userId) gt 10 or length(userId) le 3", False),
        ("not endswith(userId, 'milk')", True),
        ("not (length(userId) gt 50)", True),
        ("tolower(userId) eq 'user-ab-de'", True),
        ("toupper(userId) eq 'USER-AB-DE'", True),
        ("trim(concat(' ', userId)) eq 'User-ab-de'", True),
        ("substring(userId, 5, 2) eq 'ab'", True),
        ("substring(userId, 5) eq 'ab-de'", True),
        ("substring(userId, 50) eq ''", True),
        ("substring(userId, -3, 2) eq 'Us'", True),
        ("endswith(userId, 'de')", True),
        ("startswith(userId, 'User')", True),
        ("startswith(userId, 'user')", False),
        ("contains(userId, '-ab-')", True),
        ("indexof(userId, '-ab-') ge 0", True),
        ("indexof(userId, 'zz') eq -1", True),
        ("concat(userId, '!') eq 'User-ab-de!'", True),
        ("length(groups) gt 1", True),
        ("length(groups) eq +2", True),
        ("'g1' in (groups)", True),
        ("userId in groups", False),
        ("length(userId) in (3, 10)", True),
        ("startswith(userId, 'U') eq true", True),
        ("(length(userId)) ge 10", True),
        ("true", True),
        ("false or 'g2' in groups", True),
        ("LENGTH(userId) eq 10", True),
    ],
)
def test_filter_functions_and_integers(text: str, expected: bool) -> None:
    assert parse_filter(text).matches(Subject(user_id="User-ab-de", groups={"g1", "g2"})) is expected


@pytest.mark.parametrize(
    "text",
    [
        "length(userId) gt 3",
        "startswith(userId, 'a')",
        "not endswith(userId, 'a')",
        "tolower(userId) eq 'a'",
        "userId eq null",
        "not (length(userId) gt 3)",
    ],
)
def test_null_propagates_through_functions(text: str) -> None:
    # null propagates through functions, a comparison with null is false (so its negation is
    # true), and a predicate of null is null, which never selects
    expected = text in ("userId eq null", "not (length(userId) gt 3)")
    assert parse_filter(text).matches(Subject(user_id=None)) is expected


def test_filter_quote_escape_and_null_user() -> None:
    assert parse_filter("userId eq 'it''s'").matches(Subject(user_id="it's"))
    assert parse_filter("userId eq null").matches(Subject(user_id=None))
    assert not parse_filter("userId gt 'a'").matches(Subject(user_id=None))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "userId",
        "userId eq",
        "userId eq 'a",
        "userId eq 'a')",
        "(userId eq 'a'",
        "groups eq 'a'",
        "name eq 'a'",
        "userId like 'a'",
        "userId eq 'a' and",
        "'a' in (",
        "userId eq 'a' $",
        "x" * 5000,
        "(" * 100 + "userId eq 'a'" + ")" * 100,
        "not " * 100 + "userId eq 'a'",
        # as in the service, 'not' binds tighter than comparisons and 'in'
        "not length(userId) gt 5",
        "not 'g1' in groups",
        # type errors
        "length(userId)",
        "length(userId) eq 'a'",
        "userId gt 3",
        "true gt false",
        "tolower(3) eq 'a'",
        "substring(userId, 'a') eq 'b'",
        "substring(userId) eq 'b'",
        "startswith(userId) ",
        "concat(userId, 'a', 'b') eq 'c'",
        "length(userId, userId) eq 1",
        "unknown(userId)",
        "3 in groups",
        "groups in ('a')",
        "length(groups) eq 99999999999999999999",
        "'a' and true",
    ],
)
def test_invalid_filters_raise_filter_error(text: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(text)


# -- tokens ---------------------------------------------------------------------------------

AUD = "http://localhost:8080/client/hubs/Chat"


def _token(key: str = KEY, **claims: object) -> str:
    body = {"aud": AUD, "exp": int(time.time()) + 3600, **claims}
    return jwt.encode(body, key, algorithm="HS256")


def test_client_token_audience_is_case_insensitive_and_slash_tolerant() -> None:
    token = _token(sub="u", role=["webpubsub.sendToGroup"], **{"webpubsub.group": ["g"], "group": "h"})
    for audience in (AUD, AUD.lower(), AUD.upper().replace("HTTP", "http"), AUD + "/"):
        identity = validate_client_token(token, [KEY], [audience])
        assert identity.user_id == "u"
    assert identity.roles == ("webpubsub.sendToGroup",)
    assert identity.groups == ("g", "h")
    assert identity.claims["sub"] == ["u"]


def test_client_token_either_key_but_not_a_wrong_one() -> None:
    assert validate_client_token(_token(OTHER), [KEY, OTHER], [AUD]).user_id is None
    with pytest.raises(TokenError, match="signature"):
        validate_client_token(_token("W" * 44), [KEY, OTHER], [AUD])


def test_client_token_expired_and_wrong_audience_are_refused() -> None:
    expired = jwt.encode({"aud": AUD, "exp": int(time.time()) - 600}, KEY, algorithm="HS256")
    with pytest.raises(TokenError, match="expired"):
        validate_client_token(expired, [KEY], [AUD])
    within_skew = jwt.encode({"aud": AUD, "exp": int(time.time()) - 60}, KEY, algorithm="HS256")
    assert validate_client_token(within_skew, [KEY], [AUD])
    with pytest.raises(TokenError, match="expired"):
        validate_client_token(_token(), [KEY], [AUD], now=time.time() + 7200)
    with pytest.raises(TokenError, match="audience"):
        validate_client_token(_token(), [KEY], ["http://localhost:8080/client/hubs/other"])
    no_exp = jwt.encode({"aud": AUD}, KEY, algorithm="HS256")
    with pytest.raises(TokenError):
        validate_client_token(no_exp, [KEY], [AUD])
    none_alg = jwt.encode({"aud": AUD, "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(TokenError):
        validate_client_token(none_alg, [KEY], [AUD])


def test_rest_token_audience_with_or_without_query() -> None:
    url = "http://localhost:8080/api/hubs/Chat/:send?excluded=a&api-version=2024-12-01"
    for aud in (url, url.split("?")[0], url.upper().replace("HTTP:", "http:")):
        token = jwt.encode({"aud": aud, "exp": int(time.time()) + 60}, KEY, algorithm="HS256")
        validate_rest_token(f"Bearer {token}", [KEY], url)
    other = jwt.encode({"aud": url.replace(":send", ":closeConnections"), "exp": int(time.time()) + 60}, KEY)
    with pytest.raises(TokenError):
        validate_rest_token(f"Bearer {other}", [KEY], url)
    with pytest.raises(TokenError):
        validate_rest_token(None, [KEY], url)


# -- settings and URL templates ---------------------------------------------------------------


def test_url_template_expansion() -> None:
    template = "http://localhost:7071/api/{hub}/{Event}?code=abc"
    assert (
        expand_url_template(template, hub="chat", event="connect")
        == "http://localhost:7071/api/chat/connect?code=abc"
    )
    assert expand_url_template("http://h/{event}", hub="x", event="a b/c") == "http://h/a%20b%2Fc"
    assert EventHandler("http://h/api").url_for("chat", "validate") == "http://h/api"


@pytest.mark.parametrize(
    "template", ["ftp://h/{event}", "http://{hub}.example/", "http://h/{other}", "/relative"]
)
def test_bad_url_templates_are_rejected(template: str) -> None:
    with pytest.raises(ConfigError):
        EventHandler(template)


def test_event_patterns_and_first_match_wins() -> None:
    registry = HandlerRegistry()
    first = EventHandler("http://a/{event}", system_events=frozenset({"connect"}), event_pattern="chat, ping")
    second = EventHandler("http://b/{event}")
    registry.set_hub("Chat", [first, second])
    assert registry.for_system_event("CHAT", "connect") is first
    assert registry.for_system_event("chat", "connected") is second
    assert registry.for_user_event("chat", "PING") is first
    assert registry.for_user_event("chat", "other") is second
    assert registry.for_user_event("nohub", "x") is None
    only = EventHandler("http://c/", system_events=frozenset(), event_pattern="one")
    assert only.matches_user("one") and not only.matches_user("two") and not only.matches_system("connect")


def test_settings_file_in_the_official_shape(tmp_path: Path) -> None:
    path = tmp_path / "appsettings.json"
    path.write_text(
        json.dumps(
            {
                "WebPubSub": {
                    "Hubs": {
                        "Chat": {
                            "EventHandlers": [
                                {
                                    "UrlTemplate": "http://localhost:7071/api/{hub}/{event}",
                                    "SystemEvents": ["connect"],
                                    "EventPattern": "*",
                                },
                            ]
                        }
                    }
                }
            }
        )
    )
    settings = load_settings_file(path)
    (handler,) = settings["chat"]
    assert handler.system_events == frozenset({"connect"}) and handler.event_pattern == "*"
    path.write_text('{"WebPubSub": {"Hubs": {"chat": {"EventHandlers": [{"SystemEvents": []}]}}}}')
    with pytest.raises(ConfigError):
        load_settings_file(path)
    path.write_text("not json")
    with pytest.raises(ConfigError):
        load_settings_file(path)


def test_hub_option_and_key_rules() -> None:
    hub, handler = parse_hub_option("Chat=http://localhost:7071/api/chat/{event}")
    assert hub == "chat" and handler.matches_user("anything") and handler.matches_system("disconnected")
    for bad in ("chat", "=http://x/", "1hub=http://x/"):
        with pytest.raises(ConfigError):
            parse_hub_option(bad)
    with pytest.raises(ConfigError):
        EmulatorConfig(access_key="short")
    config = EmulatorConfig(secondary_key=OTHER)
    assert config.keys == (config.access_key, OTHER)
    assert config.access_key not in repr(config)


# -- messages ---------------------------------------------------------------------------------


def test_client_requests_are_validated() -> None:
    for frame in (
        "[]",
        '{"type":"joinGroup"}',
        '{"type":"event","event":""}',
        '{"type":"joinGroup","group":"g","ackId":-1}',
        '{"type":"sendToGroup","group":"g","dataType":"binary","data":"!!"}',
        '{"type":"sequenceAck"}',
    ):
        with pytest.raises(ProtocolViolation):
            parse_request(frame)
    assert parse_request('{"type":"somethingNew"}') is None


def test_reliable_frames_carry_sequence_ids() -> None:
    delivery = Delivery(Payload.from_http("application/json", b'{"a": 1}'), group="g", from_user_id="u")
    assert json.loads(delivery.json_frame) == {
        "type": "message",
        "from": "group",
        "group": "g",
        "dataType": "json",
        "data": {"a": 1},
        "fromUserId": "u",
    }
    assert json.loads(delivery.reliable_frame(7))["sequenceId"] == 7
    assert delivery.raw_frame == '{"a":1}'


# -- bounded queues ---------------------------------------------------------------------------


class StalledTransport(asyncio.WriteTransport):
    """A transport whose peer never reads: everything written stays buffered."""

    def __init__(self) -> None:
        super().__init__()
        self.buffered = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.buffered += len(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return False


class OpenSocket:
    closed = False


def stalled_queue(max_bytes: int) -> OutboundQueue:
    return OutboundQueue(OpenSocket(), StalledTransport(), max_bytes=max_bytes)  # type: ignore[arg-type]


def test_frames_are_encoded_per_rfc6455() -> None:
    assert encode_frame(b"hi", 1) == b"\x81\x02hi"
    assert encode_frame(b"x" * 200, 2)[:4] == b"\x82\x7e\x00\xc8"
    assert encode_frame(b"x" * 70000, 1)[:10] == b"\x81\x7f" + (70000).to_bytes(8, "big")


def test_outbound_queue_refuses_frames_past_its_cap() -> None:
    queue = stalled_queue(max_bytes=10)
    assert queue.put(b"123456")
    assert not queue.put(b"123456")
    assert queue.pending_bytes == 6
    queue.stop()
    assert queue.put(b"1") and queue.pending_bytes == 6  # stopped: dropped, not written


def test_connection_terminates_slow_consumers_and_bounds_reliable_buffers() -> None:
    closed: list[tuple[int, str]] = []
    simple = Connection(hub="h", connection_id="c", user_id=None, subprotocol=None)
    simple.terminate = lambda code, reason: closed.append((code, reason))
    simple.attach(stalled_queue(max_bytes=10))
    delivery = Delivery(Payload.from_http("text/plain", b"m"))
    for _ in range(5):
        simple.deliver(delivery)  # 3 bytes per frame
    assert closed and closed[0][0] == 1011

    closed.clear()
    reliable = Connection(
        hub="h",
        connection_id="r",
        user_id=None,
        subprotocol="json.reliable.webpubsub.azure.v1",
        reliable_max_messages=3,
    )
    reliable.terminate = lambda code, reason: closed.append((code, reason))
    for _ in range(3):
        reliable.deliver(delivery)  # no transport: buffered for replay
    assert reliable.unacked_count == 3 and not closed
    reliable.acknowledge(2)
    assert reliable.unacked_count == 1
    for _ in range(3):
        reliable.deliver(delivery)
    assert closed == [(CLOSE_POLICY, "too many unacknowledged messages")]


def test_deeply_nested_json_is_refused_like_any_bad_json() -> None:
    deep = "[" * 5000 + "]" * 5000  # json.loads raises RecursionError on this
    with pytest.raises(ProtocolViolation):
        parse_request(deep)
    with pytest.raises(ValueError, match="not valid JSON"):
        Payload.from_http("application/json", deep.encode())
    nested: list[object] = []
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(ProtocolViolation):
        Payload.from_json_field("json", nested)


# -- wildcard group roles (Learn: "Use wildcard group role patterns") ---------------------------


@pytest.mark.parametrize(
    ("pattern", "group", "expected"),
    [
        # the documented examples
        ("chat-*", "chat-1", True),
        ("chat-*", "chat-room", True),
        ("chat-*", "chat.1", False),
        ("chat-*", "xchat-1", False),
        ("clientA.*", "clientA.alpha", True),
        ("clientA.*", "clientA.1", True),
        ("clientA.*", "clientA.alpha.room1", False),
        ("clientA.*", "clientB.alpha", False),
        ("clientA.**", "clientA.alpha", True),
        ("clientA.**", "clientA.alpha.room1", True),
        ("clientA.**", "clientB.anything", False),
        ("clientA.rooms.?1", "clientA.rooms.a1", True),
        ("clientA.rooms.?1", "clientA.rooms.11", True),
        ("clientA.rooms.?1", "clientA.rooms.1", False),
        ("clientA.rooms.?1", "clientA.rooms.a.1", False),
        ("literal\\*star", "literal*star", True),
        ("literal\\*star", "literalXstar", False),
        ("project\\*123", "project*123", True),
        # the rest of the rules
        ("a\\\\b", "a\\b", True),
        ("a\\?", "a?", True),
        ("a\\?", "ab", False),
        ("Chat-*", "chat-1", False),  # case-sensitive
        ("*", "", True),
        ("**", "a.b.c", True),
        ("a*b*c*d*e", "a1b2c3d4e", True),  # five '*' are allowed
        ("a*b*c*d*e*f*", "abcdef", False),  # six are not: the role grants nothing
        ("a**b**c**", "a.b.c", False),  # also six, counting those of '**'
        ("a\\x", "a\\x", False),  # unknown escape: invalid
        ("a\\", "a\\", False),  # dangling escape: invalid
    ],
)
def test_group_role_patterns(pattern: str, group: str, expected: bool) -> None:
    roles = {f"webpubsub.joinLeaveGroups.{pattern}"}
    assert grants(roles, "joinLeaveGroup", group) is expected
    assert grants(roles, "sendToGroup", group) is False  # a joinLeave role never grants sending


def test_literal_and_general_roles_still_apply() -> None:
    assert grants({"webpubsub.sendToGroup"}, "sendToGroup", "any.group")
    assert grants({"webpubsub.sendToGroup.room"}, "sendToGroup", "room")
    assert not grants({"webpubsub.sendToGroup.room"}, "sendToGroup", "room2")
    assert not grants({"webpubsub.sendToGroup.room*"}, "sendToGroup", "room2")  # literal role, not a pattern
    assert not grants(
        {"webpubsub.sendToGroups.**"}, "sendToGroup", None
    )  # "every group" needs the plain role


def test_pattern_matching_is_linear_in_the_group_name() -> None:
    steps = compile_pattern("*a*a*a*a*a")
    assert steps is not None
    started = time.perf_counter()
    assert not pattern_matches(steps, "a" * 1023 + "b")
    assert time.perf_counter() - started < 0.5  # a backtracking regex takes minutes here


# -- Host / Origin guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "origin", "allowed"),
    [
        ("localhost:8080", None, True),
        ("LOCALHOST:8080", "http://localhost:7071", True),
        ("127.0.0.1:8080", "https://127.0.0.1", True),
        ("[::1]:8080", "http://[::1]:7071", True),
        ("localhost.:8080", None, True),
        ("127.0.0.2:8080", "http://chat.localhost:7071", True),  # loopback literal, *.localhost
        ("evil.localhost.example:8080", None, False),
        ("[::ffff:7f00:1]:8080", None, False),
        ("evil.example:8080", None, False),
        ("localhost:8080", "http://evil.example", False),
        ("localhost:8080", "null", False),
        ("localhost:8080", "file://", False),
        ("localhost:8080", "http://localhost.evil.example", False),
        ("localhost:bad", None, False),
        ("", None, False),
        ("devbox:8080", "http://devbox:3000", True),  # added by --allow-host
    ],
)
def test_loopback_guard(host: str, origin: str | None, allowed: bool) -> None:
    guard = LoopbackGuard(["devbox", "0.0.0.0"])
    assert (guard.refusal(host, origin) is None) is allowed


def test_loopback_guard_star_allows_anything() -> None:
    assert LoopbackGuard(["*"]).refusal("evil.example", "http://evil.example") is None
