"""``WebPubSubHub`` through the real Functions registry and real ``func.HttpRequest`` objects."""

from __future__ import annotations

import base64
import json
import logging

import azure.functions as func
import pytest

from shared import WebPubSubHub
from tests.adapter import hub_app
from tests.adapter.conftest import Invoke, invoker
from tests.app_index import get_functions
from tests.upstream_requests import (
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
        "chat_validate": ("chat/validate", ["GET", "OPTIONS"]),
        "chat_connect": ("chat/connect", ["POST"]),
        "chat_connected": ("chat/connected", ["POST"]),
        "chat_message": ("chat/message", ["POST"]),
        "chat_boom": ("chat/boom", ["POST"]),
        "chat_wrong": ("chat/wrong", ["POST"]),
        "chat_joined": ("chat/joined", ["POST"]),
    }
    assert {f.get_trigger().auth_level for f in functions} == {func.AuthLevel.ANONYMOUS}


def test_signed_connect_is_accepted_and_answered(invoke: Invoke) -> None:
    response = invoke("chat_connect", http_request("connect", connect_body()))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"userId": "alice", "groups": ["lobby"]}
    state = response.headers["ce-connectionState"]
    assert json.loads(base64.b64decode(state)) == {"room": "lobby"}
    assert hub_app.calls == ["connect:alice"]


def test_connect_rejection_keeps_its_status(invoke: Invoke) -> None:
    body = connect_body(claims={"role": ["banned"]})
    response = invoke("chat_connect", http_request("connect", body))
    assert (response.status_code, response.get_body()) == (403, b"banned")


def test_async_handler_reply_and_state_round_trip(invoke: Invoke) -> None:
    state = base64.b64encode(b'{"room":"general"}').decode()
    request = http_request(
        "message", b"hello", content_type="text/plain", extra={"ce-connectionState": state}
    )
    response = invoke("chat_message", request)
    assert response.status_code == 200
    assert response.get_body() == b"echo:hello"
    assert response.mimetype == "text/plain" or response.headers["Content-Type"] == "text/plain"
    new_state = json.loads(base64.b64decode(response.headers["ce-connectionState"]))
    assert new_state == {"room": "general", "count": 1}


def test_connected_returns_204_and_sees_state(invoke: Invoke) -> None:
    state = base64.b64encode(b'{"room":"random"}').decode()
    response = invoke("chat_connected", http_request("connected", extra={"ce-connectionState": state}))
    assert response.status_code == 204
    assert hub_app.calls == ["connected:random"]


def test_group_presence_route(invoke: Invoke) -> None:
    response = invoke("chat_joined", http_request("joined", b'{"group":"g1"}'))
    assert response.status_code == 204 and hub_app.calls == ["joined:g1"]


@pytest.mark.parametrize(
    ("function", "request_", "status"),
    [
        ("chat_connect", http_request("connect", connect_body(), keys=()), 401),
        ("chat_connect", http_request("connect", connect_body(), keys=(OTHER_KEY,)), 401),
        ("chat_connect", http_request("connect", connect_body(), keys=(), user_id="admin"), 401),
        ("chat_connect", http_request("connect", connect_body(), origin="evil.example"), 403),
        ("chat_connect", http_request("connect", b"[1,2"), 400),
        ("chat_connect", http_request("connected"), 400),  # wrong route for the event
        ("chat_message", http_request("message", b"x", content_type="application/xml"), 415),
        ("chat_message", http_request("message", b"x" * (1024 * 1024 + 1), content_type="text/plain"), 413),
        ("chat_connected", http_request("connected", extra={"ce-connectionState": "!!"}), 400),
        ("chat_connected", http_request("connected", hub="other"), 400),
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
        "chat_boom", http_request("boom", b"payload", content_type="text/plain", connection_id="c-77")
    )
    assert (response.status_code, response.get_body()) == (500, b"internal error")
    record = next(r for r in caplog.records if "handler raised" in r.getMessage())
    assert "connection=c-77" in record.getMessage() and "event=boom" in record.getMessage()


def test_wrong_handler_result_is_a_500(invoke: Invoke) -> None:
    response = invoke("chat_wrong", http_request("wrong", b"x", content_type="text/plain"))
    assert (response.status_code, response.get_body()) == (500, b"internal error")


def test_validate_answers_only_allowed_origins(invoke: Invoke) -> None:
    ok = invoke("chat_validate", validate_request())
    assert ok.status_code == 200 and ok.headers["WebHook-Allowed-Origin"] == "wps-test.webpubsub.azure.com"
    assert invoke("chat_validate", validate_request("evil.example")).status_code == 403
    assert invoke("chat_validate", validate_request(None)).status_code == 400
    assert invoke("chat_validate", validate_request(method="GET")).status_code == 200


def test_no_settings_means_every_event_is_refused_and_the_reason_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    invoke = invoker(hub_app.build({}))
    caplog.set_level(logging.INFO)
    response = invoke("chat_connect", http_request("connect", connect_body()))
    assert response.status_code == 401
    assert any("every event will be refused" in r.getMessage() for r in caplog.records)
    assert hub_app.calls == []


def test_dev_override_is_logged_loudly(caplog: pytest.LogCaptureFixture) -> None:
    invoke = invoker(hub_app.build({"WebPubSubAllowUnauthenticated": "true"}))
    caplog.set_level(logging.INFO)
    response = invoke("chat_connect", http_request("connect", connect_body(), keys=()))
    assert response.status_code == 200
    assert any(r.levelno == logging.WARNING and "UNAUTHENTICATED" in r.getMessage() for r in caplog.records)


def test_settings_are_read_on_first_request_not_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WebPubSubConnectionString", raising=False)
    hub = WebPubSubHub("late")
    monkeypatch.setenv("WebPubSubConnectionString", f"Endpoint=https://late.example;AccessKey={PRIMARY_KEY};")
    assert hub.protocol.settings.access_keys == (PRIMARY_KEY,)


def test_secrets_never_reach_the_logs(invoke: Invoke, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    forged = http_request(
        "connect", connect_body(), keys=(OTHER_KEY,), extra={"Authorization": "Bearer tok-123"}
    )
    invoke("chat_connect", forged)
    invoke("chat_boom", http_request("boom", b"x", content_type="text/plain"))
    invoke("chat_connect", http_request("connect", connect_body()))
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
