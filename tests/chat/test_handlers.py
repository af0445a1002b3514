"""The chat hub's handlers: real signed ``func.HttpRequest`` objects in, and the unchanged
``azure-messaging-webpubsubservice`` client making real REST calls to a local recorder."""

from __future__ import annotations

import base64
import json

import pytest

from chat.config import MAX_TEXT_LENGTH
from tests.chat.conftest import Invoke
from tests.chat.recorder import RestRecorder
from tests.chat.upstream_requests import connect_body, http_request

pytestmark = pytest.mark.asyncio


def state_header(room: str) -> dict[str, str]:
    return {"ce-connectionState": base64.b64encode(json.dumps({"room": room}).encode()).decode()}


def decoded_state(response_headers: object) -> dict[str, object]:
    return json.loads(base64.b64decode(response_headers["ce-connectionState"]))  # type: ignore[index]


# -- connect -----------------------------------------------------------------------------


async def test_connect_takes_the_user_from_the_verified_token_not_the_query(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    body = connect_body(query={"room": ["general"], "userId": ["admin"], "name": ["admin"]})
    response = await invoke("chat_connect", http_request("connect", body, user_id="alice"))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {
        "userId": "alice",
        "groups": ["general"],
        "roles": [],  # none, whatever the token carried: only the server moves connections
        "subprotocol": "json.webpubsub.azure.v1",
    }
    # an unsigned ?name= is not trusted: the display name falls back to the user id
    assert decoded_state(response.headers) == {
        "room": "general",
        "kind": "public",
        "role": "member",
        "name": "alice",
    }


async def test_connect_falls_back_to_the_sub_claim(recorder: RestRecorder, invoke: Invoke) -> None:
    response = await invoke(
        "chat_connect", http_request("connect", connect_body(claims={"sub": ["bob"]}), user_id=None)
    )
    assert json.loads(response.get_body())["userId"] == "bob"


async def test_connect_without_a_user_is_rejected_even_with_a_query_name(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    body = connect_body(claims={}, query={"userId": ["admin"]})
    response = await invoke("chat_connect", http_request("connect", body, user_id=None))
    assert response.status_code == 401


async def test_connect_defaults_to_lobby_and_refuses_unknown_rooms(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    default = await invoke("chat_connect", http_request("connect", connect_body(query={})))
    assert json.loads(default.get_body())["groups"] == ["lobby"]
    refused = await invoke("chat_connect", http_request("connect", connect_body(query={"room": ["secret"]})))
    assert refused.status_code == 403


async def test_connect_picks_the_subprotocol_only_when_offered(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    simple = await invoke("chat_connect", http_request("connect", connect_body(subprotocols=[])))
    assert "subprotocol" not in json.loads(simple.get_body())
    reliable = await invoke(
        "chat_connect",
        http_request("connect", connect_body(subprotocols=["json.reliable.webpubsub.azure.v1"])),
    )
    assert json.loads(reliable.get_body())["subprotocol"] == "json.reliable.webpubsub.azure.v1"
    assert recorder.calls == []  # connect makes no REST call: groups travel in the reply


# -- presence ----------------------------------------------------------------------------


async def test_connected_broadcasts_joined_to_the_room_in_state(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    response = await invoke("chat_connected", http_request("connected", extra=state_header("random")))
    assert response.status_code == 204
    [call] = recorder.calls
    assert (call.method, call.path) == ("POST", "/api/hubs/chat/groups/random/:send")
    assert call.content_type.startswith("application/json")
    message = call.json()
    assert {k: message[k] for k in ("kind", "from", "room")} == {
        "kind": "joined",
        "from": "alice",
        "room": "random",
    }
    assert message["time"].endswith("Z")


async def test_events_without_state_fall_back_to_lobby(recorder: RestRecorder, invoke: Invoke) -> None:
    await invoke("chat_disconnected", http_request("disconnected", b'{"reason":null}'))
    [call] = recorder.calls
    assert call.path == "/api/hubs/chat/groups/lobby/:send"
    assert call.json()["kind"] == "left"


async def test_a_forged_state_room_cannot_escape_the_allowed_rooms(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    await invoke("chat_connected", http_request("connected", extra=state_header("../admin")))
    assert recorder.calls[0].path == "/api/hubs/chat/groups/lobby/:send"


# -- messages ----------------------------------------------------------------------------


async def test_simple_client_text_message_is_broadcast(recorder: RestRecorder, invoke: Invoke) -> None:
    request = http_request(
        "message", "  héllo  ".encode(), content_type="text/plain", extra=state_header("general")
    )
    response = await invoke("chat_message", request)
    assert response.status_code == 204
    [call] = recorder.sends()
    assert call.path == "/api/hubs/chat/groups/general/:send"
    message = call.json()
    assert {k: message[k] for k in ("kind", "from", "room", "text")} == {
        "kind": "chat",
        "from": "alice",
        "room": "general",
        "text": "héllo",
    }


async def test_subprotocol_chat_event_is_broadcast(recorder: RestRecorder, invoke: Invoke) -> None:
    request = http_request(
        "chat", b'{"text":"hi all"}', extra={"ce-subprotocol": "json.webpubsub.azure.v1"}, user_id="bob"
    )
    response = await invoke("chat_chat", request)
    assert response.status_code == 204
    assert recorder.sends()[0].json()["text"] == "hi all"
    assert recorder.sends()[0].json()["from"] == "bob"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"   ", "text/plain", "empty"),
        (("x" * (MAX_TEXT_LENGTH + 1)).encode(), "text/plain", "longer"),
        (b"\x00\x01", "application/octet-stream", "send text"),
        (b'{"text": 5}', "application/json", "send text"),
    ],
)
async def test_bad_text_gets_an_error_reply_and_no_broadcast(
    recorder: RestRecorder, invoke: Invoke, body: bytes, content_type: str, reason: str
) -> None:
    response = await invoke("chat_message", http_request("message", body, content_type=content_type))
    assert response.status_code == 200
    reply = json.loads(response.get_body())
    assert reply["kind"] == "error" and reason in reply["reason"]
    assert recorder.calls == []


async def test_forged_event_is_refused_and_nothing_is_broadcast(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    forged = http_request("chat", b'{"text":"pwned"}', keys=(), user_id="admin")
    response = await invoke("chat_chat", forged)
    assert response.status_code == 401
    assert recorder.calls == [] and recorder.auth_failures == 0


async def test_rest_failure_becomes_an_error_reply_not_a_500(
    recorder: RestRecorder, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat import handlers
    from shared.service import close_service_clients

    await close_service_clients()
    monkeypatch.setattr(recorder, "access_key", "rotated-key-the-app-does-not-know-abcdefgh")
    response = await invoke("chat_message", http_request("message", b"hi", content_type="text/plain"))
    assert response.status_code == 200
    assert json.loads(response.get_body())["kind"] == "error"
    assert recorder.auth_failures == 1
    assert handlers.hub.name == "chat"


async def test_one_pooled_connection_serves_many_events(recorder: RestRecorder, invoke: Invoke) -> None:
    for i in range(40):
        request = http_request("message", f"m{i}".encode(), content_type="text/plain", connection_id=f"c{i}")
        assert (await invoke("chat_message", request)).status_code == 204
    assert len(recorder.sends()) == 40
    assert [c.json()["text"] for c in recorder.sends()] == [f"m{i}" for i in range(40)]
    # one TCP connection (one client source port) carried every REST call
    assert len({c.peer_port for c in recorder.calls}) == 1
    assert recorder.auth_failures == 0
