"""``shared.negotiate`` + ``shared.identity``: a fork's whole negotiate endpoint in one call, and
the display name that ``connect`` may trust, with real ``func.HttpRequest`` objects."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
import jwt
import pytest

from shared.events import ConnectEvent, ConnectionContext
from shared.identity import GuestCookie, is_guest
from shared.negotiate import NAME_PURPOSE, negotiate_response, signed_name
from shared.signing import sign
from tests.upstream_requests import CONNECTION_STRING, ENDPOINT_HOST, PRIMARY_KEY

HUB = "poll"
COOKIE = GuestCookie(name="poll_guest", purpose="poll guest cookie v1", max_age=3600)


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WebPubSubConnectionString", CONNECTION_STRING)
    for name in ("WebPubSubAccessKeys", "WEBSITE_AUTH_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    yield


def request(params: dict[str, str], headers: dict[str, str] | None = None) -> func.HttpRequest:
    return func.HttpRequest(
        method="GET", url="https://app.example/api/negotiate", headers=headers or {}, params=params, body=b""
    )


async def negotiate(
    params: dict[str, str], headers: dict[str, str] | None = None, *, allow_guests: bool = True
) -> func.HttpResponse:
    return await negotiate_response(
        request(params, headers), HUB, allow_guests=allow_guests, cookie=COOKIE, groups=["voters"], minutes=7
    )


def claims_of(url: str) -> dict[str, object]:
    token = parse_qs(urlsplit(url).query)["access_token"][0]
    audience = f"https://{ENDPOINT_HOST}/client/hubs/{HUB}"
    return jwt.decode(token, PRIMARY_KEY, algorithms=["HS256"], audience=audience)


def connect_event(user_id: str, query: dict[str, list[str]]) -> ConnectEvent:
    context = ConnectionContext(
        hub=HUB, connection_id="c1", event_name="connect", event_type="azure.webpubsub.sys.connect"
    )
    return ConnectEvent(context=context, claims={"sub": [user_id]}, query=query)


async def test_a_guest_gets_an_id_a_cookie_and_a_url_whose_name_connect_trusts() -> None:
    response = await negotiate({"name": "Zoé"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.get_body())
    assert set(body) == {"url", "userId", "name", "guest", "expiresInMinutes"}
    assert is_guest(body["userId"]) and (body["name"], body["guest"], body["expiresInMinutes"]) == (
        "Zoé",
        True,
        7,
    )
    claims = claims_of(body["url"])
    assert claims["sub"] == body["userId"] and claims["webpubsub.group"] == ["voters"]
    assert "role" not in claims  # no permission asked, none given
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"poll_guest={body['userId']}.") and "Max-Age=3600" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie  # https request

    query = parse_qs(urlsplit(body["url"]).query)
    assert signed_name(connect_event(body["userId"], query), body["userId"]) == "Zoé"
    # the same URL presented for another user id, or with the name edited, is not trusted
    assert signed_name(connect_event("guest-someone-else", query), "guest-someone-else") is None
    assert signed_name(connect_event(body["userId"], {**query, "name": ["Admin"]}), body["userId"]) is None

    again = await negotiate({"name": "Zoé 2"}, {"cookie": cookie.split(";", 1)[0]})
    assert json.loads(again.get_body())["userId"] == body["userId"]  # the cookie keeps the id


@pytest.mark.parametrize(
    "cookie_value",
    [
        "guest-AAAAAAAAAAAAAAAAAAAAAA.forged",
        '"guest-AAAAAAAAAAAAAAAAAAAAAA.\\303\\251"',  # SimpleCookie unescapes this to a non-ASCII é
        "guest-AAAAAAAAAAAAAAAAAAAAAA." + "A" * 43,
        "not-a-guest.xyz",
    ],
)
async def test_a_forged_or_garbled_cookie_gets_a_new_guest_not_an_error(cookie_value: str) -> None:
    response = await negotiate({"name": "Eve"}, {"cookie": f"poll_guest={cookie_value}"})
    assert response.status_code == 200
    assert json.loads(response.get_body())["userId"] != "guest-AAAAAAAAAAAAAAAAAAAAAA"


@pytest.mark.parametrize("signature", ["é", "%C3%A9", "", "x" * 43, "A" * 44, "\u0661" * 43])
def test_a_garbled_name_signature_is_not_trusted_and_never_raises(signature: str) -> None:
    event = connect_event("guest-x", {"name": ["Admin"], "nameSig": [signature]})
    assert signed_name(event, "guest-x") is None


def test_a_signature_for_another_purpose_does_not_sign_a_name() -> None:
    user_id, name = "guest-x", "Admin"
    other = sign("guest cookie v1", f"{user_id}\n{name}")
    assert other is not None and other != sign(NAME_PURPOSE, f"{user_id}\n{name}")
    assert signed_name(connect_event(user_id, {"name": [name], "nameSig": [other]}), user_id) is None


async def test_guests_off_means_401_and_a_login_url_only_when_the_platform_signs_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = await negotiate({"name": "Ann"}, allow_guests=False)
    assert (refused.status_code, json.loads(refused.get_body())) == (401, {"error": "sign in first"})
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    refused = await negotiate({"name": "Ann"}, allow_guests=False)
    assert json.loads(refused.get_body())["loginUrl"] == "/.auth/login/aad"


async def test_a_signed_in_user_is_who_the_platform_says_whatever_the_name_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    principal = {"claims": [{"typ": "name", "val": "Ann Example"}]}
    headers = {
        "x-ms-client-principal-id": "oid-1",
        "x-ms-client-principal-idp": "aad",
        "x-ms-client-principal": base64.b64encode(json.dumps(principal).encode()).decode(),
    }
    # without App Service Authentication on, such headers are anyone's: a guest, not oid-1
    spoofed = json.loads((await negotiate({"name": "Ann"}, headers)).get_body())
    assert spoofed["guest"] and spoofed["userId"] != "aad-oid-1"
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    response = await negotiate({"name": "Someone Else"}, headers, allow_guests=False)
    body = json.loads(response.get_body())
    assert (body["userId"], body["name"], body["guest"]) == ("aad-oid-1", "Ann Example", False)
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("name", ["", "   ", "\u202eevil", "x" * 33, "\u3164", "\u0301\u0301"])
async def test_an_unacceptable_guest_name_is_a_400_that_says_why(name: str) -> None:
    response = await negotiate({"name": name})
    assert response.status_code == 400
    assert json.loads(response.get_body())["error"]


def principal_headers(**claims: str) -> dict[str, str]:
    principal = {"auth_typ": "aad", "claims": [{"typ": typ, "val": val} for typ, val in claims.items()]}
    return {
        "x-ms-client-principal-id": "oid-2",
        "x-ms-client-principal-idp": "aad",
        "x-ms-client-principal": base64.b64encode(json.dumps(principal).encode()).decode(),
    }


@pytest.mark.parametrize(
    ("claims", "allowed", "user"),
    [
        ({"name": "Browser Session", "aud": "own-client"}, "", True),  # ID token: a person signed in
        ({"appid": "daemon-app", "roles": "Everything"}, "", False),  # app-only bearer token (v1)
        ({"azp": "daemon-app"}, "daemon-app", False),  # app-only (v2): never, even from a listed client
        ({"azp": "other-spa", "scp": "user_impersonation", "name": "Via Other App"}, "", False),
        ({"azp": "other-spa", "scp": "user_impersonation", "name": "Via Other App"}, "OTHER-spa", True),
    ],
)
async def test_only_a_persons_session_counts_as_signed_in_not_another_application(
    monkeypatch: pytest.MonkeyPatch, claims: dict[str, str], allowed: str, user: bool
) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    monkeypatch.setenv("EasyAuthAllowedClientApps", allowed)
    response = await negotiate({"name": "n"}, principal_headers(**claims), allow_guests=False)
    if user:
        assert response.status_code == 200
        assert json.loads(response.get_body())["userId"] == "aad-oid-2"
    else:
        assert response.status_code == 401  # guests are off: refused, not let in as aad-oid-2


async def test_a_principal_header_that_does_not_decode_is_not_a_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    headers = {**principal_headers(name="x"), "x-ms-client-principal": "not base64 json!"}
    response = await negotiate({"name": "n"}, headers, allow_guests=False)
    assert response.status_code == 401
