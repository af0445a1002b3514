"""Stack fixtures shared by ``tests/e2e`` and ``tests/browser`` (imported by their conftests): the
template's test app (``tests/fixture_app``) on the real dev host."""

from __future__ import annotations

import secrets
import signal
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from .stack_process import StackProcess, start_stack_process


def new_access_key() -> str:
    # Not the emulator's well-known default: proves the key really travels from the emulator
    # to the app through the environment.
    return "test-" + secrets.token_urlsafe(32)


# What aiohttp prints when it garbage-collects a client session or connector that was never
# closed (an app's pooled clients stay referenced until exit, so that they are closed on stop is
# checked in process by test_devhost_stack.py; this catches sessions dropped while running).
UNCLOSED = ("Unclosed client session", "Unclosed connector")


def stop_and_check(running: StackProcess, signum: int = signal.SIGTERM) -> str:
    """Stop the stack and check it stopped cleanly: exit code 0, "Stopped" last, every pooled
    client of the app closed, no key or client token ever printed. Returns its output."""
    code = running.stop(signum)
    output = running.text()
    assert code == 0, f"devhost exited with {code} on {signal.Signals(signum).name}:\n{output}"
    assert running.output and running.output[-1].endswith("Stopped"), output
    assert not [line for line in running.output if any(text in line for text in UNCLOSED)], output
    assert running.access_key not in output, "the access key was printed"
    assert "access_token=" not in output, "a client access URL (with its token) was printed"
    return output


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """Emulator + Functions dev host (``python -m devhost``) serving ``tests/fixture_app`` on free
    ports, stopped with SIGTERM (and checked: see ``stop_and_check``)."""
    running = start_stack_process(tmp_path_factory.mktemp("stack"), access_key=new_access_key())
    try:
        yield running
    finally:
        stop_and_check(running)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session
