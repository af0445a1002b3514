"""``GET /api/negotiate``: who gets a token, and what the token says."""

from __future__ import annotations

import base64
import itertools
import json
import time
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
import jwt
import pytest

from tests.chat.conftest import Invoke
from tests.chat.recorder import RestRecorder
from tests.chat.upstream_requests import PRIMARY_KEY, SECONDARY_KEY, connect_body, http_request

pytestmark = pytest.mark.asyncio

ALICE_OID = "8f2d3c4e-0000-4000-8000-00000000a11c"


def negotiate_request(
    params: dict[str, str],
    headers: dict[str, str] | None = None,
    url: str = "http://localhost:7071/api/negotiate",
) -> func.HttpRequest:
    return func.HttpRequest(method="GET", url=url, headers=headers or {}, params=params, body=b"")


def token_claims(url: str, endpoint: str) -> dict[str, object]:
    token = parse_qs(urlsplit(url).query)["access_token"][0]
    return jwt.decode(token, PRIMARY_KEY, algorithms=["HS256"], audience=f"{endpoint}/client/hubs/chat")


def cookie_of(response: func.HttpResponse) -> str:
    header = response.headers.get("Set-Cookie", "")
    return header.split(";", 1)[0]


def alice_headers() -> dict[str, str]:
    """What App Service Authentication adds for a signed-in Entra user."""
    principal = {"auth_typ": "aad", "claims": [{"typ": "name", "val": "Alice Liddell"}]}
    return {
        "X-MS-CLIENT-PRINCIPAL-ID": ALICE_OID,
        "X-MS-CLIENT-PRINCIPAL-NAME": "alice@contoso.com",
        "X-MS-CLIENT-PRINCIPAL-IDP": "aad",
        "X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(principal).encode()).decode(),
    }


async def test_a_guest_gets_a_server_assigned_id_and_a_short_lived_token(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    response = await invoke("negotiate", negotiate_request({"name": "alice", "room": "general"}))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.get_body())
    assert set(body) == {"url", "userId", "name", "guest", "room", "rooms", "expiresInMinutes"}
    assert body["userId"].startswith("guest-") and body["userId"] != "alice"
    assert (body["name"], body["guest"], body["room"]) == ("alice", True, "general")
    assert (body["rooms"], body["expiresInMinutes"]) == (["lobby", "general", "random"], 10)
    assert body["url"].startswith(f"ws://127.0.0.1:{recorder.port}/client/hubs/chat?access_token=")
    query = parse_qs(urlsplit(body["url"]).query)
    assert (query["room"], query["name"]) == (["general"], ["alice"])
    claims = token_claims(body["url"], recorder.endpoint)
    assert claims["sub"] == body["userId"]
    assert "role" not in claims  # no roles: only the server moves connections between groups
    assert 9 * 60 <= int(claims["exp"]) - time.time() <= 10 * 60 + 5  # type: ignore[arg-type]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"chat_guest={body['userId']}.")
    assert all(attr in cookie for attr in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="))
    assert "Secure" not in cookie  # plain http locally; see the https test below


async def test_the_cookie_keeps_the_guest_id_and_cannot_be_forged(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    first = await invoke("negotiate", negotiate_request({"name": "Zoé"}))
    user_id = json.loads(first.get_body())["userId"]
    again = await invoke("negotiate", negotiate_request({"name": "Zoë"}, {"Cookie": cookie_of(first)}))
    assert json.loads(again.get_body())["userId"] == user_id

    for forged in (
        f"chat_guest={user_id}.AAAA",
        f"chat_guest={user_id}",
        "chat_guest=guest-" + "A" * 22 + "." + cookie_of(first).split(".", 1)[1],  # a signature of another id
        f"chat_guest=aad-{ALICE_OID}.{cookie_of(first).split('.', 1)[1]}",
        "chat_guest=%%%; other=1",
    ):
        other = await invoke("negotiate", negotiate_request({"name": "Zoé"}, {"Cookie": forged}))
        assert other.status_code == 200
        got = json.loads(other.get_body())["userId"]
        assert got != user_id and got.startswith("guest-"), forged


async def test_the_cookie_is_secure_over_https(recorder: RestRecorder, invoke: Invoke) -> None:
    response = await invoke(
        "negotiate", negotiate_request({"name": "Zoé"}, url="https://chat.example.net/api/negotiate")
    )
    assert "; Secure" in response.headers["Set-Cookie"]


async def test_the_name_rides_in_the_url_with_a_signature_that_connect_checks(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    body = json.loads((await invoke("negotiate", negotiate_request({"name": "李雷"}))).get_body())
    query = parse_qs(urlsplit(body["url"]).query)
    good = connect_body(query={"room": ["lobby"], "name": query["name"], "nameSig": query["nameSig"]})
    response = await invoke("chat_connect", http_request("connect", good, user_id=body["userId"]))
    state = json.loads(base64.b64decode(response.headers["ce-connectionState"]))
    assert state == {"room": "lobby", "kind": "public", "role": "member", "name": "李雷"}
    # the same signature for another user, or another name for this user, is not trusted
    for user_id, name in ((body["userId"] + "x", "李雷"), (body["userId"], "Admin")):
        forged = connect_body(query={"room": ["lobby"], "name": [name], "nameSig": query["nameSig"]})
        response = await invoke("chat_connect", http_request("connect", forged, user_id=user_id))
        assert json.loads(base64.b64decode(response.headers["ce-connectionState"]))["name"] == user_id


async def test_no_token_without_sign_in_when_guests_are_off(
    recorder: RestRecorder, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ChatAllowGuests", "false")
    response = await invoke("negotiate", negotiate_request({"name": "alice"}))
    assert response.status_code == 401
    assert "url" not in json.loads(response.get_body())


async def test_principal_headers_are_ignored_unless_platform_auth_is_on(
    recorder: RestRecorder, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ChatAllowGuests", "false")
    refused = await invoke("negotiate", negotiate_request({}, alice_headers()))
    assert refused.status_code == 401
    assert "loginUrl" not in json.loads(refused.get_body())

    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    response = await invoke("negotiate", negotiate_request({"name": "ignored"}, alice_headers()))
    body = json.loads(response.get_body())
    assert (body["userId"], body["name"], body["guest"]) == (f"aad-{ALICE_OID}", "Alice Liddell", False)
    assert "Set-Cookie" not in response.headers
    assert token_claims(body["url"], recorder.endpoint)["sub"] == f"aad-{ALICE_OID}"
    anonymous = json.loads((await invoke("negotiate", negotiate_request({}))).get_body())
    assert anonymous["loginUrl"].startswith("/.auth/login/aad")


async def test_a_signed_in_users_name_comes_from_the_principal_and_is_cleaned(
    recorder: RestRecorder, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    headers = {"X-MS-CLIENT-PRINCIPAL-ID": "42", "X-MS-CLIENT-PRINCIPAL-NAME": "\u202eBob\u200b " + "x" * 40}
    body = json.loads((await invoke("negotiate", negotiate_request({}, headers))).get_body())
    assert body["userId"] == "user-42"  # no provider header: still never a guest id
    assert body["name"] == ("Bob " + "x" * 40)[:32]


@pytest.mark.parametrize(
    ("auth", "guests"), list(itertools.product(["True", "true", "", "False"], ["true", "", "false"]))
)
async def test_an_anonymous_visitor_never_gets_a_signed_in_users_id(
    recorder: RestRecorder, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, auth: str, guests: str
) -> None:
    """Issue 13 item 2: Easy Auth on + guest names allowed must not let anyone become alice.

    Before the fix, negotiate returned ``?name=`` as the user id whenever the dev setting
    was on, so ``name=alice@contoso.com`` gave a token for alice's id.
    """
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", auth)
    monkeypatch.setenv("ChatAllowGuests", guests)
    monkeypatch.setenv("ChatAllowQueryUserName", guests)  # the setting's name before guests existed
    signed_in_ids = {"alice@contoso.com", ALICE_OID, f"aad-{ALICE_OID}", "Alice Liddell"}
    for name in signed_in_ids:
        for forged in ({}, {"Cookie": f"chat_guest=aad-{ALICE_OID}.x"}, {"X-MS-CLIENT-PRINCIPAL-NAME": name}):
            response = await invoke("negotiate", negotiate_request({"name": name}, forged))
            if response.status_code != 200:
                assert response.status_code in (400, 401)
                continue
            body = json.loads(response.get_body())
            assert body["userId"] not in signed_in_ids and body["userId"].startswith("guest-")
            assert body["guest"] is True
            assert token_claims(body["url"], recorder.endpoint)["sub"] == body["userId"]


async def test_guest_cookies_are_signed_with_the_first_key_so_dropping_another_keeps_them(
    recorder: RestRecorder, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WebPubSubAccessKeys", SECONDARY_KEY)
    first = await invoke("negotiate", negotiate_request({"name": "Kim"}))
    user_id = json.loads(first.get_body())["userId"]
    monkeypatch.setenv("WebPubSubAccessKeys", "")  # the extra key is dropped
    again = await invoke("negotiate", negotiate_request({"name": "Kim"}, {"Cookie": cookie_of(first)}))
    assert json.loads(again.get_body())["userId"] == user_id  # signed with the primary


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"name": ""}, 400),
        ({"name": "   "}, 400),
        ({"name": "\u202egnp.exe"}, 400),
        ({"name": "a\u2067b"}, 400),
        ({"name": "line\nbreak"}, 400),
        ({"name": "x" * 33}, 400),
        ({"name": "ok", "room": "vip"}, 400),
    ],
)
async def test_bad_names_and_rooms_are_refused(
    recorder: RestRecorder, invoke: Invoke, params: dict[str, str], status: int
) -> None:
    response = await invoke("negotiate", negotiate_request(params))
    assert response.status_code == status
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    ("raw", "expected"), [("José", "José"), ("Jose\u0301", "José"), ("x" * 32, "x" * 32)]
)
async def test_unicode_names_are_nfc_normalised(
    recorder: RestRecorder, invoke: Invoke, raw: str, expected: str
) -> None:
    body = json.loads((await invoke("negotiate", negotiate_request({"name": raw}))).get_body())
    assert body["name"] == expected
