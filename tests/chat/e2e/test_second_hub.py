"""Fork guide (c): a second hub beside the chat, in one app, on one dev host and emulator.

The repository is copied (the chat stays) and the fork test's poll (``tests/fork/poll``) is
added where the guide says; ``python -m devhost`` then serves both hubs with no ``--hub``, each
with its own events, and clients of both work side by side.
"""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from tests.e2e import clients as template
from tests.fork.test_fork import NEGOTIATE, POLL, POLL_SETTINGS, totals
from tests.fork.workspace import add_hub, added_lines, commit, copy_repository

from .clients import RawClient, chat
from .fixtures import new_access_key, stop_and_check
from .stack_process import TEST_SETTINGS, StackProcess, start_stack_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    root = copy_repository(tmp_path_factory.mktemp("two-hubs") / "app")
    add_hub(root, POLL, POLL_SETTINGS)
    commit(root, "a poll beside the chat")
    assert added_lines(root)["function_app.py"] == 2
    running = start_stack_process(
        tmp_path_factory.mktemp("two-hubs-stack"),
        access_key=new_access_key(),
        app_dir=root,
        root=root,
        settings={**TEST_SETTINGS, **POLL_SETTINGS},
    )
    try:
        yield running
    finally:
        stop_and_check(running)


async def test_the_chat_and_a_poll_run_side_by_side(two_hubs: StackProcess) -> None:
    banner = [line for line in two_hubs.output if not line.startswith("[")]
    assert "Hub chat: chat, connect, connected, disconnected, history, members, message, typing" in banner
    assert "Hub poll: connect, vote" in banner
    assert f"Open: {two_hubs.api(NEGOTIATE)}" in banner and f"Open: {two_hubs.api('negotiate')}" in banner
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        alice = await RawClient.connect(http, two_hubs, "Alice", "lobby")
        bob = await RawClient.connect(http, two_hubs, "Bob", "lobby")
        voter = await template.RawClient.connect(http, two_hubs, "Vera", route=NEGOTIATE)
        try:
            assert "/client/hubs/poll?" in voter.negotiated["url"]
            await alice.send_chat("hello beside a poll")
            await bob.wait_for(chat("hello beside a poll", alice.user_id, "lobby"))
            assert await voter.request("vote", {"option": "tea"}, "results") == {
                "kind": "results",
                "totals": {"tea": 1},
            }
            await voter.wait_for(totals({"tea": 1}))
            # Each hub's messages stay in it.
            await bob.assert_never(totals({"tea": 1}))
            await voter.assert_never(chat("hello beside a poll"), within=0)
        finally:
            for client in (alice, bob, voter):
                await client.close()
    two_hubs.wait_for_output(r"POST /api/chat/disconnected 204\b")
    two_hubs.sync_output()
    assert not [line for line in two_hubs.output if "POST " in line and " 404 " in line]
    assert "/api/poll/connected" not in two_hubs.text()
