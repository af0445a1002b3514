"""Every signature the core checks refuses text that is not ASCII with a 401 (issue 22).

``hmac.compare_digest`` raises ``TypeError`` on non-ASCII text and PyJWT raises
``UnicodeEncodeError`` on the lone surrogates the dev host (aiohttp) makes of header bytes that
are not UTF-8; either would escape as a 500. A signature or a token is ASCII by definition, so
such input is simply not valid. The right digest written with look-alike digits must not pass.
"""

from __future__ import annotations

import hashlib
import hmac

import azure.functions as func
import pytest

from shared import ConnectEvent, ConnectResponse, WebPubSubHub
from tests.adapter import hub_app
from tests.adapter.conftest import Invoke, invoker
from tests.entra_tokens import ORIGIN, entra_env
from tests.upstream_requests import PRIMARY_KEY, connect_body, http_request

DIGEST = hmac.new(PRIMARY_KEY.encode(), b"conn-1", hashlib.sha256).hexdigest()
FULLWIDTH = str.maketrans("0123456789abcdef", "０１２３４５６７８９ａｂｃｄｅｆ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
HOSTILE_SIGNATURES = {
    "e-acute": "sha256=é",
    "fullwidth-digest": "sha256=" + DIGEST.translate(FULLWIDTH),
    "arabic-indic-digest": "sha256=" + DIGEST.translate(ARABIC_INDIC),
    "one-fullwidth-digit": "sha256=" + DIGEST[:-1] + DIGEST[-1].translate(FULLWIDTH),
    "undecodable-bytes": "sha256=" + DIGEST[:-2] + "\udcc3\udca9",
    "after-a-bad-entry": "sha256=" + "é" * 64 + ",sha256=" + "0" * 64,
}


@pytest.mark.parametrize("signature", HOSTILE_SIGNATURES.values(), ids=HOSTILE_SIGNATURES.keys())
def test_a_non_ascii_ce_signature_is_a_401(invoke: Invoke, signature: str) -> None:
    request = http_request("connect", connect_body(), keys=(), extra={"ce-signature": signature})
    response = invoke("chat_connect", request)
    assert response.status_code == 401
    assert hub_app.calls == []
    # the control: the same request with the digest in ASCII is accepted
    control = http_request("connect", connect_body(), keys=(), extra={"ce-signature": f"sha256={DIGEST}"})
    assert invoke("chat_connect", control).status_code == 200


def entra_app() -> func.FunctionApp:
    # the key endpoint is never reached: a token that is not ASCII fails before any fetch
    env = entra_env("https://127.0.0.1:9/discovery/v2.0/keys")
    hub = WebPubSubHub("chat", env=env)

    @hub.on_connect
    def connect(event: ConnectEvent) -> ConnectResponse:
        raise AssertionError("a request with an invalid token reached the handler")

    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(hub.blueprint)
    return app


@pytest.mark.parametrize(
    "token",
    ["eyJ\udcff.eyJ.sig", "\udcff", "é.é.é", "ｅｙＪ.ｅｙＪ.ｓｉｇ"],
    ids=["surrogate", "only-surrogate", "accents", "fullwidth"],
)
def test_a_non_ascii_entra_bearer_token_is_a_401(token: str) -> None:
    request = http_request(
        "connect", connect_body(), keys=(), origin=ORIGIN, extra={"Authorization": f"Bearer {token}"}
    )
    response = invoker(entra_app())("chat_connect", request)
    assert (response.status_code, response.get_body()) == (401, b"bearer token validation failed")
