"""The template's smoke checks against a real local stack running an app with no sample
(``apps/hub``, hub ``probe``) or no functions at all (``apps/empty``): PASS when healthy, and
each induced misconfiguration FAILs with its diagnosis."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoke import diagnoses
from smoke.report import Outcome
from smoke.runner import ROOT_STEP, preflight_step
from tests.e2e.stack_process import REPO, StackProcess

from .probe_scenario import PROBE, PROBE_STEPS
from .stacks import APPS, failed, options_for, outcomes, service_host, smoke, stack_running

pytestmark = pytest.mark.e2e

HUB = "probe"
PREFLIGHT = preflight_step(HUB)


def probe(step: str) -> str:
    return f"probe: {step}"


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    with stack_running(tmp_path_factory.mktemp("healthy"), app_dir=APPS / "hub", hubs=(HUB,)) as stack:
        yield stack


async def test_a_healthy_app_passes_every_step_with_the_hub_known_up_front(healthy: StackProcess) -> None:
    stack = healthy
    options = options_for(stack, hubs=(HUB,), service_host=service_host(stack), scenarios=[PROBE])
    report, printed = await smoke(options)
    assert report.passed and report.exit_code == 0, printed
    names = [result.name for result in report.results]
    # As the postdeploy hook runs it: the abuse-protection check before the scenario.
    assert names == [ROOT_STEP, PREFLIGHT, *map(probe, PROBE_STEPS)]
    assert report.result(PREFLIGHT).detail == f"WebHook-Allowed-Origin: {service_host(stack)}"
    assert printed.splitlines()[-1].startswith("Smoke test PASS: 6 passed")
    assert "access_token" not in printed


async def test_without_options_the_hub_and_host_come_from_the_client_url(healthy: StackProcess) -> None:
    report, printed = await smoke(options_for(healthy, scenarios=[PROBE]))
    assert report.passed, printed
    names = [result.name for result in report.results]
    # Learnt from the URL the first step got, and checked before connecting with it.
    assert names.index(PREFLIGHT) == names.index(probe("get a client URL")) + 1


async def test_the_generic_checks_alone_pass_without_any_scenario(healthy: StackProcess) -> None:
    options = options_for(healthy, hubs=(HUB,), service_host=service_host(healthy))
    report, printed = await smoke(options)
    assert outcomes(report) == {ROOT_STEP: Outcome.PASS, PREFLIGHT: Outcome.PASS}, printed


async def test_an_app_without_functions_fails_its_routes_with_the_no_functions_diagnosis(
    tmp_path: Path,
) -> None:
    with stack_running(tmp_path, app_dir=APPS / "empty", hubs=(HUB,)) as stack:
        options = options_for(stack, hubs=(HUB,), service_host=service_host(stack), scenarios=[PROBE])
        report, printed = await smoke(options)
    assert report.result(ROOT_STEP).outcome is Outcome.PASS  # the host itself answers
    assert [(r.name, r.diagnosis) for r in failed(report)] == [
        (PREFLIGHT, diagnoses.NO_FUNCTIONS),
        (probe("get a client URL"), diagnoses.NO_FUNCTIONS),
    ], printed
    assert "answered 404" in report.result(PREFLIGHT).detail
    assert outcomes(report)[probe("connect")] is Outcome.SKIP
    assert report.exit_code == 1
    assert "likely cause: the host runs but answers 404" in printed


async def test_a_wrong_key_fails_the_connect_with_the_key_diagnosis(tmp_path: Path) -> None:
    with stack_running(
        tmp_path, app_dir=APPS / "hub", hubs=(HUB,), app_access_key="test-" + "k" * 40
    ) as stack:
        report, printed = await smoke(options_for(stack, scenarios=[PROBE]))
    assert report.result(PREFLIGHT).outcome is Outcome.PASS  # origins are fine; only the key is wrong
    assert [(r.name, r.diagnosis) for r in failed(report)] == [(probe("connect"), diagnoses.KEY_REFUSED)], (
        printed
    )
    assert "refused with 401" in report.result(probe("connect")).detail


async def test_a_hub_pointing_at_a_wrong_path_fails_the_connect_with_the_handler_url_diagnosis(
    tmp_path: Path,
) -> None:
    wrong = ("--upstream-path", "/api/elsewhere/{hub}/{event}")
    with stack_running(tmp_path, app_dir=APPS / "hub", hubs=(HUB,), extra_args=wrong) as stack:
        report, printed = await smoke(options_for(stack, scenarios=[PROBE]))
        expected = diagnoses.handler_url_wrong(f"{stack.functions_url}/api/{HUB}/{{event}}")
    assert report.result(PREFLIGHT).outcome is Outcome.PASS  # the app itself would pass the check
    assert [(r.name, r.diagnosis) for r in failed(report)] == [(probe("connect"), expected)], printed


async def test_an_origin_the_app_does_not_allow_fails_the_check_and_the_connect(tmp_path: Path) -> None:
    settings = {"WebPubSubAllowedOrigins": "other.webpubsub.example"}
    with stack_running(tmp_path, app_dir=APPS / "hub", hubs=(HUB,), settings=settings) as stack:
        report, printed = await smoke(options_for(stack, scenarios=[PROBE]))
        refused = diagnoses.origin_refused(service_host(stack))
    assert [(r.name, r.diagnosis) for r in failed(report)] == [
        (PREFLIGHT, refused),
        (probe("connect"), refused),
    ], printed
    assert "answered 403" in report.result(PREFLIGHT).detail


def test_scripts_smoke_runs_from_the_command_line_and_exits_0_when_healthy(healthy: StackProcess) -> None:
    command = [
        str(REPO / "scripts" / "smoke"),
        healthy.functions_url,
        "--app-dir",
        str(APPS / "hub"),  # its host.json gives the route prefix; it has no scenario
        "--timeout",
        "10",
    ]
    env = {**os.environ, "WEBPUBSUB_HUBS": HUB, "WEBPUBSUB_HOST": service_host(healthy)}  # as azd passes them
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Smoke test of {healthy.functions_url} (scenarios: none)"
    assert [line.split()[0] for line in lines[1:-1]] == ["PASS", "PASS"]
    assert PREFLIGHT in lines[2]
    assert lines[-1].startswith("Smoke test PASS: 2 passed")
