"""The hook through which an app's package adds its own conversation to the smoke test.

**The hook**: a package next to ``function_app.py`` may hold a file ``smoke_scenario.py`` with a
function ``scenario(smoke: Smoke) -> Scenario``. The runner finds every such file (deleting the
package deletes its scenario) and runs each scenario's steps after the template's checks::

    from smoke import Scenario, Smoke, Step

    def scenario(smoke: Smoke) -> Scenario:
        async def ping() -> str:
            body = await smoke.get_json("ping")
            return f"answered {body}"

        return Scenario("my app", [Step("ping", ping)])

A step returns a short detail (shown after PASS), raises ``StepFailed(detail, Diagnosis(...))``
with the likely cause and fix, or ``StepSkipped(reason)``. After a failed step the scenario's
later steps are skipped, except those marked ``always`` (clean-up such as disconnecting).

The file runs on the developer's machine against the deployed app, not inside the app: it is
loaded from its path (the package's ``__init__`` is not imported), so it imports ``smoke`` and
libraries, not the app's own modules. ``.funcignore`` keeps it out of the deployment.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .target import Smoke

HOOK_FILE = "smoke_scenario.py"
HOOK_FUNCTION = "scenario"

StepAction = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True)
class Step:
    name: str
    run: StepAction
    always: bool = False  # runs even after an earlier step of the scenario failed


@dataclass(frozen=True)
class Scenario:
    name: str  # prefixes its steps in the summary
    steps: Sequence[Step]


ScenarioFactory = Callable[[Smoke], Scenario]


@dataclass(frozen=True)
class FoundScenario:
    """A hook file: its ``scenario`` function, or why it could not be loaded."""

    package: str
    path: Path
    factory: ScenarioFactory | None = None
    error: str = ""


def find_scenarios(app_dir: Path) -> list[FoundScenario]:
    """Every ``<package>/smoke_scenario.py`` directly under ``app_dir``, in name order."""
    found = []
    for package in sorted(app_dir.iterdir()):
        path = package / HOOK_FILE
        if package.is_dir() and (package / "__init__.py").is_file() and path.is_file():
            found.append(load_scenario(package.name, path))
    return found


def load_scenario(package: str, path: Path) -> FoundScenario:
    spec = importlib.util.spec_from_file_location(f"smoke_scenario_{package}", path)
    if spec is None or spec.loader is None:
        return FoundScenario(package, path, error="cannot be loaded as a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any error in someone's file is reported, not raised
        return FoundScenario(package, path, error=f"{type(exc).__name__}: {exc}")
    factory = getattr(module, HOOK_FUNCTION, None)
    if not callable(factory):
        return FoundScenario(package, path, error=f"defines no function {HOOK_FUNCTION}(smoke)")
    return FoundScenario(package, path, factory=factory)
