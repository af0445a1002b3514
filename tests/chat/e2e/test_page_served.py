"""The chat page as ``python -m devhost`` serves it: the HTML and its static files with the CSP."""

from __future__ import annotations

import aiohttp
import pytest

from .stack_process import StackProcess

pytestmark = pytest.mark.e2e


async def test_page_and_static_files_are_served_with_the_csp(
    stack: StackProcess, http: aiohttp.ClientSession
) -> None:
    async with http.get(stack.page_url) as page:
        assert page.status == 200
        assert page.content_type == "text/html"
        csp = page.headers["Content-Security-Policy"]
        html = await page.text()
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert '<script type="module" src="static/chat.js"></script>' in html
    assert "<style" not in html and " style=" not in html and "onclick" not in html.lower()
    for name, content_type in (("chat.js", "text/javascript"), ("chat.css", "text/css")):
        async with http.get(stack.api(f"static/{name}")) as response:
            assert response.status == 200
            assert response.content_type == content_type
    script = (await (await http.get(stack.api("static/chat.js"))).text()).lower()
    assert "innerhtml" not in script and "insertadjacenthtml" not in script and "eval(" not in script
