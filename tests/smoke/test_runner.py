"""The runner's rules: order, skipping after a failure, clean-up steps, time limits, broken
scenarios, the host check and its wait, the exit code, and no token in what it prints.

The app here is a small real aiohttp server; the scenarios are written in the tests.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from smoke import Diagnosis, Scenario, Smoke, Step, StepFailed, StepSkipped, diagnoses
from smoke import runner as runner_module
from smoke.report import Outcome
from smoke.runner import ROOT_STEP, SmokeOptions, run_smoke
from smoke.scenario import FoundScenario

TOKEN = "eyJhbGciOi.secret-token-value"
BROKEN = Diagnosis(cause="the thing is broken", fix="mend the thing")


class Host:
    """``GET /`` answers the statuses queued in ``statuses`` (the last one repeats)."""

    def __init__(self) -> None:
        self.statuses = [200]
        self.seen = 0
        self.url = ""

    async def root(self, request: web.Request) -> web.Response:
        self.seen += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return web.Response(status=status, text="host page")


@pytest.fixture
async def host() -> AsyncIterator[Host]:
    state = Host()
    app = web.Application()
    app.router.add_get("/", state.root)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


def found(factory: Callable[[Smoke], Scenario], name: str = "demo") -> FoundScenario:
    return FoundScenario(name, Path(f"{name}/smoke_scenario.py"), factory=factory)


async def run(url: str, *scenarios: FoundScenario, **options: object) -> tuple[runner_module.Report, str]:
    lines: list[str] = []
    report = await run_smoke(SmokeOptions(base_url=url, scenarios=scenarios, **options), lines.append)  # type: ignore[arg-type]
    return report, "\n".join(lines)


def steps(*items: Step) -> Callable[[Smoke], Scenario]:
    return lambda smoke: Scenario("demo", list(items))


async def passes() -> str:
    return f"fine, url ws://x/client/hubs/h?access_token={TOKEN}"


async def fails() -> str:
    raise StepFailed(f"it broke at ws://x/?access_token={TOKEN}", BROKEN)


async def test_after_a_failure_later_steps_skip_but_clean_up_runs(host: Host) -> None:
    cleaned: list[str] = []

    async def clean_up() -> str:
        cleaned.append("yes")
        return "cleaned"

    async def never() -> str:
        raise AssertionError("ran after a failed step")

    scenario = steps(
        Step("one", passes), Step("two", fails), Step("three", never), Step("bye", clean_up, always=True)
    )
    report, printed = await run(host.url, found(scenario))
    assert [(r.name, r.outcome) for r in report.results] == [
        (ROOT_STEP, Outcome.PASS),
        ("demo: one", Outcome.PASS),
        ("demo: two", Outcome.FAIL),
        ("demo: three", Outcome.SKIP),
        ("demo: bye", Outcome.PASS),
        ("abuse-protection check", Outcome.SKIP),  # no hub given, none learnt
    ]
    assert cleaned == ["yes"]
    assert report.result("demo: two").diagnosis == BROKEN
    assert report.exit_code == 1
    lines = printed.splitlines()
    failure = lines.index(next(line for line in lines if line.startswith("FAIL  demo: two")))
    assert lines[failure + 1].strip() == "likely cause: the thing is broken"
    assert lines[failure + 2].strip() == "fix: mend the thing"
    assert lines[-1].startswith("Smoke test FAIL: 1 failed, 3 passed, 2 skipped")
    assert TOKEN not in printed and "access_token=<redacted>" in printed


async def test_a_step_that_hangs_fails_with_the_time_limit(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "STEP_GRACE_SECONDS", 0.1)

    async def hangs() -> str:
        await asyncio.sleep(60)
        return "never"

    report, printed = await run(host.url, found(steps(Step("slow", hangs))), timeout=0.2)
    result = report.result("demo: slow")
    assert result.outcome is Outcome.FAIL and result.diagnosis is not None
    assert "no answer within" in result.detail
    assert result.seconds is not None and 0.3 <= result.seconds < 5


async def test_an_unexpected_exception_is_a_failure_not_a_crash(host: Host) -> None:
    async def buggy() -> str:
        return {}["missing"]  # type: ignore[no-any-return]

    async def skipped() -> str:
        raise StepSkipped("nothing to do")

    report, _ = await run(
        host.url, found(steps(Step("bug", buggy, always=True), Step("skip", skipped, always=True)))
    )
    assert report.result("demo: bug").outcome is Outcome.FAIL
    assert report.result("demo: bug").detail == "unexpected KeyError: 'missing'"
    assert report.result("demo: bug").diagnosis == diagnoses.UNEXPECTED
    assert (report.result("demo: skip").outcome, report.result("demo: skip").detail) == (
        Outcome.SKIP,
        "nothing to do",
    )


async def test_a_broken_hook_is_reported_and_the_other_scenarios_still_run(host: Host) -> None:
    def explodes(smoke: Smoke) -> Scenario:
        raise RuntimeError("bad hook")

    unusable = FoundScenario(
        "old", Path("old/smoke_scenario.py"), error="defines no function scenario(smoke)"
    )
    report, _ = await run(host.url, found(explodes, "bad"), unusable, found(steps(Step("one", passes))))
    assert [(r.name, r.outcome) for r in report.results] == [
        ("scenario bad/smoke_scenario.py", Outcome.FAIL),
        ("scenario old/smoke_scenario.py", Outcome.FAIL),
        (ROOT_STEP, Outcome.PASS),
        ("demo: one", Outcome.PASS),
        ("abuse-protection check", Outcome.SKIP),
    ]
    assert "RuntimeError: bad hook" in report.results[0].detail


async def test_when_nothing_answers_everything_else_is_skipped() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report, printed = await run(f"http://127.0.0.1:{port}", found(steps(Step("one", passes))), hubs=("h",))
    assert report.result(ROOT_STEP).diagnosis == diagnoses.APP_UNREACHABLE
    assert [r.outcome for r in report.results[1:]] == [Outcome.SKIP, Outcome.SKIP]
    assert report.exit_code == 1


async def test_a_starting_host_is_waited_for_and_a_stopped_one_is_diagnosed(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "RETRY_SECONDS", 0.05)
    host.statuses = [503, 503, 200]
    report, _ = await run(host.url, wait=5.0)
    assert report.result(ROOT_STEP).outcome is Outcome.PASS and host.seen == 3

    host.statuses, host.seen = [503], 0
    report, _ = await run(host.url, wait=0.0)  # no wait: the first answer counts
    assert report.result(ROOT_STEP).diagnosis == diagnoses.app_not_running(503) and host.seen == 1

    host.statuses = [403]  # App Service's answer for a stopped app
    report, _ = await run(host.url)
    assert report.result(ROOT_STEP).diagnosis == diagnoses.app_not_running(403)


async def test_unknown_hubs_and_hosts_are_listed_as_skipped_with_how_to_give_them(host: Host) -> None:
    report, _ = await run(host.url)
    assert [(r.name, r.outcome) for r in report.results] == [
        (ROOT_STEP, Outcome.PASS),
        ("abuse-protection check", Outcome.SKIP),
    ]
    assert "--hub" in report.results[1].detail and report.exit_code == 0

    report, _ = await run(host.url, hubs=("h",))
    assert "--webpubsub-host" in report.result("abuse-protection check, hub h").detail
