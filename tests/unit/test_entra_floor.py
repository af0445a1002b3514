"""The Entra checks with the *lowest* PyJWT that ``requirements.txt`` allows, not only the newest.

PyJWT before 2.9 compared ``issuer`` with ``!=``, so passing the list of accepted issuers
refused every valid token; the venv's newest PyJWT hid that. This test installs the floor
version into a temporary directory (pip, no dependencies: ``cryptography`` stays the venv's)
and reruns the Entra tests in a subprocess with it first on ``sys.path``. Without network
access to the package index it skips and prints why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
ENTRA_TESTS = ["tests/unit/test_entra.py", "tests/adapter/test_entra_keys.py"]


def floor_version(package: str) -> str:
    """The ``>=`` bound of ``package`` in requirements.txt."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.name.lower() == package.lower():
            floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
            assert floors, f"{package} has no >= bound in requirements.txt"
            return floors[0]
    raise AssertionError(f"{package} is not in requirements.txt")


@pytest.fixture(scope="module")
def pyjwt_floor(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    version = floor_version("PyJWT")
    target = tmp_path_factory.mktemp("pyjwt-floor")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
        + ["--target", str(target), f"PyJWT=={version}"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if install.returncode != 0:
        reason = f"cannot install PyJWT=={version}: {install.stderr.strip().splitlines()[-1:]}"
        print(reason)
        pytest.skip(reason)
    return version, target


def test_entra_checks_pass_with_the_lowest_pyjwt_allowed(pyjwt_floor: tuple[str, Path]) -> None:
    version, target = pyjwt_floor
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)]),
        "ENTRA_TESTS_PYJWT_VERSION": version,  # test_entra.py asserts this is what it imported
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ENTRA_TESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " skipped" not in result.stdout.splitlines()[-1], result.stdout[-2000:]
