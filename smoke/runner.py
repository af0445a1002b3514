"""Run the smoke test: the template's checks, then each scenario's steps, one printed line per step.

Order:

1. ``app answers``: ``GET /`` on the host (the Functions host's own page), waiting up to
   ``wait`` seconds while it answers 502/503/504 (still starting). If nothing answers, every
   other step is skipped.
2. ``abuse-protection check, hub <hub>`` for each hub, as soon as the hub and the Web PubSub host
   are known: from the options (``--hub``/``--webpubsub-host``) or learnt from a client URL a
   scenario received. Hubs never probed are listed as skipped, with the reason.
3. Each scenario's steps (``smoke.scenario``); after a failure its later steps are skipped,
   except clean-up steps.

Every step has its own time limit; nothing here raises for a failing app.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from . import diagnoses
from .report import (
    Diagnosis,
    Outcome,
    StepFailed,
    StepResult,
    StepSkipped,
    format_result,
    format_verdict,
    one_line,
)
from .scenario import FoundScenario, Scenario, StepAction
from .target import Smoke

ROOT_STEP = "app answers"
STARTING_STATUSES = (502, 503, 504)
RETRY_SECONDS = 2.0
# A step may take this much longer than one request's timeout before it is stopped (it may
# make several requests; each has its own timeout).
STEP_GRACE_SECONDS = 5.0


@dataclass
class SmokeOptions:
    base_url: str
    hubs: tuple[str, ...] = ()
    service_host: str | None = None  # the Web PubSub host (origin of the abuse-protection check)
    route_prefix: str = "api"
    timeout: float = 30.0  # per request or wait
    wait: float = 0.0  # how long "app answers" waits for a starting host
    scenarios: Sequence[FoundScenario] = ()


@dataclass
class Report:
    results: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not any(result.outcome is Outcome.FAIL for result in self.results)

    @property
    def exit_code(self) -> int:
        """0: no step failed; 1: a step failed (the deploy hook ignores it; see docs/deploy.md)."""
        return 0 if self.passed else 1

    def result(self, name: str) -> StepResult:
        return next(result for result in self.results if result.name == name)


def preflight_step(hub: str) -> str:
    return f"abuse-protection check, hub {hub}"


async def run_smoke(options: SmokeOptions, out: Callable[[str], None] = print) -> Report:
    """Run every step against ``options.base_url``; print each result as it comes, then the verdict."""
    started = time.perf_counter()
    run = _Run(options, out)
    timeout = aiohttp.ClientTimeout(total=options.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        smoke = Smoke(
            session,
            options.base_url,
            route_prefix=options.route_prefix,
            timeout=options.timeout,
            hubs=options.hubs,
            service_host=options.service_host,
        )
        await run.all(smoke)
    run.report.seconds = time.perf_counter() - started
    out(format_verdict(run.report.results, run.report.seconds))
    return run.report


class _Run:
    def __init__(self, options: SmokeOptions, out: Callable[[str], None]) -> None:
        self.options = options
        self.out = out
        self.report = Report()

    async def all(self, smoke: Smoke) -> None:
        built = [self._build(found, smoke) for found in self.options.scenarios]
        scenarios = [scenario for scenario in built if scenario is not None]
        if await self.step(ROOT_STEP, lambda: self._check_root(smoke)) is not Outcome.PASS:
            for hub in smoke.hubs:
                self.skip(preflight_step(hub), "the app does not answer")
            for scenario in scenarios:
                for step in scenario.steps:
                    self.skip(f"{scenario.name}: {step.name}", "the app does not answer")
            return
        await self._preflights(smoke)
        for scenario in scenarios:
            await self._scenario(scenario, smoke)
        for hub in smoke.hubs:
            if not smoke.probed(hub):
                self.skip(preflight_step(hub), "the Web PubSub host is unknown (pass --webpubsub-host)")
        if not smoke.hubs:
            self.skip("abuse-protection check", "no hub is known (pass --hub, or a scenario connects)")

    def _build(self, found: FoundScenario, smoke: Smoke) -> Scenario | None:
        """The scenario, or None after printing why its hook file is unusable."""
        name = f"scenario {found.package}/{found.path.name}"
        error = found.error
        if found.factory is not None:
            try:
                return found.factory(smoke)
            except Exception as exc:  # noqa: BLE001 - a broken hook is a failed step, not a crash
                error = f"{type(exc).__name__}: {exc}"
        self.record(
            StepResult(
                name,
                Outcome.FAIL,
                f"cannot be used: {error}",
                diagnosis=Diagnosis(
                    cause="the scenario's hook file is broken",
                    fix=f"fix {found.path} (see smoke/scenario.py)",
                ),
            )
        )
        return None

    async def _scenario(self, scenario: Scenario, smoke: Smoke) -> None:
        failed = False
        for step in scenario.steps:
            name = f"{scenario.name}: {step.name}"
            if failed and not step.always:
                self.skip(name, "an earlier step failed")
                continue
            if await self.step(name, step.run) is Outcome.FAIL:
                failed = True
            await self._preflights(smoke)  # the step may have learnt the service's host

    async def _preflights(self, smoke: Smoke) -> None:
        if smoke.service_host is None:
            return
        for hub in list(smoke.hubs):
            if not smoke.probed(hub):
                await self.step(preflight_step(hub), functools.partial(self._check_preflight, smoke, hub))

    async def _check_root(self, smoke: Smoke) -> str:
        deadline = time.monotonic() + self.options.wait
        while True:
            try:
                async with smoke.session.get(smoke.base_url + "/", allow_redirects=False) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientConnectionError as exc:
                raise StepFailed(
                    f"no answer from {smoke.base_url} ({type(exc).__name__})", diagnoses.APP_UNREACHABLE
                ) from None
            if status in STARTING_STATUSES and time.monotonic() + RETRY_SECONDS < deadline:
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if status >= 500 or status == 403:
                raise StepFailed(f"GET / answered {status}", diagnoses.app_not_running(status))
            return f"GET / answered {status}"

    async def _check_preflight(self, smoke: Smoke, hub: str) -> str:
        preflight = await smoke.preflight(hub)
        diagnosis = diagnoses.for_preflight(preflight)
        if diagnosis is None:
            return f"WebHook-Allowed-Origin: {preflight.allowed_origin}"
        if preflight.status is None:
            raise StepFailed(f"OPTIONS {hub}/validate: no answer ({preflight.error})", diagnosis)
        allowed = f", WebHook-Allowed-Origin: {preflight.allowed_origin}" if preflight.allowed_origin else ""
        raise StepFailed(
            f"OPTIONS {hub}/validate from {preflight.origin} answered {preflight.status}{allowed}", diagnosis
        )

    async def step(self, name: str, action: StepAction) -> Outcome:
        started = time.perf_counter()
        limit = self.options.timeout + STEP_GRACE_SECONDS
        try:
            async with asyncio.timeout(limit):
                detail = await action()
        except StepFailed as failed:
            result = StepResult(name, Outcome.FAIL, failed.detail, _since(started), failed.diagnosis)
        except StepSkipped as skipped:
            result = StepResult(name, Outcome.SKIP, skipped.reason)
        except TimeoutError:
            result = StepResult(
                name,
                Outcome.FAIL,
                f"no answer within {limit:g} s",
                _since(started),
                diagnoses.timed_out(limit),
            )
        except Exception as exc:  # noqa: BLE001 - a smoke test reports, it does not crash
            detail = one_line(f"{type(exc).__name__}: {exc}")
            result = StepResult(
                name, Outcome.FAIL, f"unexpected {detail}", _since(started), diagnoses.UNEXPECTED
            )
        else:
            result = StepResult(name, Outcome.PASS, detail or "", _since(started))
        self.record(result)
        return result.outcome

    def skip(self, name: str, reason: str) -> None:
        self.record(StepResult(name, Outcome.SKIP, reason))

    def record(self, result: StepResult) -> None:
        self.report.results.append(result)
        for line in format_result(result):
            self.out(line)


def _since(started: float) -> float:
    return time.perf_counter() - started
