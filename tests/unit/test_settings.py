"""Settings parsing: connection strings, extra keys, origins, Entra, the dev override."""

import pytest

from shared.settings import (
    InvalidConnectionString,
    load_settings,
    parse_connection_string,
)
from tests.upstream_requests import CONNECTION_STRING, ENDPOINT_HOST, PRIMARY_KEY, SECONDARY_KEY


def test_connection_string_keys_are_case_insensitive_and_port_is_applied() -> None:
    info = parse_connection_string("endpoint=http://localhost;accesskey=k1;version=1.0;port=8080;")
    assert info.endpoint == "http://localhost:8080"
    assert info.access_key == "k1"
    assert info.host == "localhost"


@pytest.mark.parametrize(
    "value", ["", "Endpoint=https://x", "AccessKey=k", "Endpoint=ftp://x;AccessKey=k", "garbage"]
)
def test_incomplete_connection_strings_are_rejected(value: str) -> None:
    with pytest.raises(InvalidConnectionString):
        parse_connection_string(value)


def test_repr_never_shows_the_key() -> None:
    settings = load_settings({"WebPubSubConnectionString": CONNECTION_STRING})
    assert PRIMARY_KEY not in repr(settings)
    assert PRIMARY_KEY not in repr(settings.connection)


def test_key_mode_gives_the_key_and_the_endpoint_host_as_origin() -> None:
    settings = load_settings({"WebPubSubConnectionString": CONNECTION_STRING})
    assert settings.access_keys == (PRIMARY_KEY,)
    assert settings.allowed_origins == {ENDPOINT_HOST}
    assert settings.has_upstream_auth


def test_extra_keys_are_added_for_rotation_without_duplicates() -> None:
    settings = load_settings(
        {
            "WebPubSubConnectionString": CONNECTION_STRING,
            "WebPubSubAccessKeys": f"{PRIMARY_KEY}, {SECONDARY_KEY}",
        }
    )
    assert settings.access_keys == (PRIMARY_KEY, SECONDARY_KEY)


def test_keyless_mode_takes_origin_from_service_uri_and_keys_from_the_list() -> None:
    settings = load_settings(
        {
            "WebPubSubConnectionString__serviceUri": "https://Res.webpubsub.azure.com/",
            "WebPubSubConnectionString__clientId": "cid",
            "WebPubSubAccessKeys": SECONDARY_KEY,
        }
    )
    assert settings.allowed_origins == {"res.webpubsub.azure.com"}
    assert settings.access_keys == (SECONDARY_KEY,)
    assert settings.client_id == "cid"


def test_explicit_origins_replace_the_default() -> None:
    settings = load_settings(
        {
            "WebPubSubConnectionString": CONNECTION_STRING,
            "WebPubSubAllowedOrigins": "https://replica.example/, custom.example",
        }
    )
    assert settings.allowed_origins == {"replica.example", "custom.example"}


def test_nothing_configured_fails_closed() -> None:
    settings = load_settings({})
    assert not settings.has_upstream_auth
    assert not settings.allow_unauthenticated
    assert settings.allowed_origins == frozenset()


def test_a_broken_connection_string_is_reported_not_raised() -> None:
    settings = load_settings({"WebPubSubConnectionString": "nonsense"})
    assert settings.access_keys == ()
    assert settings.problems and "WebPubSubConnectionString" in settings.problems[0]
    assert "nonsense" not in settings.problems[0]


def test_entra_needs_a_tenant() -> None:
    assert load_settings({"WebPubSubEntraAudience": "api://x"}).entra is None
    entra = load_settings(
        {
            "WebPubSubEntraAudience": "api://x",
            "WebPubSubEntraTenantId": "t",
            "WebPubSubEntraAllowedAppIds": "A,b",
        }
    ).entra
    assert entra is not None and entra.allowed_app_ids == {"a", "b"}


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("TRUE", True), ("1", True), ("no", False)])
def test_dev_override_must_be_explicit(value: str, expected: bool) -> None:
    assert load_settings({"WebPubSubAllowUnauthenticated": value}).allow_unauthenticated is expected


def test_an_unresolved_key_vault_reference_is_never_used_as_a_key() -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/webpubsub-access-keys/)"
    settings = load_settings(
        {
            "WebPubSubAccessKeys": reference,
            "WebPubSubConnectionString__serviceUri": "https://x.webpubsub.azure.com",
        }
    )
    assert settings.access_keys == ()
    assert not settings.has_upstream_auth  # fails closed: every event refused with 401
    assert any("unresolved Key Vault reference" in p for p in settings.problems)
    assert reference not in " ".join(settings.problems)
