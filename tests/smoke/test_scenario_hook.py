"""The hook: ``<package>/smoke_scenario.py`` files next to function_app.py are found and loaded
from their path, and the template's part names no sample."""

from __future__ import annotations

import re
from pathlib import Path

from smoke.scenario import HOOK_FILE, find_scenarios

REPO = Path(__file__).resolve().parents[2]

HOOK = """
from smoke import Scenario, Step

def scenario(smoke):
    async def ping():
        return "pong"
    return Scenario("{name}", [Step("ping", ping)])
"""


def package(root: Path, name: str, hook: str | None, init: str = "") -> Path:
    directory = root / name
    directory.mkdir()
    (directory / "__init__.py").write_text(init)
    if hook is not None:
        (directory / HOOK_FILE).write_text(hook)
    return directory


def test_each_package_with_a_hook_file_is_found_in_name_order(tmp_path: Path) -> None:
    package(tmp_path, "zeta", HOOK.format(name="zeta"))
    package(tmp_path, "alpha", HOOK.format(name="alpha"))
    package(tmp_path, "plain", None)  # no hook: nothing to find
    (tmp_path / "loose").mkdir()  # not a package
    (tmp_path / "loose" / HOOK_FILE).write_text(HOOK.format(name="loose"))
    (tmp_path / HOOK_FILE).write_text(HOOK.format(name="root"))  # not in a package
    found = find_scenarios(tmp_path)
    assert [(f.package, f.error) for f in found] == [("alpha", ""), ("zeta", "")]
    assert all(f.factory is not None for f in found)


def test_the_hook_is_loaded_without_importing_the_package(tmp_path: Path) -> None:
    # An app package often needs its settings or the Functions runtime to import; the hook must not.
    package(tmp_path, "app", HOOK.format(name="app"), init="raise RuntimeError('imported the app package')")
    (found,) = find_scenarios(tmp_path)
    assert found.error == "" and found.factory is not None
    assert found.factory(None).name == "app"  # type: ignore[arg-type]


def test_a_broken_hook_file_is_reported_with_the_reason(tmp_path: Path) -> None:
    package(tmp_path, "nofunc", "SCENARIO = None\n")
    package(tmp_path, "raises", "import not_a_module_anywhere\n")
    found = {f.package: f.error for f in find_scenarios(tmp_path)}
    assert found == {
        "nofunc": "defines no function scenario(smoke)",
        "raises": "ModuleNotFoundError: No module named 'not_a_module_anywhere'",
    }


def test_the_template_smoke_names_no_sample() -> None:
    # The line between template and sample: deleting chat/ must leave this working, so nothing
    # here may name it (the scenario arrives through the hook).
    files = [*sorted((REPO / "smoke").glob("*.py")), REPO / "scripts" / "smoke"]
    named = [f.relative_to(REPO) for f in files if re.search(r"chat", f.read_text(), re.IGNORECASE)]
    assert named == []
