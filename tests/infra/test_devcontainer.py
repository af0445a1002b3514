"""The dev container (.devcontainer/): valid JSON with the tools the project needs, the dev
host's ports forwarded, the project's venv made on creation, and the Python that Azure runs:
the same version as the Bicep default and the runtime tests (each read from its own file)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devhost.stack import DEFAULT_EMULATOR_PORT, DEFAULT_FUNCTIONS_PORT
from devhost.storage import DEFAULT_TABLE_PORT

from . import bicep_checks

ROOT = Path(__file__).resolve().parents[2]
DEVCONTAINER = ROOT / ".devcontainer" / "devcontainer.json"
FEATURES = "ghcr.io/devcontainers/features/"
AZD_FEATURE = "ghcr.io/azure/azure-dev/azd"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    # Plain JSON (no comments), so any JSON tool can read it.
    loaded = json.loads(DEVCONTAINER.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def feature(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The options of the feature whose id (without its version tag) is ``name``."""
    found = {key.rsplit(":", 1)[0]: value for key, value in config["features"].items()}
    assert name in found, f"feature {name} missing from {sorted(found)}"
    return found[name]  # type: ignore[no-any-return]


def image_python(config: dict[str, Any]) -> str:
    match = re.fullmatch(r"mcr\.microsoft\.com/devcontainers/python:(\d+\.\d+)(-\w+)?", config["image"])
    assert match, f"not a devcontainers Python image with a minor version: {config['image']}"
    return match.group(1)


def bicep_python_default() -> str:
    tree = bicep_checks.parse(ROOT / "infra" / "main.bicep")
    return str(tree["parameters"]["pythonVersion"]["default"])


def runtime_tests_python() -> set[str]:
    """The Python the runtime tests (tests/runtime) build their venv with, as each file states it."""
    script = (ROOT / "scripts" / "functions-runtime-venv").read_text(encoding="utf-8")
    conftest = (ROOT / "tests" / "runtime" / "conftest.py").read_text(encoding="utf-8")
    versions = {".".join(m) for m in re.findall(r"sys\.version_info < \((\d+), (\d+)\)", script)}
    versions |= set(re.findall(r"Python >= (\d+\.\d+)", script + conftest))
    assert versions, "no Python version found in scripts/functions-runtime-venv or tests/runtime/conftest.py"
    return versions


def test_it_has_the_keys_a_dev_container_needs(config: dict[str, Any]) -> None:
    for key in ("name", "image", "features", "forwardPorts", "postCreateCommand"):
        assert config.get(key), f"devcontainer.json lacks {key}"


def test_python_is_the_version_azure_runs_and_the_runtime_tests_use(config: dict[str, Any]) -> None:
    assert image_python(config) == bicep_python_default()
    assert runtime_tests_python() == {bicep_python_default()}


def test_the_tools_come_from_features(config: dict[str, Any]) -> None:
    assert feature(config, FEATURES + "node") == {"version": "20"}
    assert feature(config, FEATURES + "azure-cli").get("installBicep") is True
    assert feature(config, AZD_FEATURE) == {}
    # Core Tools are installed by the post-create script (npm), see below.


def test_the_dev_hosts_ports_are_forwarded(config: dict[str, Any]) -> None:
    wanted = {DEFAULT_FUNCTIONS_PORT, DEFAULT_EMULATOR_PORT, DEFAULT_TABLE_PORT}
    assert wanted == {7071, 8080, 10002}
    assert wanted <= set(config["forwardPorts"])
    assert set(config.get("portsAttributes", {})) <= {str(port) for port in config["forwardPorts"]}


def test_creating_the_container_makes_the_project_venv_and_installs_core_tools(
    config: dict[str, Any],
) -> None:
    command = config["postCreateCommand"]
    match = re.fullmatch(r"bash (\.devcontainer/[\w.-]+\.sh)", command)
    assert match, f"postCreateCommand should run one script: {command!r}"
    script = (ROOT / match.group(1)).read_text(encoding="utf-8")
    lines = [
        line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    # The same bootstrap scripts/dev and scripts/test use: .venv from requirements-dev.txt, then Azurite.
    assert "source scripts/_venv.sh" in lines and "source scripts/_azurite.sh" in lines
    assert lines.index("source scripts/_venv.sh") < lines.index("source scripts/_azurite.sh")
    venv = (ROOT / "scripts" / "_venv.sh").read_text(encoding="utf-8")
    assert 'VENV="$ROOT/.venv"' in venv and '-m venv "$VENV"' in venv and "requirements-dev.txt" in venv
    assert any(re.search(r"npm install .*azure-functions-core-tools@4\b", line) for line in lines)
    assert "set -euo pipefail" in lines  # a failed step fails the container's creation visibly
