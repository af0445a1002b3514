"""Accessibility (axe-core) and screenshots of the chat page, desktop and phone, light and dark.

axe-core comes from ``axe-playwright-python`` (it bundles Deque's axe.min.js and injects it
into the page); the test fails on any serious or critical violation, in every theme and size,
for the join form, a conversation and (phones) the open drawer. Colour contrast is one of
axe's rules, so this is also the WCAG AA contrast check of both themes. Screenshots go to
``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.chat.e2e.clients import RawClient
from tests.chat.e2e.stack_process import StackProcess

from .pages import SIZES, WAIT_MS, Window, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

BLOCKING = {"serious", "critical"}


async def _axe_violations(window: Window) -> list[str]:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(window.page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("size", list(SIZES))
async def test_accessible_and_photographed_in_every_size_and_theme(
    browser: Any, stack: StackProcess, http: aiohttp.ClientSession, size: str
) -> None:
    from playwright.async_api import expect

    options = SIZES[size]
    window = await Window.open(browser, stack, size, path="index#general", **options)
    other = await RawClient.connect(http, stack, unique("Sam"), "general")
    try:
        found: dict[str, list[str]] = {}
        await expect(window.page.get_by_role("textbox", name="Your name")).to_be_visible()
        await window.screenshot(f"{size}-join")
        found["join form"] = await _axe_violations(window)

        await window.join(unique("Kim"))
        await window.say("Hi Sam! The notes are at https://example.com/notes")
        await window.say("Second message of the group.")
        await other.send_chat("Thanks, reading them now.\nWill reply after lunch.")
        await expect(window.log().locator(".msg:not(.mine)")).not_to_have_count(0, timeout=WAIT_MS)
        await expect(window.log().locator(".msg.sending")).to_have_count(0, timeout=WAIT_MS)
        await window.message_box().fill("Draft that is being typed")
        await window.screenshot(f"{size}-conversation")
        found["conversation"] = await _axe_violations(window)

        if options.get("is_mobile"):
            await window.open_drawer()
            await window.screenshot(f"{size}-drawer")
            found["drawer"] = await _axe_violations(window)

        assert {state: problems for state, problems in found.items() if problems} == {}
        assert window.problems == []
    finally:
        await other.close()
        await window.close()
