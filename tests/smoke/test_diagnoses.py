"""Which diagnosis a symptom gets: the table the smoke test's advice rests on."""

from __future__ import annotations

import pytest

from smoke import diagnoses
from smoke.diagnoses import Preflight, for_preflight, for_refused_upgrade, for_route_status

HOST = "demo.webpubsub.azure.com"
TEMPLATE = "https://app.example/api/hub/{event}"


def preflight(status: int | None, allowed: str | None = None) -> Preflight:
    return Preflight("hub", HOST, status, allowed)


@pytest.mark.parametrize(
    ("allowed", "ok"),
    [
        (HOST, True),
        (HOST.upper(), True),
        ("*", True),
        (f"other.example, {HOST}", True),
        ("other.example", False),
    ],
)
def test_the_check_passes_only_when_the_service_host_is_allowed(allowed: str, ok: bool) -> None:
    assert preflight(200, allowed).ok is ok
    assert preflight(200, None).ok is False
    assert preflight(404, allowed).ok is False


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (preflight(200, HOST), None),
        (preflight(404), diagnoses.NO_FUNCTIONS),
        (preflight(403), diagnoses.origin_refused(HOST)),
        (preflight(200, "other.example"), diagnoses.origin_refused(HOST)),
        (preflight(401), diagnoses.HANDLER_SIGN_IN),
        (preflight(500), diagnoses.app_error(500)),
        (preflight(None), diagnoses.APP_UNREACHABLE),
    ],
)
def test_each_answer_to_the_check_gets_its_diagnosis(check: Preflight, expected: object) -> None:
    assert for_preflight(check) == expected


@pytest.mark.parametrize(
    ("status", "check", "expected"),
    [
        # A failing check explains a refused connect, whatever the status.
        (500, preflight(403), diagnoses.origin_refused(HOST)),
        (401, preflight(404), diagnoses.NO_FUNCTIONS),
        # Past the check: 401/403 is the signature or the token's key.
        (401, preflight(200, HOST), diagnoses.KEY_REFUSED),
        (403, None, diagnoses.KEY_REFUSED),
        # Anything else: the service could not deliver connect to this app.
        (500, preflight(200, HOST), diagnoses.handler_url_wrong(TEMPLATE)),
        (502, None, diagnoses.handler_url_wrong(TEMPLATE)),
    ],
)
def test_a_refused_upgrade_is_explained_by_the_check_then_by_its_status(
    status: int, check: Preflight | None, expected: object
) -> None:
    assert for_refused_upgrade(status, check, TEMPLATE) == expected


def test_route_statuses() -> None:
    assert for_route_status(404) == diagnoses.NO_FUNCTIONS
    assert for_route_status(401) == diagnoses.SIGN_IN_REQUIRED
    assert for_route_status(503) == diagnoses.app_error(503)
    assert for_route_status(418) == diagnoses.UNEXPECTED
