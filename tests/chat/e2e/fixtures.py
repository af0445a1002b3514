"""The chat's stack fixtures (imported by the conftests of ``tests/chat/e2e`` and ``tests/chat/browser``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.fixtures import http, new_access_key, stop_and_check

from .stack_process import ChatStack, start_stack_process

__all__ = ["http", "new_access_key", "stack", "stop_and_check"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatStack]:
    """Emulator + Functions dev host serving the chat, stopped with SIGTERM and checked."""
    running = start_stack_process(tmp_path_factory.mktemp("stack"), access_key=new_access_key())
    try:
        yield running
    finally:
        stop_and_check(running)
