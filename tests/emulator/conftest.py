"""Fixtures: a real emulator and a recording upstream, each on 127.0.0.1 with a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from devhost.emulator import EmulatorConfig, EventHandler, RunningEmulator, start_emulator

from .upstream_app import RecordingUpstream, make_upstream_app

PRIMARY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"
SECONDARY = "secondary-key-0123456789-abcdefghijklmnopqrstuvwxyz"
HUB = "chat"


@dataclass
class Upstream:
    recorder: RecordingUpstream
    base_url: str


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    recorder = RecordingUpstream(keys=[PRIMARY, SECONDARY])
    runner = web.AppRunner(make_upstream_app(recorder), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Upstream(recorder, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


def make_config(**overrides: object) -> EmulatorConfig:
    options: dict[str, object] = {
        "port": 0,
        "secondary_key": SECONDARY,
        "upstream_timeout": 2.0,
        "upstream_retry_delays": (),
        "recovery_window": 5.0,
    }
    options.update(overrides)
    return EmulatorConfig(**options)  # type: ignore[arg-type]


@pytest.fixture
async def emulator(upstream: Upstream) -> AsyncIterator[RunningEmulator]:
    config = make_config()
    config.handlers.set_hub(HUB, [EventHandler(upstream.base_url + "/api/{hub}/{event}")])
    async with start_emulator(config) as running:
        yield running


@pytest.fixture
async def bare_emulator() -> AsyncIterator[RunningEmulator]:
    """An emulator without event handlers."""
    async with start_emulator(make_config()) as running:
        yield running


def service(emu: RunningEmulator, hub: str = HUB) -> WebPubSubServiceClient:
    return WebPubSubServiceClient.from_connection_string(emu.connection_string, hub=hub)


def client_url(emu: RunningEmulator, hub: str = HUB, **kwargs: object) -> str:
    """A client URL minted by the unchanged server SDK (signed locally, no HTTP call)."""
    return str(service(emu, hub).get_client_access_token(**kwargs)["url"])
