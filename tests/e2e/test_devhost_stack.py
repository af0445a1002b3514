"""``devhost.stack`` in this process, where the objects the app opened can be looked at: stopping
the stack closes every pooled client the app opened (its Web PubSub REST client and its Table
Storage client), through ``shared.closing``, without the dev host naming the app's modules.

(A child process cannot show this: an unclosed aiohttp session only says "Unclosed client
session" when it is garbage-collected, and a pool keeps it referenced until the process ends.)
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator

import aiohttp
import pytest

from devhost.stack import RunningStack, StackConfig, running_stack

from .clients import RawClient, said
from .stack_process import FIXTURE_APP, HOST, TEST_SETTINGS, write_settings

pytestmark = pytest.mark.e2e


class InProcessStack:
    """What ``RawClient.connect`` needs from a stack."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.output: list[str] = []

    def api(self, route: str) -> str:
        return self.stack.api_url(route)

    def sync_output(self) -> None:
        pass


def open_sessions() -> set[int]:
    gc.collect()
    return {id(o) for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession) and not o.closed}


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    """The stack imports the app's ``function_app`` and ``relay`` here: put back what was there."""
    saved_path, saved_environ = list(sys.path), dict(os.environ)
    saved_modules = {name: sys.modules.get(name) for name in ("function_app", "relay")}
    yield
    sys.path[:] = saved_path
    os.environ.clear()
    os.environ.update(saved_environ)
    for name, module in saved_modules.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


async def test_stopping_the_stack_closes_every_client_the_app_opened(tmp_path, isolated_imports) -> None:
    config = StackConfig(
        host=HOST,
        public_host=HOST,
        functions_port=0,
        emulator_port=0,
        storage_port=0,
        storage_dir=tmp_path / "azurite",
        app_dir=FIXTURE_APP,
        settings_path=write_settings(tmp_path, TEST_SETTINGS),
    )
    before = open_sessions()
    async with running_stack(config) as stack:
        import relay  # imported by the stack; may be left from an earlier test: read settings again

        relay.hub.configure()
        async with aiohttp.ClientSession() as http:
            client = await RawClient.connect(http, InProcessStack(stack), "closer", params={"room": "lobby"})  # type: ignore[arg-type]
            await client.send_event("say", {"text": "bye"})  # a REST broadcast and a claim in a table
            await client.wait_for(said("bye", client.user_id))
            await client.close()
        opened_by_the_app = open_sessions() - before
        assert len(opened_by_the_app) >= 2, "the app's REST and table clients should be open while it runs"
    assert open_sessions() - before == set(), "sessions the app opened are still open after stop"
