"""Fixtures for the offline infra checks (no Azure, no Bicep CLI)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import bicep_checks

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PATHS = ("infra", "scripts", "azure.yaml", "host.json", "function_app.py", "requirements.txt", "docs")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def app_routes() -> dict[str, list[str]] | None:
    """Routes registered by function_app.py, or None (checks fall back to constants)."""
    return bicep_checks.load_app_routes(ROOT)


@pytest.fixture(scope="session")
def schema_file() -> Path:
    """azd's schema for azure.yaml: skipped, with the reason in the summary, when not configured."""
    path = bicep_checks.schema_path()
    if path is None:
        pytest.skip(
            f"{bicep_checks.SCHEMA_ENV} is not set, so azure.yaml is not checked against azd's schema "
            f"(download {bicep_checks.SCHEMA_URL} and set {bicep_checks.SCHEMA_ENV} to its path)"
        )
    if not path.is_file():
        pytest.fail(f"{bicep_checks.SCHEMA_ENV}={path} is not a file")
    return path


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A scratch copy of the deployable project, for mutation tests."""
    copy = tmp_path / "main"
    copy.mkdir()
    for name in PROJECT_PATHS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        elif source.is_file():
            shutil.copy2(source, copy / name)
    return copy
