"""The chat's smoke scenario (chat/smoke_scenario.py) through the template's runner, against the
real local stack: PASS when healthy, and each misconfiguration FAILs at its step with the
matching diagnosis."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat import smoke_scenario
from smoke import diagnoses
from smoke.report import Outcome
from smoke.runner import ROOT_STEP, preflight_step
from smoke.scenario import load_scenario
from tests.chat.e2e.stack_process import REPO, StackProcess
from tests.smoke.stacks import APPS, failed, options_for, outcomes, service_host, smoke, stack_running

pytestmark = pytest.mark.e2e

CHAT = load_scenario("chat", REPO / "chat" / "smoke_scenario.py")
PREFLIGHT = preflight_step("chat")
STEPS = [
    "chat: negotiate as a guest",
    "chat: connect through Web PubSub",
    "chat: send a chat message",
    "chat: receive it from the room",
    "chat: find it in the history",
    "chat: disconnect",
]
NEGOTIATE, CONNECT, SEND, RECEIVE, HISTORY, DISCONNECT = STEPS


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """The chat with its history in Azurite, as ``scripts/dev`` runs it."""
    with stack_running(tmp_path_factory.mktemp("healthy"), storage=True) as stack:
        yield stack


def failures(report: object) -> list[tuple[str, object]]:
    return [(result.name, result.diagnosis) for result in failed(report)]  # type: ignore[arg-type]


async def test_a_healthy_chat_passes_every_step(healthy: StackProcess) -> None:
    report, printed = await smoke(options_for(healthy, scenarios=[CHAT]))
    assert report.passed and report.exit_code == 0, printed
    # By hand (URL only): the hub and host are learnt from negotiate's URL and checked before connecting.
    assert [r.name for r in report.results] == [ROOT_STEP, NEGOTIATE, PREFLIGHT, *STEPS[1:]]
    assert report.result(HISTORY).detail.startswith("found among the room's last")
    assert "access_token" not in printed and healthy.access_key not in printed


async def test_sign_in_required_fails_negotiate_with_the_guests_diagnosis(tmp_path: Path) -> None:
    with stack_running(tmp_path, settings={"ChatAllowGuests": "false"}) as stack:
        report, printed = await smoke(options_for(stack, scenarios=[CHAT]))
    assert failures(report) == [(NEGOTIATE, smoke_scenario.GUESTS_OFF)], printed
    assert "answered 401" in report.result(NEGOTIATE).detail
    assert all(outcomes(report)[step] is Outcome.SKIP for step in STEPS[1:])


async def test_a_wrong_access_key_fails_the_connect_with_the_key_diagnosis(tmp_path: Path) -> None:
    with stack_running(tmp_path, app_access_key="test-" + "w" * 40) as stack:
        report, printed = await smoke(options_for(stack, scenarios=[CHAT]))
    assert failures(report) == [(CONNECT, diagnoses.KEY_REFUSED)], printed
    assert outcomes(report)[PREFLIGHT] is Outcome.PASS
    assert [outcomes(report)[step] for step in STEPS[2:]] == [Outcome.SKIP] * 4


async def test_a_hub_pointing_at_a_wrong_path_fails_the_connect_with_the_handler_url_diagnosis(
    tmp_path: Path,
) -> None:
    wrong = ("--upstream-path", "/api/wrong/{hub}/{event}")
    with stack_running(tmp_path, extra_args=wrong) as stack:
        report, printed = await smoke(options_for(stack, scenarios=[CHAT]))
        expected = diagnoses.handler_url_wrong(f"{stack.functions_url}/api/chat/{{event}}")
    assert failures(report) == [(CONNECT, expected)], printed
    assert outcomes(report)[PREFLIGHT] is Outcome.PASS


async def test_an_app_without_functions_fails_negotiate_with_the_no_functions_diagnosis(
    tmp_path: Path,
) -> None:
    with stack_running(tmp_path, app_dir=APPS / "empty") as stack:
        options = options_for(stack, scenarios=[CHAT], hubs=("chat",), service_host=service_host(stack))
        report, printed = await smoke(options)
    assert outcomes(report)[ROOT_STEP] is Outcome.PASS
    assert failures(report) == [(PREFLIGHT, diagnoses.NO_FUNCTIONS), (NEGOTIATE, diagnoses.NO_FUNCTIONS)], (
        printed
    )


async def test_storage_refusing_the_app_fails_the_message_with_the_storage_diagnosis(
    healthy: StackProcess, tmp_path: Path
) -> None:
    # A real Azurite that refuses this app's requests (403, as Azure does while the role
    # assignment is not yet effective): the healthy stack's, with a key it does not know.
    wrong_key = base64.b64encode(b"not-the-account-key" * 4).decode()
    storage = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={wrong_key};"
        f"TableEndpoint={healthy.storage_url}/devstoreaccount1;"
    )
    with stack_running(tmp_path, settings={"ChatStorage": storage}) as stack:
        report, printed = await smoke(options_for(stack, scenarios=[CHAT]))
    assert failures(report) == [(RECEIVE, smoke_scenario.STORAGE_REFUSED)], printed
    assert report.result(RECEIVE).detail == "the app answered: message not saved, try again"
    assert outcomes(report)[SEND] is Outcome.PASS  # the service delivered the event; the app refused it
    assert outcomes(report)[DISCONNECT] is Outcome.PASS  # clean-up still runs


def test_the_chat_error_replies_map_to_their_diagnoses() -> None:
    assert smoke_scenario.diagnose_refusal("message not saved, try again") is smoke_scenario.STORAGE_REFUSED
    assert (
        smoke_scenario.diagnose_refusal("history is unavailable, try again") is smoke_scenario.STORAGE_REFUSED
    )
    assert (
        smoke_scenario.diagnose_refusal("message not delivered, try again")
        is smoke_scenario.BROADCAST_REFUSED
    )
    assert smoke_scenario.diagnose_refusal("slow down: at most 10 messages in 10 s") is None


def test_the_postdeploy_hook_runs_the_chat_smoke_test_with_the_azd_outputs(healthy: StackProcess) -> None:
    env = {
        **os.environ,
        "SERVICE_API_BASE_URL": healthy.functions_url,
        "WEBPUBSUB_HUBS": "chat",
        "WEBPUBSUB_HOST": service_host(healthy),
    }
    result = subprocess.run(
        ["sh", "scripts/postdeploy.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    smoke_lines = result.stdout[result.stdout.index("Smoke test of") :].splitlines()
    assert smoke_lines[0] == f"Smoke test of {healthy.functions_url} (scenarios: chat)"
    # Hub and host given: the abuse-protection check runs before the chat's steps.
    assert smoke_lines[2].startswith(f"PASS  {PREFLIGHT}")
    assert any(line.startswith("Smoke test PASS: 8 passed") for line in smoke_lines), result.stdout
