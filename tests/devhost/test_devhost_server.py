"""The dev host over real HTTP: fixture apps served on 127.0.0.1, driven with an aiohttp client."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from devhost.functions import create_app, running_host
from devhost.functions.app import HOST_INFO

APPS = Path(__file__).parent / "apps"

pytestmark = pytest.mark.e2e

_GUID = "6F9619FF-8B86-D011-B42D-00C04FC964FF"


async def test_function_without_route_or_methods_answers_every_method_at_its_name(basic_host, client):
    for method in ("GET", "POST", "DELETE", "PATCH"):
        async with client.request(method, f"{basic_host.base_url}/api/hello") as response:
            assert response.status == 200, method
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert await response.text() == "hello"


async def test_unknown_route_and_wrong_method_both_get_an_empty_404(basic_host, client):
    async with client.get(f"{basic_host.base_url}/api/nowhere") as response:
        assert response.status == 404
        assert await response.read() == b""
    async with client.get(f"{basic_host.base_url}/api/echo") as response:  # echo is POST only
        assert response.status == 404
    async with client.get(f"{basic_host.base_url}/hello") as response:  # missing the api prefix
        assert response.status == 404


async def test_request_conversion_matches_the_host(basic_host, client):
    url = f"{basic_host.base_url}/API/Inspect/Thing?a=1&a=2&empty=&b=x%20y"
    headers = [("X-Repeated", "one"), ("X-Repeated", "two"), ("X-Single", "s")]
    async with client.post(url, headers=headers, data=b"{}") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        seen = await response.json()
    assert seen["method"] == "POST"
    assert seen["url"] == url
    assert seen["headers"]["x-repeated"] == "one,two"
    assert seen["headers"]["x-single"] == "s"
    assert seen["params"] == {"a": "1,2", "b": "x y"}
    assert seen["route_params"] == {"kind": "Thing"}


async def test_binary_body_round_trips_byte_exact(basic_host, client):
    body = bytes(range(256)) * 4096 + b"\x00\xff\r\n"
    async with client.post(f"{basic_host.base_url}/api/echo", data=body) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert await response.read() == body


async def test_body_over_the_limit_gets_413(client):
    async with running_host(create_app(APPS / "basic", max_body_bytes=1024)) as host:
        async with client.post(f"{host.base_url}/api/echo", data=b"x" * 2048) as response:
            assert response.status == 413
        async with client.post(f"{host.base_url}/api/echo", data=b"x" * 1000) as response:
            assert response.status == 200


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("items/42", {"which": "int", "id": "42"}),
        ("items/latest", {"which": "literal"}),
        ("items/abc", {"which": "alpha", "name": "abc"}),
        ("files/a/b/c.txt", {"which": "catch-all", "path": "a/b/c.txt"}),
        ("files", {"which": "catch-all"}),
        (f"guid/{_GUID}", {"which": "guid", "g": _GUID}),
        ("code/abc", {"which": "regex", "c": "abc"}),
        ("optional", {"which": "optional"}),
        ("optional/7", {"which": "optional", "x": "7"}),
    ],
)
async def test_route_parameters_and_constraints(basic_host, client, path, expected):
    async with client.get(f"{basic_host.base_url}/api/{path}") as response:
        assert response.status == 200
        assert await response.json() == expected


@pytest.mark.parametrize("path", ["items/4a2", "guid/not-a-guid", "code/abcd", "code/ab1", "optional/1/2"])
async def test_values_failing_every_constraint_get_404(basic_host, client, path):
    async with client.get(f"{basic_host.base_url}/api/{path}") as response:
        assert response.status == 404


async def test_sync_functions_run_in_worker_threads_and_async_ones_on_the_loop(basic_host, client):
    loop_thread = threading.current_thread().name
    async with client.get(f"{basic_host.base_url}/api/thread/sync") as response:
        sync_thread = await response.text()
    async with client.get(f"{basic_host.base_url}/api/thread/async") as response:
        async_thread = await response.text()
    assert sync_thread != loop_thread
    assert sync_thread.startswith("devhost-function")
    assert async_thread == loop_thread


async def test_blocking_sync_functions_run_concurrently(basic_host, client):
    async def call() -> str:
        async with client.get(f"{basic_host.base_url}/api/rendezvous") as response:
            return await response.text()

    assert await asyncio.gather(call(), call()) == ["met", "met"]


async def test_raising_function_gets_an_empty_500_and_the_exception_is_logged(basic_host, client, caplog):
    caplog.set_level(logging.INFO, logger="devhost.functions")
    async with client.get(f"{basic_host.base_url}/api/boom") as response:
        assert response.status == 500
        body = await response.read()
    assert body == b""
    assert "hunter2" not in str(response.headers)
    assert "Executed 'Functions.boom' (Failed" in caplog.text
    assert "RuntimeError" in caplog.text


async def test_returning_none_is_a_500_as_in_the_worker(basic_host, client):
    async with client.get(f"{basic_host.base_url}/api/nothing") as response:
        assert response.status == 500


async def test_response_conversion_keeps_status_repeated_cookies_and_charset(basic_host, client):
    async with client.get(f"{basic_host.base_url}/api/cookies") as response:
        assert response.status == 201
        assert response.headers["X-Custom"] == "yes"
        assert response.headers.getall("Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert await response.text() == "ok"


async def test_custom_trigger_argument_name_and_context(basic_host, client):
    async with client.get(f"{basic_host.base_url}/api/context") as response:
        assert response.status == 200
        seen = await response.json()
    assert seen["function_name"] == "with_context"
    assert len(seen["invocation_id"]) == 36
    assert seen["url"].endswith("/api/context")


async def test_named_http_output_binding_is_used_as_the_response(basic_host, client):
    async with client.get(f"{basic_host.base_url}/api/out") as response:
        assert response.status == 202
        assert await response.text() == "via out"


async def test_each_request_is_logged_without_query_string(basic_host, client, caplog):
    caplog.set_level(logging.INFO, logger="devhost.functions")
    headers = {"Authorization": "Bearer token-abc"}
    async with client.get(f"{basic_host.base_url}/api/hello?code=topsecret", headers=headers) as response:
        assert response.status == 200
    async with client.get(f"{basic_host.base_url}/api/nowhere") as response:
        assert response.status == 404
    assert "Executed 'Functions.hello' (Succeeded" in caplog.text
    assert any(line.startswith("GET /api/hello 200 ") and line.endswith("ms") for line in caplog.messages)
    assert any(line.startswith("GET /api/nowhere 404 ") for line in caplog.messages)
    assert "topsecret" not in caplog.text and "token-abc" not in caplog.text


async def test_startup_lists_every_function_like_func_start(caplog):
    caplog.set_level(logging.INFO, logger="devhost.functions")
    async with running_host(create_app(APPS / "basic")) as host:
        base = f"http://localhost:{host.port}"
        assert f"\titem_by_id: [GET] {base}/api/items/{{id:int}}" in caplog.messages
        assert f"\tinspect: [GET,POST] {base}/api/inspect/{{kind}}" in caplog.messages
        assert f"\thello: [*] {base}/api/hello" in caplog.messages


async def test_route_prefix_from_host_json_and_non_http_functions(client, caplog):
    caplog.set_level(logging.INFO, logger="devhost.functions")
    async with running_host(create_app(APPS / "prefixed")) as host:
        async with client.get(f"{host.base_url}/v1/ping") as response:
            assert response.status == 200
            assert await response.text() == "pong"
        async with client.get(f"{host.base_url}/api/ping") as response:
            assert response.status == 404
    assert "\ttick: timerTrigger (not run by the dev host)" in caplog.messages


async def test_settings_are_created_from_the_sample_and_loaded_before_import(tmp_path, client, caplog):
    app_dir = tmp_path / "app"
    shutil.copytree(APPS / "settings_app", app_dir)
    os.environ["DEVHOST_TEST_SECRET"] = "from-environment"
    os.environ.pop("DEVHOST_TEST_GREETING", None)
    caplog.set_level(logging.INFO)
    app = create_app(app_dir)
    assert (app_dir / "local.settings.json").is_file()
    assert app[HOST_INFO].settings.local_http_port == 7399
    async with running_host(app) as host:  # routePrefix "" in this app
        async with client.get(f"{host.base_url}/greeting") as response:
            assert await response.text() == "hello from settings"
        async with client.get(f"{host.base_url}/env/DEVHOST_TEST_SECRET") as response:
            assert await response.text() == "from-environment"
        async with client.get(f"{host.base_url}/env/DEVHOST_TEST_NUMBER") as response:
            assert await response.text() == "5"
    assert "DEVHOST_TEST_SECRET" in caplog.text
    assert "s3cret-value-from-file" not in caplog.text


async def test_missing_settings_and_sample_still_start(tmp_path, client):
    app_dir = tmp_path / "app"
    shutil.copytree(APPS / "settings_app", app_dir)
    (app_dir / "local.settings.sample.json").unlink()
    os.environ.pop("DEVHOST_TEST_GREETING", None)
    async with running_host(create_app(app_dir)) as host:
        async with client.get(f"{host.base_url}/greeting") as response:
            assert await response.text() == "<unset>"
    assert not (app_dir / "local.settings.json").exists()


async def test_stopping_frees_the_port(client):
    async with running_host(create_app(APPS / "prefixed")) as host:
        url = f"{host.base_url}/v1/ping"
    with pytest.raises(OSError):
        async with client.get(url):
            pass


def test_cli_serves_and_stops_on_sigterm(tmp_path):
    app_dir = tmp_path / "app"
    shutil.copytree(APPS / "prefixed", app_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost.functions", "--app-dir", str(app_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=os.getcwd(),
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "listening on" in line:
                break
        base = lines[-1].split("listening on ")[1].split()[0]
        with urllib.request.urlopen(f"{base}/v1/ping", timeout=5) as response:
            assert response.read() == b"pong"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        output = "".join(lines) + process.stdout.read()
        assert "Functions:" in output and "\tping: [GET] http://localhost:" in output
        assert "Stopping the Functions dev host" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_on_a_taken_port_prints_one_line_and_exits_non_zero(tmp_path):
    app_dir = tmp_path / "app"
    shutil.copytree(APPS / "prefixed", app_dir)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "devhost.functions", "--app-dir", str(app_dir), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=os.getcwd(),
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in (result.stdout + result.stderr).splitlines() if "Cannot start" in line]
    assert len(errors) == 1
    assert f"{port}" in errors[0] and "another --port" in errors[0]
    assert result.stderr == ""


async def test_root_is_the_hosts_own_page_linking_plain_get_routes(basic_host, client):
    async with client.get(f"{basic_host.base_url}/") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        page = await response.text()
    assert '<a href="/api/hello">' in page  # every method, so GET too
    assert '<a href="/api/thread/sync">' in page
    assert "/api/echo" not in page  # POST only
    assert "/api/inspect" not in page  # takes a route parameter
    async with client.post(f"{basic_host.base_url}/") as response:
        assert response.status == 404
