"""The genuine Functions Python worker's interpreter, prepared once per session (or skipped)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_SCRIPT = REPO / "scripts" / "functions-runtime-venv"
NO_PYTHON = 3  # the script's exit code when no Python >= 3.13 exists here
INSTALL_TIMEOUT = 600


@pytest.fixture(scope="session")
def worker_python() -> Path:
    """Path of the runtime venv's python; skips (with the reason printed) when it cannot be made."""
    try:
        result = subprocess.run(
            [str(VENV_SCRIPT)], capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"creating the azure-functions-runtime venv took over {INSTALL_TIMEOUT} s")
    if result.returncode == NO_PYTHON:
        pytest.skip(f"real-runtime check needs Python >= 3.13: {result.stderr.strip()}")
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        pytest.skip(f"azure-functions-runtime could not be installed:\n{tail}")
    return Path(result.stdout.strip().splitlines()[-1])
