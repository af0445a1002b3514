"""Driving the rooms parts of the chat page: the sidebar's groups, the New room dialog, the
members panel, message actions, and moving around with the keyboard only."""

from __future__ import annotations

from typing import Any

from .pages import WAIT_MS, Window

BLOCKING = {"serious", "critical"}


def sidebar_list(window: Window, title: str) -> Any:
    """One labelled group of the sidebar: "Public rooms", "Private rooms", "Direct messages"."""
    return window.page.get_by_role("list", name=title, exact=True)


def room_button(window: Window, title: str, name: str) -> Any:
    return sidebar_list(window, title).locator("button.room", has_text=name)


def message(window: Window, text: str) -> Any:
    """The timeline item whose bubble says ``text``."""
    return window.log().locator("li.msg").filter(has=window.page.locator(".text", has_text=text))


async def join_second_tab(window: Window, name: str) -> Window:
    """Another tab in the same browser profile (the same guest id), joined to the lobby."""
    from playwright.async_api import expect

    tab = Window(await window.page.context.new_page(), f"{window.label}-tab")
    await tab.page.goto(window.page.url.split("#")[0])
    await expect(tab.page.get_by_role("textbox", name="Your name")).to_have_value(name)
    await tab.page.get_by_role("button", name="Join").click()
    await expect(tab.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
    return tab


async def sees_people(window: Window, *names: str) -> None:
    from playwright.async_api import expect

    people = window.page.get_by_role("list", name="People")
    for name in names:
        await expect(people.get_by_role("listitem").filter(has_text=name)).to_be_visible(timeout=WAIT_MS)


async def create_room(window: Window, name: str, members: list[str]) -> str:
    """The New room dialog with the mouse; returns the new room's id (from the page's URL)."""
    from playwright.async_api import expect

    page = window.page
    await page.get_by_role("button", name="New room").click()
    dialog = page.get_by_role("dialog", name="New private room")
    await expect(dialog.get_by_role("textbox", name="Room name")).to_be_focused()
    await dialog.get_by_role("textbox", name="Room name").fill(name)
    for member in members:
        await dialog.get_by_role("checkbox", name=member).check()
    await dialog.get_by_role("button", name="Create room").click()
    await expect(dialog).to_be_hidden(timeout=WAIT_MS)
    await expect(window.status).to_have_text(f"Connected to {name}", timeout=WAIT_MS)
    return str(await page.evaluate("() => decodeURIComponent(location.hash.slice(1))"))


async def open_room(window: Window, title: str, name: str) -> None:
    from playwright.async_api import expect

    await room_button(window, title, name).click()
    await expect(window.status).to_have_text(f"Connected to {name}", timeout=WAIT_MS)


async def message_actions(window: Window, text: str) -> Any:
    """Open the actions menu of the message saying ``text``; returns the menu."""
    from playwright.async_api import expect

    item = message(window, text)
    await item.hover()
    await item.get_by_role("button", name="Message actions").click()
    menu = window.page.get_by_role("menu")
    await expect(menu).to_be_visible()
    return menu


async def tab_to(window: Window, target: Any, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until ``target`` has the focus, as a keyboard user would."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        if await target.evaluate("node => node === document.activeElement"):
            return
        await window.page.keyboard.press(key)
    raise AssertionError(f"{target} never got the focus with {key}")


async def axe_violations(window: Window) -> list[str]:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(window.page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]
