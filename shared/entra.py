"""Optional Microsoft Entra (managed identity) upstream authentication.

When the hub's event handler uses ``auth: ManagedIdentity``, the service sends
``Authorization: Bearer <token>`` issued for the configured resource (protocol
reference 3.4). This module checks that token: RS256 signature against the tenant's
signing keys (JWKS, cached), ``aud``, ``iss`` (v1 or v2 form), ``exp``/``nbf`` with a
small leeway, and optionally the caller's app id (``appid`` v1 / ``azp`` v2).

Imported only when ``WebPubSubEntraAudience`` is configured, so key-only deployments
never load PyJWT's crypto backend at cold start.
"""

from __future__ import annotations

import logging

import jwt

from .errors import InvalidToken
from .settings import EntraSettings

LOGGER = logging.getLogger(__name__)
LEEWAY_SECONDS = 60
JWKS_CACHE_SECONDS = 3600
JWKS_TIMEOUT_SECONDS = 5


def default_jwks_uri(tenant_id: str) -> str:
    return f"https://login.microsoftonline.com/{tenant_id}/discovery/v2.0/keys"


def issuers(tenant_id: str) -> list[str]:
    return [f"https://sts.windows.net/{tenant_id}/", f"https://login.microsoftonline.com/{tenant_id}/v2.0"]


class EntraTokenValidator:
    def __init__(self, settings: EntraSettings) -> None:
        self._settings = settings
        self._audiences = [a.strip() for a in settings.audience.split(",") if a.strip()]
        self._issuers = issuers(settings.tenant_id)
        self._keys = jwt.PyJWKClient(
            settings.jwks_uri or default_jwks_uri(settings.tenant_id),
            cache_keys=True,
            lifespan=JWKS_CACHE_SECONDS,
            timeout=JWKS_TIMEOUT_SECONDS,
        )

    def verify(self, authorization: str | None) -> dict[str, object]:
        """Return the token's claims, or raise ``InvalidToken`` (401)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("missing bearer token")
        try:
            signing_key = self._keys.get_signing_key_from_jwt(token.strip())
            claims: dict[str, object] = jwt.decode(
                token.strip(),
                signing_key.key,
                algorithms=["RS256"],
                audience=self._audiences,
                issuer=self._issuers,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWKClientError as exc:
            # also covers an unreachable key endpoint: fail closed, say why in the log only
            LOGGER.warning("Entra signing key lookup failed: %s", type(exc).__name__)
            raise InvalidToken() from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        allowed = self._settings.allowed_app_ids
        if allowed:
            caller = str(claims.get("appid") or claims.get("azp") or "").lower()
            if caller not in allowed:
                raise InvalidToken("caller application not allowed")
        return claims
