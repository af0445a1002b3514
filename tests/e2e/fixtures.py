"""Stack fixtures shared by ``tests/e2e`` and ``tests/browser`` (imported by their conftests)."""

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


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """Emulator + Functions dev host (``python -m devhost``) on free ports, stopped with SIGTERM."""
    running = start_stack_process(tmp_path_factory.mktemp("stack"), access_key=new_access_key())
    try:
        yield running
    finally:
        code = running.stop(signal.SIGTERM)
        output = running.text()
        assert code == 0, f"devhost exited with {code} on SIGTERM:\n{output}"
        assert running.access_key not in output, "the access key was printed"
        assert "access_token=" not in output, "a client access URL (with its token) was printed"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session
