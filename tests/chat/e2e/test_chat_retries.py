"""The emulator's retry-on-5xx against the real app: a retried ``chat`` event is stored and
broadcast once.

The stack (``devhost.stack``: Azurite, emulator, Functions dev host) runs in this process so
its hub can be pointed at a proxy that forwards each chat event to the app and then, for
the first attempt only, answers the emulator with 502 as if the app's answer had been lost.
The emulator retries after 1 s with the same ``ce-id``; the app must recognise it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from devhost.emulator import EventHandler
from devhost.stack import RunningStack, StackConfig, running_stack
from shared.headers import CE_ID

from .clients import RawClient, chat
from .stack_process import HOST, REPO, TEST_SETTINGS, write_settings

pytestmark = pytest.mark.e2e


_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length", "date", "server")


class LosingProxy:
    """Forwards to the app; the first attempt of each ``chat`` event then "loses" the answer."""

    def __init__(self) -> None:
        self.target = ""
        self.attempts: Counter[str] = Counter()
        self.app_statuses: list[int] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with aiohttp.ClientSession() as session:
            async with session.request(
                request.method, self.target + request.path_qs, headers=headers, data=body
            ) as r:
                answer, status = await r.read(), r.status
                answer_headers = {k: v for k, v in r.headers.items() if k.lower() not in _HOP}
        if request.method == "POST" and request.path.endswith("/chat"):
            self.app_statuses.append(status)
            self.attempts[request.headers[CE_ID]] += 1
            if self.attempts[request.headers[CE_ID]] == 1:
                return web.Response(status=502, text="answer lost on the way back")
        return web.Response(status=status, body=answer, headers=answer_headers)


class InProcessStack:
    """What ``RawClient.connect`` needs from a stack."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack

    def api(self, route: str) -> str:
        return self.stack.api_url(route)

    def sync_output(self) -> None:
        pass

    output: list[str] = []


@pytest.fixture
async def lossy_stack(tmp_path: Path) -> AsyncIterator[tuple[InProcessStack, LosingProxy]]:
    settings = write_settings(tmp_path, TEST_SETTINGS)
    config = StackConfig(
        host=HOST,
        public_host=HOST,
        functions_port=0,
        emulator_port=0,
        storage_port=0,
        storage_dir=tmp_path / "azurite",
        app_dir=REPO,
        settings_path=settings,
        load_local_settings=True,
    )
    saved_environ = dict(os.environ)  # the stack loads the settings file into os.environ
    proxy = LosingProxy()
    runner = web.AppRunner(web.Application(), access_log=None)
    runner.app.router.add_route("*", "/{path:.*}", proxy.handle)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    try:
        async with running_stack(config) as stack:
            # this process may have imported the app before (other tests): load its settings
            # from the environment the stack has just set up, as a fresh process would
            from chat import hub

            hub.configure()
            proxy.target = stack.functions_url
            port = runner.addresses[0][1]
            template = f"http://{HOST}:{port}/{stack.route_prefix}/{{hub}}/{{event}}"
            stack.emulator.config.handlers.set_hub("chat", [EventHandler(url_template=template)])
            yield InProcessStack(stack), proxy
    finally:
        await runner.cleanup()
        os.environ.clear()
        os.environ.update(saved_environ)
        from chat import hub

        hub.configure()


async def test_an_event_retried_by_the_emulator_is_stored_and_broadcast_once(
    lossy_stack: tuple[InProcessStack, LosingProxy],
) -> None:
    stack, proxy = lossy_stack
    async with aiohttp.ClientSession() as http:
        sender = await RawClient.connect(http, stack, "Sender", "lobby")  # type: ignore[arg-type]
        watcher = await RawClient.connect(http, stack, "Watcher", "lobby")  # type: ignore[arg-type]
        try:
            ack = await sender.send_chat("said once, delivered twice")
            assert (await sender.wait_for_ack(ack))["success"] is True  # after the retry
            await watcher.wait_for(chat("said once, delivered twice", sender.user_id))
            assert list(proxy.attempts.values()) == [2], "the emulator did not retry"
            assert proxy.app_statuses == [204, 204], "the app saw and answered both attempts"
            await watcher.assert_never(
                lambda item: len([i for i in watcher.history if chat("said once, delivered twice")(i)]) > 1,
                within=1.0,
            )
            reply = await watcher.request("history", {"limit": 10}, "history")
            stored = [m for m in reply["messages"] if m["text"] == "said once, delivered twice"]
            assert len(stored) == 1, json.dumps(reply)
        finally:
            await sender.close()
            await watcher.close()
