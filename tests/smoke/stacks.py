"""Run the smoke test in-process against ``python -m devhost`` stacks started as child processes."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from smoke.report import Outcome, StepResult
from smoke.runner import Report, SmokeOptions, run_smoke
from tests.e2e.fixtures import new_access_key
from tests.e2e.stack_process import REPO, TEST_SETTINGS, StackProcess, start_stack_process

APPS = Path(__file__).resolve().parent / "apps"
TIMEOUT = 10.0


@contextmanager
def stack_running(
    work_dir: Path,
    *,
    app_dir: Path = REPO,
    hubs: tuple[str, ...] = (),
    settings: dict[str, str] | None = None,
    app_access_key: str | None = None,
    storage: bool = False,
    extra_args: tuple[str, ...] = (),
) -> Iterator[StackProcess]:
    """A stack on free ports (without Azurite unless ``storage``), stopped and checked afterwards."""
    args = ["--app-dir", str(app_dir), *extra_args]
    for hub in hubs:
        args += ["--hub", hub]
    if not storage:
        args.append("--no-storage")
    stack = start_stack_process(
        work_dir,
        access_key=new_access_key(),
        app_access_key=app_access_key,
        settings={**TEST_SETTINGS, **(settings or {})},
        extra_args=tuple(args),
    )
    try:
        yield stack
    finally:
        code = stack.stop(signal.SIGTERM)
        assert code == 0, stack.text()
        assert stack.access_key not in stack.text()


def options_for(stack: StackProcess, **changes: object) -> SmokeOptions:
    """What ``scripts/smoke <functions URL>`` would use, with ``changes`` applied."""
    return replace(SmokeOptions(base_url=stack.functions_url, timeout=TIMEOUT), **changes)  # type: ignore[arg-type]


def service_host(stack: StackProcess) -> str:
    return urlsplit(stack.emulator_url).hostname or ""


async def smoke(options: SmokeOptions) -> tuple[Report, str]:
    """Run the smoke test; return its report and everything it printed."""
    lines: list[str] = []
    report = await run_smoke(options, lines.append)
    return report, "\n".join(lines)


def outcomes(report: Report) -> dict[str, Outcome]:
    return {result.name: result.outcome for result in report.results}


def failed(report: Report) -> list[StepResult]:
    return [result for result in report.results if result.outcome is Outcome.FAIL]
