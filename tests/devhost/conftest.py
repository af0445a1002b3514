"""Fixtures for the Functions dev host tests: fixture apps, a running host and a client."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from devhost.functions import RunningHost, create_app, running_host

APPS = Path(__file__).parent / "apps"
# Modules the fixture apps define; removed after each test so nothing leaks into other suites.
_FIXTURE_MODULES = ("function_app", "basic_blueprint")


@pytest.fixture(autouse=True)
def isolated_process_state() -> Iterator[None]:
    """Restore os.environ, sys.path and the fixture modules, which the dev host changes."""
    environ = dict(os.environ)
    path = list(sys.path)
    modules = {name: sys.modules.get(name) for name in _FIXTURE_MODULES}
    yield
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    for name, module in modules.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


@pytest.fixture
async def basic_host() -> AsyncIterator[RunningHost]:
    async with running_host(create_app(APPS / "basic")) as host:
        yield host


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
