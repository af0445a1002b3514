"""Per-instance concurrency (Flex's ``perInstanceConcurrency``) and refusing apps the worker refuses."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devhost.functions import create_app, running_host
from devhost.functions.app import HOST_INFO, LIMITER
from devhost.functions.discovery import DiscoveryError
from devhost.functions.host_config import MAX_CONCURRENT_SETTING, HostConfigError
from devhost.functions.validation import FunctionLoadError

APPS = Path(__file__).parent / "apps"
REPO = Path(__file__).resolve().parents[2]
CALLS = 8

pytestmark = pytest.mark.e2e


SLEEP = 0.1  # long enough for every admitted call to overlap the others, even on a busy machine


async def _peak_seen(client, base_url: str, kind: str, calls: int = CALLS) -> tuple[int, float]:
    async def call() -> int:
        async with client.get(f"{base_url}/api/slow/{kind}?s={SLEEP}") as response:
            assert response.status == 200
            return int(await response.text())

    started = time.perf_counter()
    seen = await asyncio.gather(*(call() for _ in range(calls)))
    return max(seen), time.perf_counter() - started


@pytest.mark.parametrize("kind", ["async", "sync"])
@pytest.mark.parametrize("limit", [1, 2])
async def test_no_more_than_the_limit_run_at_once_and_the_rest_wait(client, kind, limit):
    app = create_app(APPS / "slow", max_concurrent_requests=limit, load_local_settings=False)
    async with running_host(app, log_routes=False) as host:
        peak, elapsed = await _peak_seen(client, host.base_url, kind)
        stats = app[LIMITER].stats
    assert peak == limit
    assert stats.peak_running == limit and stats.admitted == CALLS
    assert stats.peak_waiting >= CALLS - limit - 1  # excess requests queued, none refused
    assert elapsed >= SLEEP * CALLS / limit * 0.9


async def test_without_a_limit_every_call_runs_at_once(client):
    app = create_app(APPS / "slow", max_concurrent_requests=None, load_local_settings=False)
    async with running_host(app, log_routes=False) as host:
        peak, _ = await _peak_seen(client, host.base_url, "async")
    assert peak == CALLS


async def test_host_json_sets_the_limit_and_the_app_setting_overrides_it(client, monkeypatch):
    app = create_app(APPS / "slow", load_local_settings=False)
    assert app[HOST_INFO].max_concurrent_requests == 3
    async with running_host(app, log_routes=False) as host:
        peak, _ = await _peak_seen(client, host.base_url, "async")
    assert peak == 3
    monkeypatch.setenv(MAX_CONCURRENT_SETTING, "-1")
    assert create_app(APPS / "slow", load_local_settings=False)[HOST_INFO].max_concurrent_requests is None
    monkeypatch.setenv(MAX_CONCURRENT_SETTING, "0")
    with pytest.raises(HostConfigError, match="positive integer or -1"):
        create_app(APPS / "slow", load_local_settings=False)


def test_the_cli_refuses_a_bad_limit():
    result = subprocess.run(
        [sys.executable, "-m", "devhost.functions", "--app-dir", str(APPS / "slow"), "--concurrency", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--concurrency must be a positive integer or -1" in result.stderr


# The worker's messages, word for word (tests/runtime checks them against the worker itself).
REFUSED = {
    "return_none": 'cannot load the nothing function: Python return annotation "NoneType" does not match'
    ' binding type "http"',
    "optional_return": "cannot load the maybe function: has invalid non-type return annotation str | None",
    "context_type": 'cannot load the ctx function: the "context" parameter is expected to be of type'
    " azure.functions.Context, got \"<class 'str'>\"",
    "unbound_param": "cannot load the extra function: the following parameters are declared in Python but"
    " not in the function definition (function.json or function decorators):  {'limit'}",
    "trigger_type": 'cannot load the text function: binding type "\'req\'" and dataType "httpTrigger" in'
    " the binding decorator do not match the corresponding function parameter's Python type annotation int",
    "out_param": 'cannot load the out function: binding res is declared to have the "out" direction, but its'
    " annotation in Python is not a subclass of azure.functions.Out",
    "two_names": "More than one FunctionApp or other top level function app instances are defined.",
}


def test_every_refused_fixture_has_its_expected_message():
    assert set(REFUSED) == {path.name for path in (APPS / "refused").iterdir() if path.is_dir()}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_an_app_the_worker_refuses_does_not_start(case):
    error = FunctionLoadError if case != "two_names" else DiscoveryError
    with pytest.raises(error) as raised:
        create_app(APPS / "refused" / case, load_local_settings=False)
    assert str(raised.value) == REFUSED[case]


def test_the_cli_prints_the_workers_message_and_exits_1():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devhost.functions",
            "--app-dir",
            str(APPS / "refused" / "return_none"),
            "--port",
            "0",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"Cannot start: {REFUSED['return_none']}" in result.stdout + result.stderr


def test_python_m_devhost_passes_the_limit_and_the_rest_latency_on(tmp_path):
    settings = tmp_path / "local.settings.json"
    settings.write_text('{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python"}}')
    command = [sys.executable, "-m", "devhost", "--functions-port", "0", "--emulator-port", "0"]
    command += ["--settings", str(settings), "--concurrency", "2", "--rest-latency-ms", "5"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if not line or line.startswith("Ready "):
                break
    finally:
        process.terminate()
        process.wait(timeout=20)
    text = "".join(seen)
    assert "Per-instance concurrency: 2 invocation(s) at once; excess requests wait" in text
    assert "Emulator REST calls take 5 ms longer" in text
