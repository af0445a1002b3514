"""Run ``python -m devhost`` as a child process on free ports of 127.0.0.1, for e2e tests.

By default it serves the template's own test app (``tests/fixture_app``: hub ``relay``), so
these tests need nothing of the chat sample; ``app_dir`` serves another app. A separate
process per stack keeps each one's environment, imported app and cached service clients apart
from the test process and from each other, exactly as a developer runs it.
The child's output (stdout and stderr) is kept in memory so tests can look at the access log
and check that no key or token was printed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[2]
FIXTURE_APP = REPO / "tests" / "fixture_app"
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
_URL_LINE = re.compile(r"^(Web PubSub emulator|Functions host|Azurite tables): (http://\S+)")
# Variables of the developer's shell that would change how the app under test behaves (the
# environment wins over the settings file); callers add their app's own prefixes.
_SCRUBBED_PREFIXES = ("WebPubSub", "DEVHOST_", "AzureFunctionsJobHost", "WEBSITE_AUTH", "Relay")

# The fixture app's settings: its storage on the stack's Azurite.
TEST_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME": "python",
    "RelayStorage": "UseDevelopmentStorage=true",
}


class StackStartError(RuntimeError):
    """The child exited or stayed silent before printing its URLs."""


@dataclass
class StackProcess:
    process: subprocess.Popen[str]
    access_key: str  # the emulator's
    app_access_key: str  # what the app was given (differs only in the wrong-key test)
    functions_url: str = ""
    emulator_url: str = ""
    storage_url: str = ""  # Azurite's table endpoint
    output: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _reader: threading.Thread | None = None

    @property
    def connection_string(self) -> str:
        """The emulator's connection string (its real key)."""
        return f"Endpoint={self.emulator_url};AccessKey={self.access_key};Version=1.0;"

    def api(self, route: str) -> str:
        return f"{self.functions_url}/api/{route}"

    def text(self) -> str:
        with self._changed:
            return "\n".join(self.output)

    def wait_for_output(self, pattern: str, timeout: float = 10.0) -> str:
        """Block until a line matches ``pattern`` (a regex); return it or raise AssertionError."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.output:
                    if regex.search(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and self._reader_done()):
                    raise AssertionError(f"no output line matched {pattern!r}:\n" + "\n".join(self.output))
                self._changed.wait(min(remaining, 0.5))

    def sync_output(self) -> None:
        """Wait until everything the stack logged before now has been read.

        Requests a unique unknown path and waits for its access-log line: the child writes
        its log in order, so every earlier line has been read by then.
        """
        marker = f"/api/log-sync-{uuid.uuid4().hex}"
        try:
            urllib.request.urlopen(self.functions_url + marker, timeout=10)  # noqa: S310 - our own http URL
        except urllib.error.HTTPError as not_found:
            assert not_found.code == 404
        self.wait_for_output(re.escape(f"GET {marker} 404"))

    def _reader_done(self) -> bool:
        return self._reader is None or not self._reader.is_alive()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.output.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def send_signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Ask the stack to stop (SIGTERM by default); kill it if it takes too long.

        Returns the exit code; a killed child returns a negative code, which callers assert on.
        """
        self.send_signal(signum)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
            code = -abs(code) or -9
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code


def write_settings(directory: Path, values: dict[str, str]) -> Path:
    path = directory / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}, indent=2), encoding="utf-8")
    return path


S = TypeVar("S", bound=StackProcess)


def start_stack_process(
    work_dir: Path,
    *,
    access_key: str,
    app_access_key: str | None = None,
    app_dir: Path = FIXTURE_APP,
    root: Path = REPO,
    settings: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
    storage_dir: Path | None = None,
    scrubbed: tuple[str, ...] = (),
    stack_type: type[S] = StackProcess,  # type: ignore[assignment]
) -> S:
    """Start ``python -m devhost --app-dir <app_dir>`` on free ports and wait until it is ready.

    The dev host runs from ``root`` (its ``devhost`` and ``shared``: another copy of the project,
    a fork). ``settings`` (default ``TEST_SETTINGS``, the fixture app's) is the settings file; variables of
    this process's environment that start with ``scrubbed`` (or the template's own prefixes) are
    not passed on. Azurite keeps its data in ``storage_dir`` (default ``<work_dir>/azurite``):
    pass the same folder to a second stack to see the first one's data.

    Raises:
        StackStartError: the child exited or printed nothing usable within ``START_TIMEOUT``.
    """
    settings_path = write_settings(work_dir, settings if settings is not None else TEST_SETTINGS)
    prefixes = _SCRUBBED_PREFIXES + scrubbed
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(PYTHONUNBUFFERED="1", DEVHOST_ACCESS_KEY=access_key)
    if app_access_key is not None:
        env["DEVHOST_APP_ACCESS_KEY"] = app_access_key
    command = [
        sys.executable,
        "-m",
        "devhost",
        "--functions-port",
        "0",
        "--emulator-port",
        "0",
        "--host",
        HOST,
        "--public-host",
        HOST,
        "--app-dir",
        str(app_dir),
        "--settings",
        str(settings_path),
        "--storage-port",
        "0",
        "--storage-dir",
        str(storage_dir or work_dir / "azurite"),
        *extra_args,
    ]
    process = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    stack = stack_type(process=process, access_key=access_key, app_access_key=app_access_key or access_key)
    stack._reader = threading.Thread(target=stack._read, name="devhost-output", daemon=True)
    stack._reader.start()
    try:
        stack.wait_for_output(r"^Ready ", timeout=START_TIMEOUT)
    except AssertionError as exc:
        stack.stop()
        raise StackStartError(str(exc)) from None
    for line in stack.output:
        match = _URL_LINE.match(line)
        if match and match.group(1) == "Functions host":
            stack.functions_url = match.group(2)
        elif match and match.group(1) == "Azurite tables":
            stack.storage_url = match.group(2)
        elif match:
            stack.emulator_url = match.group(2)
    if not (stack.functions_url and stack.emulator_url):
        stack.stop()
        raise StackStartError("devhost did not print both URLs:\n" + stack.text())
    return stack
