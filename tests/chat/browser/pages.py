"""Driving the chat page in headless Chromium: one ``Window`` per browser context.

A window records what would signal a broken page (page errors, console errors, dialogs) so a
test can assert there were none. Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from tests.browser.chromium import ARTIFACTS, WAIT_MS
from tests.chat.e2e.clients import redact
from tests.chat.e2e.stack_process import StackProcess

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light"}
DESKTOP_DARK: dict[str, Any] = {**DESKTOP, "color_scheme": "dark"}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "color_scheme": "light",
}
PHONE_DARK: dict[str, Any] = {**PHONE, "color_scheme": "dark"}
SIZES = {
    "desktop-light": DESKTOP,
    "desktop-dark": DESKTOP_DARK,
    "phone-light": PHONE,
    "phone-dark": PHONE_DARK,
}


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:4]}"


class Window:
    """One browser context with one page, recording what would signal a broken page."""

    def __init__(self, page: Any, label: str) -> None:
        self.page = page
        self.label = label
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        # Chromium's console names a failed WebSocket's URL, token included: redact it.
        page.on("pageerror", lambda error: self.problems.append(redact(f"page error: {error}")))

        def on_console(message: Any) -> None:
            if message.type == "error":
                self.problems.append(redact(f"console error: {message.text}"))

        page.on("console", on_console)

        async def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)

    @classmethod
    async def open(
        cls, browser: Any, stack: StackProcess, label: str, *, path: str = "index", **options: Any
    ) -> Window:
        context = await browser.new_context(**options)
        window = cls(await context.new_page(), label)
        response = await window.page.goto(stack.api(path))
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        return window

    @property
    def status(self) -> Any:
        return self.page.locator("#status")

    def log(self) -> Any:
        return self.page.get_by_role("log", name="Messages")

    def message_box(self) -> Any:
        return self.page.get_by_role("textbox", name="Message")

    async def join(self, name: str) -> None:
        from playwright.async_api import expect

        await self.page.get_by_role("textbox", name="Your name").fill(name)
        await self.page.get_by_role("button", name="Join").click()
        await expect(self.status).to_have_text(re.compile(r"^Connected to #"), timeout=WAIT_MS)

    async def say(self, text: str) -> None:
        await self.message_box().fill(text)
        await self.message_box().press("Enter")

    async def set_hidden(self, hidden: bool) -> None:
        """Pretend the tab is in the background (or back), as the visibility API reports it."""
        await self.page.evaluate(
            "hidden => { Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});"
            " document.dispatchEvent(new Event('visibilitychange')); }",
            hidden,
        )

    async def open_drawer(self) -> None:
        """Phones: open the rooms and people drawer and wait until it has slid in."""
        await self.page.get_by_role("button", name="Rooms and people").click()
        await self.page.wait_for_function(
            "() => getComputedStyle(document.getElementById('sidebar')).transform === 'none'"
        )

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path

    async def close(self) -> None:
        await self.page.context.close()
