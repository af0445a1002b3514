"""Name and id patterns match the whole string: ``"<valid>\\n"`` is refused (issue 22).

A pattern anchored with ``$`` and used with ``re.match`` also accepts one trailing newline, so
``"chat\\n"`` passed as a user event name and as a hub name. Each pattern is now used with
``fullmatch``; the chat's message ids are covered in ``tests/chat/test_message_id_pattern.py``.
"""

from __future__ import annotations

import aiohttp
import pytest

from devhost.emulator import EmulatorConfig, start_emulator
from devhost.emulator.config import ConfigError, is_valid_hub_name, parse_settings
from shared import WebPubSubHub
from shared.routes import check_user_event_name
from tests.upstream_requests import CONNECTION_STRING


def test_a_user_event_name_with_a_trailing_newline_is_refused() -> None:
    assert check_user_event_name("chat") == "chat"
    with pytest.raises(ValueError, match="must be 1-128"):
        check_user_event_name("chat\n")
    hub = WebPubSubHub("poll", env={"WebPubSubConnectionString": CONNECTION_STRING})
    with pytest.raises(ValueError, match="must be 1-128"):
        hub.on_event("vote\n")


def test_a_hub_name_with_a_trailing_newline_is_refused_by_the_emulator() -> None:
    assert is_valid_hub_name("chat")
    assert not is_valid_hub_name("chat\n")
    handlers = {"EventHandlers": [{"UrlTemplate": "http://localhost:7071/api/{hub}/{event}"}]}
    assert parse_settings({"WebPubSub": {"Hubs": {"chat": handlers}}})
    with pytest.raises(ConfigError, match="invalid hub name"):
        parse_settings({"WebPubSub": {"Hubs": {"chat\n": handlers}}})


async def test_the_emulator_refuses_a_client_for_a_hub_name_ending_in_a_newline() -> None:
    async with start_emulator(EmulatorConfig(port=0)) as emulator, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{emulator.port}/client/hubs/chat%0A") as response:
            assert (response.status, await response.text()) == (400, "invalid or missing hub name")
