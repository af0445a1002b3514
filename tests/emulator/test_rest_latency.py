"""``EmulatorConfig.rest_latency``: REST calls take one round trip longer; WebSockets and health do not."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from azure.messaging.webpubsubservice.aio import WebPubSubServiceClient as AsyncServiceClient

from devhost.emulator import RunningEmulator, start_emulator

from .conftest import HUB, make_config
from .test_rest_sdk import connect

pytestmark = pytest.mark.e2e

LATENCY = 0.2


async def _timed_send(emu: RunningEmulator) -> tuple[float, float]:
    """(seconds until the client received the broadcast, seconds until the call returned)."""
    async with AsyncServiceClient.from_connection_string(emu.connection_string, hub=HUB) as client:
        await client.send_to_all({"warm": True})  # token, connection pool: outside the timing
        async with connect(emu, user_id="alice") as alice:
            started = time.perf_counter()
            send = asyncio.create_task(client.send_to_all({"n": 1}))
            assert (await alice.next())["data"] == {"n": 1}
            received = time.perf_counter() - started
            await send
            returned = time.perf_counter() - started
    return received, returned


async def test_a_rest_call_takes_one_round_trip_longer_and_delivery_happens_half_way() -> None:
    async with start_emulator(make_config(rest_latency=LATENCY)) as emu:
        received, returned = await _timed_send(emu)
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            async with session.head(f"{emu.endpoint}/api/health") as response:
                assert response.status == 200
            health = time.perf_counter() - started
    assert LATENCY <= returned < LATENCY + 0.15
    assert health < LATENCY / 2  # not delayed
    # The message reached the client after half the round trip, before the caller got its answer.
    assert LATENCY / 2 <= received < returned


async def test_without_latency_a_rest_call_is_fast() -> None:
    async with start_emulator(make_config()) as emu:
        _, returned = await _timed_send(emu)
    assert returned < LATENCY / 2


def test_the_cli_option_is_in_milliseconds() -> None:
    from devhost.emulator.__main__ import build_parser, config_from_args

    assert config_from_args(build_parser().parse_args(["--rest-latency-ms", "7"])).rest_latency == 0.007
    assert config_from_args(build_parser().parse_args([])).rest_latency == 0.0
