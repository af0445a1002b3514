"""The project stands alone: a clone needs nothing beside it, and a missing schema says so."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from . import bicep_checks as checks

# Paths that only exist next to one particular checkout, never in a clone.
OUTSIDE = re.compile(r"\.\./shared/|shared/(reference|schemas)/|/work/")
# .ci/run may use the copy kept beside the checkout on the CI machine (it checks it exists first).
# chat/static/chat.js: its comment is reworded with the chat page changes (a separate branch).
MAY_MENTION_OUTSIDE = {".ci/run", "tests/infra/test_standalone.py"}


def test_no_file_refers_to_material_outside_the_repository(root: Path) -> None:
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    offenders = []
    for name in filter(None, tracked):
        path = root / name
        if name in MAY_MENTION_OUTSIDE or not path.is_file() or path.suffix in {".png", ".ico"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{name}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert offenders == []


def _run_schema_test(root: Path, schema: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != checks.SCHEMA_ENV}
    if schema is not None:
        env[checks.SCHEMA_ENV] = schema
    test = "tests/infra/test_infra.py::test_azure_yaml_is_valid_and_matches_the_service_tag"
    # No -rs here: the project's own pytest settings must show the reason.
    return subprocess.run(
        [sys.executable, "-m", "pytest", test, "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_a_schema_the_check_skips_and_the_summary_says_why(root: Path) -> None:
    result = _run_schema_test(root, None)
    assert result.returncode == 0, result.stdout
    summary = result.stdout.split("short test summary info", 1)[-1]
    assert "SKIPPED" in summary and f"{checks.SCHEMA_ENV} is not set" in summary
    assert checks.SCHEMA_URL in summary


def test_the_schema_is_read_from_the_environment(root: Path, tmp_path: Path) -> None:
    schema = tmp_path / "azure.yaml.json"
    # A stand-in with azd's rule for the project name: enough to see the file is used.
    schema.write_text(json.dumps({"type": "object", "required": ["name", "no-such-key"]}))
    result = _run_schema_test(root, str(schema))
    assert result.returncode == 1 and "no-such-key" in result.stdout
    schema.write_text(json.dumps({"type": "object", "required": ["name"]}))
    assert _run_schema_test(root, str(schema)).returncode == 0
    missing = _run_schema_test(root, str(tmp_path / "missing.json"))
    assert missing.returncode != 0 and "is not a file" in missing.stdout
