"""How the page is reached and cached: ``/api/index`` with or without a slash, ``/api`` and
``/api/`` leading to it, unknown paths a plain 404, and edits to the files visible on the next
load without restarting the host (``Cache-Control: no-cache`` with an ``ETag``; the app re-reads
a file that changed on disk).
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.chat.e2e.fixtures import new_access_key
from tests.chat.e2e.stack_process import REPO, StackProcess, start_stack_process

from .pages import DESKTOP, WAIT_MS, Window, unique

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/api/index/", "/api/index"),
        ("/api/index/?x=1", "/api/index?x=1"),
        ("/api/", "/api/index"),
        ("/api", "/api/index"),
    ],
)
async def test_paths_that_lead_to_the_page(
    stack: StackProcess, http: aiohttp.ClientSession, path: str, location: str
) -> None:
    async with http.get(stack.functions_url + path, allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == location
    async with http.get(stack.functions_url + path) as page:
        assert page.status == 200
        assert page.content_type == "text/html"


async def test_unknown_paths_stay_a_plain_404(stack: StackProcess, http: aiohttp.ClientSession) -> None:
    for path in ("/api/nothing-here", "/api/static/secrets.py", "/api/static/../chat/page.py"):
        async with http.get(stack.functions_url + path, allow_redirects=False) as response:
            assert response.status == 404, path


async def test_files_revalidate_with_an_etag(stack: StackProcess, http: aiohttp.ClientSession) -> None:
    for route in ("index", "static/chat.js", "static/timeline.js", "static/chat.css"):
        async with http.get(stack.api(route)) as first:
            assert first.status == 200
            assert "no-cache" in first.headers["Cache-Control"]
            etag = first.headers["ETag"]
        async with http.get(stack.api(route), headers={"If-None-Match": etag}) as again:
            assert again.status == 304, route
            assert await again.read() == b""


async def test_page_opened_with_a_trailing_slash_works(browser: Any, stack: StackProcess) -> None:
    from playwright.async_api import expect

    window = await Window.open(browser, stack, "slash", path="index/", **DESKTOP)
    try:
        assert window.page.url == stack.page_url
        await window.join(unique("Sly"))
        await expect(window.page.locator("#sidebar")).to_be_visible()  # the stylesheet loaded
        await expect(window.status).to_have_text("Connected to #lobby", timeout=WAIT_MS)
        assert window.problems == []
    finally:
        await window.close()


@pytest.fixture
def copied_app(tmp_path: Path) -> Iterator[tuple[Path, StackProcess]]:
    """The function app copied to a temporary folder, served by its own stack: free to edit."""
    app = tmp_path / "app"
    app.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "node_modules")
    for name in ("function_app.py", "host.json"):
        shutil.copy2(REPO / name, app / name)
    for package in ("chat", "shared"):
        shutil.copytree(REPO / package, app / package, ignore=ignore)
    running = start_stack_process(tmp_path, access_key=new_access_key(), extra_args=("--app-dir", str(app)))
    try:
        yield app, running
    finally:
        assert running.stop(signal.SIGTERM) == 0


async def test_an_edit_shows_on_reload_without_a_restart(
    browser: Any, copied_app: tuple[Path, StackProcess]
) -> None:
    from playwright.async_api import expect

    app, running = copied_app
    window = await Window.open(browser, running, "edit", **DESKTOP)
    try:
        await expect(window.page.locator("h1")).to_have_text("Web PubSub chat")
        html = app / "chat" / "static" / "index.html"
        html.write_text(html.read_text().replace("<h1>Web PubSub chat</h1>", "<h1>Team chat</h1>"))
        css = app / "chat" / "static" / "chat.css"
        css.write_text(css.read_text() + "\nh1 { letter-spacing: 3px; }\n")
        await window.page.reload()
        await expect(window.page.locator("h1")).to_have_text("Team chat")
        await expect(window.page.locator("h1")).to_have_css("letter-spacing", "3px")
        assert window.problems == []
    finally:
        await window.close()
