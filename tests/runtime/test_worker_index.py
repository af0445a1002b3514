"""The genuine Azure Functions Python worker and our dev host see the same app, and refuse the same apps.

``index_report.py`` runs the worker's own indexing and index-time checks
(``azure-functions-runtime``, Python >= 3.13, pinned) and, separately, the dev host's discovery,
each in a fresh interpreter. Skipped with the reason where Python >= 3.13 or the package is not
available; ``.ci/run`` prepares the venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
REPORT = Path(__file__).with_name("index_report.py")
FIXTURES = REPO / "tests" / "devhost" / "apps"
REFUSED = sorted(
    path.name for path in (FIXTURES / "refused").iterdir() if (path / "function_app.py").exists()
)
FIXTURE_APP = REPO / "tests" / "fixture_app"  # the template's test app: one hub and negotiate
FIXTURE_FUNCTIONS = {
    "negotiate",
    "relay_validate",
    "relay_connect",
    "relay_connected",
    "relay_disconnected",
    "relay_say",
    "relay_message",
    "relay_echo",
}


def report(python: Path | str, kind: str, app_dir: Path) -> dict[str, Any]:
    """What ``kind`` ("worker" or "devhost") learns from the app in ``app_dir``; the repository is
    on the path, as ``shared`` is beside ``function_app`` in a deployment."""
    result = subprocess.run(
        [str(python), str(REPORT), kind, str(app_dir)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_worker_indexes_function_app_exactly_as_the_dev_host_does(worker_python):
    """The repository's app, whatever it registers (the chat, a fork's hub, or nothing yet)."""
    worker = report(worker_python, "worker", REPO)
    assert "error" not in worker, worker.get("error")
    assert worker == report(sys.executable, "devhost", REPO)


def test_the_worker_indexes_a_hub_and_negotiate_exactly_as_the_dev_host_does(worker_python):
    worker = report(worker_python, "worker", FIXTURE_APP)
    assert "error" not in worker, worker.get("error")
    assert {f["name"] for f in worker["functions"]} == FIXTURE_FUNCTIONS
    assert all(f["authLevel"] == "anonymous" for f in worker["functions"])
    assert worker == report(sys.executable, "devhost", FIXTURE_APP)


def test_the_worker_and_the_dev_host_agree_on_the_dev_host_fixture_app(worker_python):
    worker = report(worker_python, "worker", FIXTURES / "basic")
    assert "error" not in worker, worker.get("error")
    assert worker == report(sys.executable, "devhost", FIXTURES / "basic")


@pytest.mark.parametrize("case", REFUSED)
def test_an_app_the_worker_refuses_is_refused_by_the_dev_host_with_the_same_message(worker_python, case):
    worker = report(worker_python, "worker", FIXTURES / "refused" / case)
    devhost = report(sys.executable, "devhost", FIXTURES / "refused" / case)
    assert "error" in worker, f"the worker loaded {case}: {worker}"
    assert devhost == {"error": worker["error"]}
