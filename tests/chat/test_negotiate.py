"""``GET /api/negotiate``: who gets a token, and what the token says."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
import jwt
import pytest

from tests.chat.conftest import Invoke
from tests.chat.recorder import RestRecorder
from tests.upstream_requests import PRIMARY_KEY

pytestmark = pytest.mark.asyncio


def negotiate_request(params: dict[str, str], headers: dict[str, str] | None = None) -> func.HttpRequest:
    return func.HttpRequest(
        method="GET",
        url="http://localhost:7071/api/negotiate",
        headers=headers or {},
        params=params,
        body=b"",
    )


def token_claims(url: str, endpoint: str) -> dict[str, object]:
    token = parse_qs(urlsplit(url).query)["access_token"][0]
    return jwt.decode(token, PRIMARY_KEY, algorithms=["HS256"], audience=f"{endpoint}/client/hubs/chat")


async def test_dev_mode_issues_a_short_lived_token_for_the_named_user(
    recorder: RestRecorder, invoke: Invoke
) -> None:
    response = await invoke("negotiate", negotiate_request({"name": "alice", "room": "general"}))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.get_body())
    assert (body["userId"], body["room"], body["expiresInMinutes"]) == ("alice", "general", 10)
    assert body["url"].startswith(f"ws://127.0.0.1:{recorder.port}/client/hubs/chat?access_token=")
    assert parse_qs(urlsplit(body["url"]).query)["room"] == ["general"]
    claims = token_claims(body["url"], recorder.endpoint)
    assert claims["sub"] == "alice"
    assert claims["role"] == ["webpubsub.joinLeaveGroup.general"]
    assert 9 * 60 <= int(claims["exp"]) - time.time() <= 10 * 60 + 5  # type: ignore[arg-type]


async def test_no_token_without_authentication_outside_dev_mode(
    recorder: RestRecorder, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ChatAllowQueryUserName", "false")
    response = await invoke("negotiate", negotiate_request({"name": "alice"}))
    assert response.status_code == 401
    assert "url" not in json.loads(response.get_body())


async def test_principal_headers_are_ignored_unless_platform_auth_is_on(
    recorder: RestRecorder, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ChatAllowQueryUserName", "false")
    forged = negotiate_request({}, {"X-MS-CLIENT-PRINCIPAL-NAME": "admin@contoso.com"})
    refused = await invoke("negotiate", forged)
    assert refused.status_code == 401
    assert "loginUrl" not in json.loads(refused.get_body())

    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    response = await invoke(
        "negotiate",
        negotiate_request({"name": "ignored"}, {"X-MS-CLIENT-PRINCIPAL-NAME": "carol@contoso.com"}),
    )
    body = json.loads(response.get_body())
    assert body["userId"] == "carol@contoso.com"
    anonymous = json.loads((await invoke("negotiate", negotiate_request({}))).get_body())
    assert anonymous["loginUrl"].startswith("/.auth/login/aad")
    assert token_claims(body["url"], recorder.endpoint)["sub"] == "carol@contoso.com"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"name": ""}, 400),
        ({"name": "<script>"}, 400),
        ({"name": "x" * 65}, 400),
        ({"name": "ok", "room": "vip"}, 400),
    ],
)
async def test_bad_names_and_rooms_are_refused(
    recorder: RestRecorder, invoke: Invoke, params: dict[str, str], status: int
) -> None:
    assert (await invoke("negotiate", negotiate_request(params))).status_code == status
