"""The azd postdeploy hook runs the smoke test last and never fails the deployment."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_failing_smoke_test_is_printed_but_the_hook_exits_0() -> None:
    with socket.socket() as probe:  # a port nobody listens on: the app is not there
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    env = {
        **os.environ,
        "SERVICE_API_BASE_URL": url,
        "WEBPUBSUB_HOST": "demo.webpubsub.example",
        "WEBPUBSUB_HUBS": "hub",
        "PATH": os.environ.get("PATH", ""),
    }
    result = subprocess.run(
        ["sh", "scripts/postdeploy.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"Smoke test of {url}" in out
    assert "FAIL  app answers" in out and "likely cause: nothing answers at this URL" in out
    assert "Smoke test FAIL:" in out and "see the diagnosis above" in out
    # The hook's own lines come first; the smoke test is the last block.
    assert out.index("Function app:") < out.index("Smoke test of")
    assert "Traceback" not in result.stderr
