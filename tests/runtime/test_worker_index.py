"""The genuine Azure Functions Python worker and our dev host see the same app, and refuse the same apps.

``index_report.py`` runs the worker's own indexing and index-time checks
(``azure-functions-runtime``, Python >= 3.13, pinned) and, separately, the dev host's discovery,
each in a fresh interpreter. Skipped with the reason where Python >= 3.13 or the package is not
available; ``.ci/run`` prepares the venv.
"""

from __future__ import annotations

import json
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
CHAT_FUNCTIONS = {
    "chat_validate",
    "chat_connect",
    "chat_connected",
    "chat_disconnected",
    "chat_message",
    "chat_chat",
    "chat_history",
    "chat_members",
    "chat_typing",
    "chat_rooms",
    "chat_open",
    "chat_create",
    "chat_dm",
    "chat_invite",
    "chat_remove",
    "chat_role",
    "chat_edit",
    "chat_delete",
    "chat_react",
    "chat_read",
    "negotiate",
    "home",
    "index",
    "static",
}


def report(python: Path | str, kind: str, app_dir: Path) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), str(REPORT), kind, str(app_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_worker_indexes_function_app_exactly_as_the_dev_host_does(worker_python):
    worker = report(worker_python, "worker", REPO)
    devhost = report(sys.executable, "devhost", REPO)
    assert "error" not in worker, worker.get("error")
    assert {f["name"] for f in worker["functions"]} == CHAT_FUNCTIONS
    assert all(f["authLevel"] == "anonymous" for f in worker["functions"])
    assert worker == devhost


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
