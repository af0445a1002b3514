"""Entra (managed identity) bearer tokens, checked against a JWKS served on 127.0.0.1.

Entra's real key endpoint cannot be reached here, so a locally generated RSA key plays
the tenant's signing key; the core fetches its JWKS over real HTTP from a local server.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from packaging.version import Version

from shared import headers as h
from shared.entra import issuers
from shared.errors import WebPubSubError
from shared.responses import RawRequest
from shared.settings import load_settings
from shared.upstream import UpstreamProtocol
from tests.entra_tokens import AUDIENCE, TENANT, WPS_APP_ID, entra_env, jwks, token
from tests.upstream_requests import CONNECTION_STRING, HUB, event_headers


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_uri(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    body = jwks((signing_key, "k1"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/discovery/v2.0/keys"
    server.shutdown()
    server.server_close()


def core_for(jwks_uri: str, *, with_key: bool = False, app_ids: str = WPS_APP_ID) -> UpstreamProtocol:
    env = entra_env(jwks_uri, app_ids)
    if with_key:
        env["WebPubSubConnectionString"] = CONNECTION_STRING
    return UpstreamProtocol(HUB, load_settings(env))


def request(authorization: str | None, keys: tuple[str, ...] = ()) -> RawRequest:
    headers = h.lower_keys(
        event_headers("connected", keys=keys) if keys else event_headers("connected", keys=())
    )
    if authorization is not None:
        headers["authorization"] = authorization
    return RawRequest("POST", headers, b"{}")


def test_valid_token_is_accepted_without_any_access_key(
    jwks_uri: str, signing_key: rsa.RSAPrivateKey
) -> None:
    event = core_for(jwks_uri).receive(request(f"Bearer {token(signing_key)}"))
    assert event.context.event_name == "connected"


def test_v2_issuer_and_azp_are_accepted(jwks_uri: str, signing_key: rsa.RSAPrivateKey) -> None:
    good = token(signing_key, iss=issuers(TENANT)[1], appid=None, azp=WPS_APP_ID)
    assert core_for(jwks_uri).receive(request(f"Bearer {good}"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "api://someone-else"},
        {"iss": "https://sts.windows.net/other-tenant/"},
        {"exp": int(time.time()) - 3600},
        {"nbf": int(time.time()) + 3600},
        {"appid": "bbbbbbbb-0000-0000-0000-000000000002"},
    ],
    ids=["audience", "issuer", "expired", "not-yet-valid", "caller-app"],
)
def test_bad_claims_are_refused(
    jwks_uri: str, signing_key: rsa.RSAPrivateKey, overrides: dict[str, Any]
) -> None:
    with pytest.raises(WebPubSubError) as info:
        core_for(jwks_uri).receive(request(f"Bearer {token(signing_key, **overrides)}"))
    assert info.value.status == 401


def test_token_signed_by_another_key_is_refused(jwks_uri: str) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(WebPubSubError) as info:
        core_for(jwks_uri).receive(request(f"Bearer {token(stranger)}"))
    assert info.value.status == 401


def test_unknown_key_id_is_refused(jwks_uri: str, signing_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(WebPubSubError):
        core_for(jwks_uri).receive(request(f"Bearer {token(signing_key, kid='k9')}"))


def test_hs256_token_made_with_the_public_key_is_refused(jwks_uri: str) -> None:
    forged = jwt.encode(
        {"aud": AUDIENCE, "iss": issuers(TENANT)[0], "exp": int(time.time()) + 60},
        "x" * 32,
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    with pytest.raises(WebPubSubError):
        core_for(jwks_uri).receive(request(f"Bearer {forged}"))


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic abc", "Bearer not-a-jwt"])
def test_missing_or_malformed_authorization_is_refused(jwks_uri: str, authorization: str | None) -> None:
    with pytest.raises(WebPubSubError) as info:
        core_for(jwks_uri).receive(request(authorization))
    assert info.value.status == 401


def test_unreachable_key_endpoint_fails_closed(signing_key: rsa.RSAPrivateKey) -> None:
    core = core_for("http://127.0.0.1:9/keys")  # discard port: connection refused
    with pytest.raises(WebPubSubError) as info:
        core.receive(request(f"Bearer {token(signing_key)}"))
    assert info.value.status == 401


def test_with_key_and_entra_both_must_pass(jwks_uri: str, signing_key: rsa.RSAPrivateKey) -> None:
    from tests.upstream_requests import PRIMARY_KEY

    core = core_for(jwks_uri, with_key=True)
    assert core.receive(request(f"Bearer {token(signing_key)}", keys=(PRIMARY_KEY,)))
    with pytest.raises(WebPubSubError):
        core.receive(request(f"Bearer {token(signing_key)}"))  # token but no signature
    with pytest.raises(WebPubSubError):
        core.receive(request(None, keys=(PRIMARY_KEY,)))  # signature but no token


@pytest.mark.parametrize("iss", [["https://sts.windows.net/x/"], 7, ""], ids=["list", "number", "empty"])
def test_an_issuer_of_the_wrong_shape_is_a_401_not_a_crash(
    jwks_uri: str, signing_key: rsa.RSAPrivateKey, iss: object
) -> None:
    now = int(time.time())
    claims = {"aud": AUDIENCE, "iss": iss, "exp": now + 600, "appid": WPS_APP_ID}
    # jwt.encode checks the claims it signs; PyJWS signs any payload, as a forger would
    odd = jwt.PyJWS().encode(
        json.dumps(claims).encode(), signing_key, algorithm="RS256", headers={"kid": "k1"}
    )
    with pytest.raises(WebPubSubError) as info:
        core_for(jwks_uri).receive(request(f"Bearer {odd}"))
    assert info.value.status == 401


def test_the_pyjwt_under_test_is_the_one_requested() -> None:
    """``tests/unit/test_entra_floor.py`` reruns this file with the lowest PyJWT allowed."""
    wanted = os.environ.get("ENTRA_TESTS_PYJWT_VERSION")
    if wanted is None:
        pytest.skip("runs under tests/unit/test_entra_floor.py only")
    assert Version(jwt.__version__) == Version(wanted)


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://login.microsoftonline.com/t/discovery/v2.0/keys", True),
        ("http://127.0.0.1:8000/keys", True),
        ("http://keys.example/keys", False),
        ("file:///etc/passwd", False),
        ("ftp://keys.example/keys", False),
    ],
)
def test_the_signing_key_url_must_be_https(signing_key: rsa.RSAPrivateKey, uri: str, allowed: bool) -> None:
    settings = load_settings(entra_env(uri))
    assert any("WebPubSubEntraJwksUri" in problem for problem in settings.problems) is not allowed
    if not allowed:  # still in Entra mode, and nothing is fetched from there: every token is refused
        with pytest.raises(WebPubSubError) as info:
            UpstreamProtocol(HUB, settings).receive(request(f"Bearer {token(signing_key)}"))
        assert info.value.status == 401
