"""``python -m smoke``'s options, defaults from the azd environment, and exit codes."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from smoke.__main__ import USAGE_ERROR, options_from, parse_args

REPO = Path(__file__).resolve().parents[2]


def test_the_azd_environment_supplies_the_defaults() -> None:
    environ = {
        "SERVICE_API_BASE_URL": "https://app.example/",
        "WEBPUBSUB_HUBS": "game",
        "WEBPUBSUB_HOST": "demo.webpubsub.azure.com",
    }
    options = options_from(parse_args([], environ))
    assert (options.base_url, options.hubs, options.service_host) == (
        "https://app.example",
        ("game",),
        "demo.webpubsub.azure.com",
    )
    assert options.route_prefix == "api"  # this repository's host.json
    assert [found.package for found in options.scenarios] == sorted(
        p.parent.name for p in REPO.glob("*/smoke_scenario.py")
    )
    # Options win over the environment.
    options = options_from(parse_args(["https://other.example", "--hub", "a", "--no-scenarios"], environ))
    assert (options.base_url, options.hubs, options.scenarios) == ("https://other.example", ("a",), ())


@pytest.mark.parametrize(
    "argv", [[], ["not-a-url"], ["ftp://app.example"], ["https://app.example", "--timeout", "0"]]
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv, {})
    assert exited.value.code == USAGE_ERROR
    assert "error:" in capsys.readouterr().err


def test_a_failure_exits_1_with_its_diagnosis() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = subprocess.run(
        [sys.executable, "-m", "smoke", url, "--no-scenarios", "--wait", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  app answers" in result.stdout
    assert "likely cause: nothing answers at this URL" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("Smoke test FAIL: 1 failed")
