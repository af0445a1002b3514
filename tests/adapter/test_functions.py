"""``WebPubSubHub`` through the real Functions registry and real ``func.HttpRequest`` objects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

import azure.functions as func
import pytest

from shared import ConnectEvent, ConnectResponse, WebPubSubHub
from tests.adapter import hub_app
from tests.adapter.conftest import Invoke, invoker
from tests.app_index import get_functions
from tests.upstream_requests import (
    CONNECTION_STRING,
    HUB,
    OTHER_KEY,
    PRIMARY_KEY,
    connect_body,
    http_request,
    validate_request,
)


def test_one_function_per_event_with_routes_methods_and_auth_levels(app: func.FunctionApp) -> None:
    functions = get_functions(app)
    found = {
        f.get_function_name(): (f.get_trigger().route, sorted(str(m.value) for m in f.get_trigger().methods))
        for f in functions
    }
    assert found == {
        "demo_validate": ("demo/validate", ["GET", "OPTIONS"]),
        "demo_connect": ("demo/connect", ["POST"]),
        "demo_connected": ("demo/connected", ["POST"]),
        "demo_message": ("demo/message", ["POST"]),
        "demo_boom": ("demo/boom", ["POST"]),
        "demo_wrong": ("demo/wrong", ["POST"]),
        "demo_joined": ("demo/joined", ["POST"]),
        "demo_disconnected": ("demo/disconnected", ["POST"]),
    }
    assert {f.get_trigger().auth_level for f in functions} == {func.AuthLevel.ANONYMOUS}


def test_signed_connect_is_accepted_and_answered(invoke: Invoke) -> None:
    response = invoke("demo_connect", http_request("connect", connect_body()))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"userId": "alice", "groups": ["lobby"]}
    state = response.headers["ce-connectionState"]
    assert json.loads(base64.b64decode(state)) == {"room": "lobby"}
    assert hub_app.calls == ["connect:alice"]


def test_connect_rejection_keeps_its_status(invoke: Invoke) -> None:
    body = connect_body(claims={"role": ["banned"]})
    response = invoke("demo_connect", http_request("connect", body))
    assert (response.status_code, response.get_body()) == (403, b"banned")


def test_async_handler_reply_and_state_round_trip(invoke: Invoke) -> None:
    state = base64.b64encode(b'{"room":"general"}').decode()
    request = http_request(
        "message", b"hello", content_type="text/plain", extra={"ce-connectionState": state}
    )
    response = invoke("demo_message", request)
    assert response.status_code == 200
    assert response.get_body() == b"echo:hello"
    assert response.mimetype == "text/plain" or response.headers["Content-Type"] == "text/plain"
    new_state = json.loads(base64.b64decode(response.headers["ce-connectionState"]))
    assert new_state == {"room": "general", "count": 1}


def test_connected_returns_204_and_sees_state(invoke: Invoke) -> None:
    state = base64.b64encode(b'{"room":"random"}').decode()
    response = invoke("demo_connected", http_request("connected", extra={"ce-connectionState": state}))
    assert response.status_code == 204
    assert hub_app.calls == ["connected:random"]


def test_group_presence_route(invoke: Invoke) -> None:
    response = invoke("demo_joined", http_request("joined", b'{"group":"g1"}'))
    assert response.status_code == 204 and hub_app.calls == ["joined:g1"]


@pytest.mark.parametrize(
    ("function", "request_", "status"),
    [
        ("demo_connect", http_request("connect", connect_body(), keys=()), 401),
        ("demo_connect", http_request("connect", connect_body(), keys=(OTHER_KEY,)), 401),
        ("demo_connect", http_request("connect", connect_body(), keys=(), user_id="admin"), 401),
        ("demo_connect", http_request("connect", connect_body(), origin="evil.example"), 403),
        ("demo_connect", http_request("connect", b"[1,2"), 400),
        ("demo_connect", http_request("connected"), 400),  # wrong route for the event
        ("demo_message", http_request("message", b"x", content_type="application/xml"), 415),
        ("demo_message", http_request("message", b"x" * (1024 * 1024 + 1), content_type="text/plain"), 413),
        ("demo_connected", http_request("connected", extra={"ce-connectionState": "!!"}), 400),
        ("demo_connected", http_request("connected", hub="other"), 400),
    ],
)
def test_refusals_through_the_adapter(
    invoke: Invoke, function: str, request_: func.HttpRequest, status: int
) -> None:
    response = invoke(function, request_)
    assert response.status_code == status
    assert hub_app.calls == []  # the handler never ran


def test_handler_exception_is_a_generic_500_and_is_logged_with_ids(
    invoke: Invoke, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = invoke(
        "demo_boom", http_request("boom", b"payload", content_type="text/plain", connection_id="c-77")
    )
    assert (response.status_code, response.get_body()) == (500, b"internal error")
    record = next(r for r in caplog.records if "handler raised" in r.getMessage())
    assert "connection=c-77" in record.getMessage() and "event=boom" in record.getMessage()


def test_wrong_handler_result_is_a_500(invoke: Invoke) -> None:
    response = invoke("demo_wrong", http_request("wrong", b"x", content_type="text/plain"))
    assert (response.status_code, response.get_body()) == (500, b"internal error")


def test_validate_answers_only_allowed_origins(invoke: Invoke) -> None:
    ok = invoke("demo_validate", validate_request())
    assert ok.status_code == 200 and ok.headers["WebHook-Allowed-Origin"] == "wps-test.webpubsub.azure.com"
    assert invoke("demo_validate", validate_request("evil.example")).status_code == 403
    assert invoke("demo_validate", validate_request(None)).status_code == 400
    assert invoke("demo_validate", validate_request(method="GET")).status_code == 200


def test_no_settings_means_every_event_is_refused_and_the_reason_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    invoke = invoker(hub_app.build({}))
    caplog.set_level(logging.INFO)
    response = invoke("demo_connect", http_request("connect", connect_body()))
    assert response.status_code == 401
    assert any("every event will be refused" in r.getMessage() for r in caplog.records)
    assert hub_app.calls == []


def test_dev_override_is_logged_loudly(caplog: pytest.LogCaptureFixture) -> None:
    invoke = invoker(hub_app.build({"WebPubSubAllowUnauthenticated": "true"}))
    caplog.set_level(logging.INFO)
    response = invoke("demo_connect", http_request("connect", connect_body(), keys=()))
    assert response.status_code == 200
    assert any(r.levelno == logging.WARNING and "UNAUTHENTICATED" in r.getMessage() for r in caplog.records)


def test_settings_are_read_when_the_hub_is_created(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "WebPubSubConnectionString", f"Endpoint=https://early.example;AccessKey={PRIMARY_KEY};"
    )
    hub = WebPubSubHub("early")
    monkeypatch.delenv("WebPubSubConnectionString")
    assert hub.protocol.settings.access_keys == (PRIMARY_KEY,)
    hub.configure()  # an explicit reload reads the environment again
    assert hub.protocol.settings.access_keys == ()


@pytest.mark.parametrize(
    ("env", "level", "text"),
    [
        ({}, logging.ERROR, "every event will be refused"),
        ({"WebPubSubAllowUnauthenticated": "true"}, logging.WARNING, "UNAUTHENTICATED"),
        (
            {
                "WebPubSubConnectionString": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)"
            },
            logging.ERROR,
            "unresolved Key Vault reference",
        ),
    ],
    ids=["no-key", "dev-override", "key-vault-reference"],
)
def test_configuration_problems_are_logged_when_the_hub_is_created_before_any_request(
    caplog: pytest.LogCaptureFixture, env: dict[str, str], level: int, text: str
) -> None:
    caplog.set_level(logging.INFO)
    WebPubSubHub("startup", env=env)  # no request is made
    assert any(r.levelno == level and text in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("name", ["connect", "connected", "disconnected", "joined"])
def test_a_user_event_named_like_a_system_event_never_reaches_the_system_handler(
    invoke: Invoke, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    """With the URL template .../{event} the service posts a client's custom event
    ``connected`` to the ``connected`` route: it must not fake a join (or a leave, or be a 500)."""
    caplog.set_level(logging.INFO)
    request = http_request(
        name, b"hi", content_type="text/plain", extra={"ce-type": f"azure.webpubsub.user.{name}"}
    )
    response = invoke(f"demo_{name}", request)
    assert response.status_code == 400
    assert f"reserved name '{name}'" in response.get_body().decode()
    assert hub_app.calls == []
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


@pytest.mark.parametrize("header", ["ce-userId", "ce-connectionId", "ce-id", "WebHook-Request-Origin"])
def test_a_signed_connect_with_non_utf8_header_bytes_is_a_400(invoke: Invoke, header: str) -> None:
    """aiohttp (the dev host) reads header bytes that are not UTF-8 as lone surrogates."""
    undecodable = "al\udcffice"
    request = http_request("connect", connect_body(), extra={header: undecodable})
    if header == "ce-connectionId":  # signed over the bytes that were sent, as the service would
        mac = hmac.new(PRIMARY_KEY.encode(), undecodable.encode("utf-8", "surrogateescape"), hashlib.sha256)
        extra = {"ce-signature": f"sha256={mac.hexdigest()}"}
        request = http_request("connect", connect_body(), connection_id=undecodable, keys=(), extra=extra)
    response = invoke("demo_connect", request)
    assert (response.status_code, response.get_body()) == (
        400,
        f"invalid header {header}: not valid UTF-8".encode(),
    )
    assert hub_app.calls == []


def test_a_reply_that_cannot_be_encoded_is_a_logged_generic_500(caplog: pytest.LogCaptureFixture) -> None:
    hub = WebPubSubHub(HUB, env={"WebPubSubConnectionString": CONNECTION_STRING})

    @hub.on_connect
    def connect(event: ConnectEvent) -> ConnectResponse:
        # e.g. a name read from a file with errors="surrogateescape"
        return ConnectResponse(user_id="caf\udce9")

    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(hub.blueprint)
    caplog.set_level(logging.INFO)
    response = invoker(app)("demo_connect", http_request("connect", connect_body(), connection_id="c-9"))
    assert (response.status_code, response.get_body()) == (500, b"internal error")
    record = next(r for r in caplog.records if "reply could not be built" in r.getMessage())
    assert record.levelno == logging.ERROR and "connection=c-9" in record.getMessage()


def test_secrets_never_reach_the_logs(invoke: Invoke, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    forged = http_request(
        "connect", connect_body(), keys=(OTHER_KEY,), extra={"Authorization": "Bearer tok-123"}
    )
    invoke("demo_connect", forged)
    invoke("demo_boom", http_request("boom", b"x", content_type="text/plain"))
    invoke("demo_connect", http_request("connect", connect_body()))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert text  # something was logged
    for secret in (PRIMARY_KEY, OTHER_KEY, "tok-123", "sha256="):
        assert secret not in text


def test_duplicate_and_reserved_event_names_are_rejected_at_registration() -> None:
    hub = WebPubSubHub("dup", env={})
    hub.on_event("x")(lambda e: None)
    with pytest.raises(ValueError):
        hub.on_event("x")(lambda e: None)
    for bad in ("connect", "validate", "a/b", ""):
        with pytest.raises(ValueError):
            hub.on_event(bad)


@pytest.mark.parametrize(
    ("function", "request_", "content_type"),
    [
        ("demo_connect", http_request("connect", connect_body()), "application/json"),
        ("demo_message", http_request("message", b"hi", content_type="text/plain"), "text/plain"),
        ("demo_connect", http_request("connect", connect_body(), keys=()), "text/plain; charset=utf-8"),
    ],
    ids=["json-reply", "text-reply", "refusal"],
)
def test_reply_content_type_reaches_the_wire_as_the_core_chose_it(
    invoke: Invoke, function: str, request_: func.HttpRequest, content_type: str
) -> None:
    """What the Python worker sends: azure.functions' own response encoder, unchanged."""
    from azure.functions.http import HttpResponseConverter

    datum = HttpResponseConverter.encode(invoke(function, request_), expected_type=None)
    headers = {name.lower(): value.value for name, value in datum.value["headers"].items()}
    assert headers["content-type"] == content_type
