"""Configuration: access keys, allowed origins, Entra options and service-client mode.

Parsed from a plain ``Mapping`` (the Functions adapter passes ``os.environ``; tests
pass dicts), once, into a frozen ``UpstreamSettings``. Setting names follow the Azure
Functions conventions (protocol reference 11; infra reference):

========================================  =====================================================
``WebPubSubConnectionString``             key mode: ``Endpoint=...;AccessKey=...;Version=1.0;``
``WebPubSubConnectionString__serviceUri`` keyless mode: the endpoint, with managed identity
``WebPubSubConnectionString__clientId``   keyless mode: user-assigned identity's client id
``WebPubSubAccessKeys``                   extra keys for ``ce-signature`` (comma list; rotation)
``WebPubSubAllowedOrigins``               hosts allowed to call us (default: endpoint hosts)
``WebPubSubEntraAudience``                enable Entra bearer-token checks with this ``aud``
``WebPubSubEntraTenantId``                tenant whose issuer and signing keys are trusted
``WebPubSubEntraAllowedAppIds``           optional: only these caller app ids (``appid``/``azp``)
``WebPubSubEntraJwksUri``                 optional: signing-key URL override (tests, sovereign clouds)
``WebPubSubAllowUnauthenticated``         ``true``: accept unsigned events (local dev only, logged)
========================================  =====================================================
"""

from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

CONNECTION_STRING = "WebPubSubConnectionString"
SERVICE_URI = "WebPubSubConnectionString__serviceUri"
CLIENT_ID = "WebPubSubConnectionString__clientId"
EXTRA_ACCESS_KEYS = "WebPubSubAccessKeys"
ALLOWED_ORIGINS = "WebPubSubAllowedOrigins"
ENTRA_AUDIENCE = "WebPubSubEntraAudience"
ENTRA_TENANT_ID = "WebPubSubEntraTenantId"
ENTRA_ALLOWED_APP_IDS = "WebPubSubEntraAllowedAppIds"
ENTRA_JWKS_URI = "WebPubSubEntraJwksUri"
ALLOW_UNAUTHENTICATED = "WebPubSubAllowUnauthenticated"

_TRUE = {"1", "true", "yes", "on"}
# App Service leaves the reference text in place when it cannot resolve a Key Vault
# reference (e.g. while a role assignment propagates). That text is guessable, so it must
# never be used as a key.
_UNRESOLVED_REFERENCE = "@microsoft.keyvault("


class InvalidConnectionString(ValueError):
    """The connection string lacks ``Endpoint`` or ``AccessKey`` or is not ``k=v;`` pairs."""


class ConnectionInfo(NamedTuple):
    endpoint: str  # scheme://host[:port], no trailing slash
    access_key: str

    @property
    def host(self) -> str:
        return (urlsplit(self.endpoint).hostname or "").lower()

    def __repr__(self) -> str:  # never print the key
        return f"ConnectionInfo(endpoint={self.endpoint!r}, access_key=<redacted>)"


def parse_connection_string(value: str) -> ConnectionInfo:
    """Parse ``Endpoint=...;AccessKey=...;Version=1.0;[Port=n;]`` (keys case-insensitive)."""
    parts: dict[str, str] = {}
    for item in value.split(";"):
        item = item.strip()
        if not item:
            continue
        name, sep, val = item.partition("=")
        if not sep:
            raise InvalidConnectionString("expected key=value pairs separated by ';'")
        parts[name.strip().lower()] = val.strip()
    endpoint = parts.get("endpoint", "").rstrip("/")
    key = parts.get("accesskey", "")
    if not endpoint or not key:
        raise InvalidConnectionString("Endpoint and AccessKey are required")
    scheme = urlsplit(endpoint).scheme
    if scheme not in ("http", "https"):
        raise InvalidConnectionString("Endpoint must be http:// or https://")
    if parts.get("port"):
        parsed = urlsplit(endpoint)
        endpoint = f"{parsed.scheme}://{parsed.hostname}:{int(parts['port'])}"
    return ConnectionInfo(endpoint=endpoint, access_key=key)


def _split_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _host_of(value: str) -> str:
    """``https://x.webpubsub.azure.com/`` or ``x.webpubsub.azure.com`` -> the lower-cased host."""
    value = value.strip()
    if "://" in value:
        return (urlsplit(value).hostname or "").lower()
    return value.split("/", 1)[0].split(":", 1)[0].lower()


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_allowed_jwks_uri(uri: str) -> bool:
    """``https://`` only (plain ``http://`` to a loopback host, for tests); never ``file:``."""
    parts = urlsplit(uri)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)


class EntraSettings(NamedTuple):
    audience: str
    tenant_id: str
    allowed_app_ids: frozenset[str] = frozenset()
    jwks_uri: str | None = None


class UpstreamSettings(NamedTuple):
    """Everything the core needs to authenticate upstream requests.

    Immutable value types here are NamedTuples: they cost a fraction of a frozen
    dataclass to define, which matters at cold start (see bench/coldstart.py).
    """

    access_keys: tuple[str, ...] = ()
    allowed_origins: frozenset[str] = frozenset()
    entra: EntraSettings | None = None
    allow_unauthenticated: bool = False
    connection: ConnectionInfo | None = None
    service_uri: str | None = None
    client_id: str | None = None
    problems: tuple[str, ...] = ()

    def __repr__(self) -> str:  # keys never reach logs through a repr
        return (
            f"UpstreamSettings(keys={len(self.access_keys)}, origins={sorted(self.allowed_origins)}, "
            f"entra={self.entra is not None}, allow_unauthenticated={self.allow_unauthenticated})"
        )

    @property
    def has_upstream_auth(self) -> bool:
        return bool(self.access_keys) or self.entra is not None


def _without_unresolved_references(env: Mapping[str, str], problems: list[str]) -> Mapping[str, str]:
    unresolved = {
        name
        for name in (CONNECTION_STRING, EXTRA_ACCESS_KEYS, SERVICE_URI, ENTRA_AUDIENCE)
        if env.get(name, "").strip().lower().startswith(_UNRESOLVED_REFERENCE)
    }
    if not unresolved:
        return env
    for name in sorted(unresolved):
        problems.append(f"{name} is an unresolved Key Vault reference; ignoring it (check the app's access)")
    return {name: value for name, value in env.items() if name not in unresolved}


def load_settings(env: Mapping[str, str]) -> UpstreamSettings:
    """Read the settings table above from ``env``. Never raises: problems are collected
    in ``problems`` and the result fails closed (no key -> every event refused)."""
    problems: list[str] = []
    env = _without_unresolved_references(env, problems)
    keys: list[str] = []
    hosts: set[str] = set()
    connection: ConnectionInfo | None = None
    raw = env.get(CONNECTION_STRING, "").strip()
    if raw:
        try:
            connection = parse_connection_string(raw)
        except (InvalidConnectionString, ValueError):
            problems.append(f"{CONNECTION_STRING} is not a valid connection string")
        else:
            keys.append(connection.access_key)
            hosts.add(connection.host)
    service_uri = env.get(SERVICE_URI, "").strip() or None
    if service_uri:
        hosts.add(_host_of(service_uri))
    for key in _split_list(env.get(EXTRA_ACCESS_KEYS)):
        if key not in keys:
            keys.append(key)
    configured_origins = {_host_of(o) if o != "*" else "*" for o in _split_list(env.get(ALLOWED_ORIGINS))}
    entra = None
    audience = env.get(ENTRA_AUDIENCE, "").strip()
    if audience:
        tenant = env.get(ENTRA_TENANT_ID, "").strip()
        jwks_uri = env.get(ENTRA_JWKS_URI, "").strip()
        if jwks_uri and not is_allowed_jwks_uri(jwks_uri):  # kept: no key can be fetched, so it fails closed
            problems.append(f"{ENTRA_JWKS_URI} must be an https:// URL; every bearer token will be refused")
        if not tenant:
            problems.append(f"{ENTRA_AUDIENCE} is set but {ENTRA_TENANT_ID} is not")
        else:
            entra = EntraSettings(
                audience=audience,
                tenant_id=tenant,
                allowed_app_ids=frozenset(a.lower() for a in _split_list(env.get(ENTRA_ALLOWED_APP_IDS))),
                jwks_uri=jwks_uri or None,
            )
    return UpstreamSettings(
        access_keys=tuple(keys),
        allowed_origins=frozenset(configured_origins or hosts) - {""},
        entra=entra,
        allow_unauthenticated=env.get(ALLOW_UNAUTHENTICATED, "").strip().lower() in _TRUE,
        connection=connection,
        service_uri=service_uri,
        client_id=env.get(CLIENT_ID, "").strip() or None,
        problems=tuple(problems),
    )
