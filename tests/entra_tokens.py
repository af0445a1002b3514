"""Entra-style bearer tokens for the tests: a local RSA key plays the tenant's signing key.

Entra's real key endpoint cannot be reached here (and must not be), so tests serve the
JWKS of this key from 127.0.0.1 and sign tokens with it, claims shaped like the ones the
Web PubSub service's managed identity gets.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.entra import issuers

TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://wps-upstream"
WPS_APP_ID = "aaaaaaaa-0000-0000-0000-000000000001"
ORIGIN = "wps-test.webpubsub.azure.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig"}


def jwks(*keys: tuple[rsa.RSAPrivateKey, str]) -> bytes:
    return json.dumps({"keys": [jwk(key, kid) for key, kid in keys]}).encode()


def token(key: rsa.RSAPrivateKey, kid: str = "k1", **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "aud": AUDIENCE,
        "iss": issuers(TENANT)[0],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "appid": WPS_APP_ID,
        "sub": "svc",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def entra_env(jwks_uri: str, app_ids: str = WPS_APP_ID) -> dict[str, str]:
    return {
        "WebPubSubEntraAudience": AUDIENCE,
        "WebPubSubEntraTenantId": TENANT,
        "WebPubSubEntraAllowedAppIds": app_ids,
        "WebPubSubEntraJwksUri": jwks_uri,
        "WebPubSubAllowedOrigins": ORIGIN,
    }
