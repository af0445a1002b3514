"""The page's own modules in the browser, with messages made up by the test: date lines,
grouping, dedupe by id, prepending an older page, link parsing, and the cost of rendering a
500-message history (printed; the end-to-end figure is in test_chat_backend_page.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat.e2e.stack_process import StackProcess

from .pages import DESKTOP, Window

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SETUP = """
async () => {
  const { Timeline } = await import("./static/timeline.js");
  const { appendLinkified } = await import("./static/linkify.js");
  window.t = { Timeline, appendLinkified };
}
"""


@pytest.fixture
async def window(browser: Any, stack: StackProcess) -> Any:
    opened = await Window.open(browser, stack, "modules", **DESKTOP)
    await opened.page.evaluate(SETUP)
    yield opened
    assert opened.problems == []
    await opened.close()


async def test_days_groups_and_own_messages(window: Window) -> None:
    shown = await window.page.evaluate(
        """() => {
          const day = 86400000, now = new Date(), at = (daysAgo, h, m) => {
            const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysAgo, h, m);
            return d.toISOString();
          };
          const list = document.createElement("ol");
          const timeline = new t.Timeline(list, (e) => e.from === "me");
          const added = timeline.addHistory([
            { id: "1", from: "ann", name: "Ann", text: "two days ago", time: at(2, 10, 0) },
            { id: "2", from: "ann", name: "Ann", text: "yesterday", time: at(1, 10, 0) },
            { id: "3", from: "ann", name: "Ann", text: "a minute later", time: at(1, 10, 1) },
            { id: "4", from: "ann", name: "Ann", text: "twenty minutes later", time: at(1, 10, 21) },
            { id: "5", from: "me", name: "Me", text: "today", time: now.toISOString() },
          ]);
          const again = timeline.addHistory([
            { id: "3", from: "ann", text: "a minute later", time: at(1, 10, 1) },
          ]);
          const live = timeline.addMessage({ id: "5", from: "me", text: "today", time: now.toISOString() });
          return {
            added, again, live,
            days: [...list.querySelectorAll(".day")].map((n) => n.textContent),
            firsts: [...list.querySelectorAll(".msg.first .text")].map((n) => n.textContent),
            mine: [...list.querySelectorAll(".msg.mine .text")].map((n) => n.textContent),
            names: [...list.querySelectorAll(".msg.first .from")].map((n) => n.textContent),
            count: list.querySelectorAll(".msg").length,
          };
        }"""
    )
    assert shown["added"] == 5 and shown["again"] == 0 and shown["live"] is None
    assert shown["count"] == 5
    assert len(shown["days"]) == 3 and shown["days"][1:] == ["Yesterday", "Today"]
    assert shown["firsts"] == ["two days ago", "yesterday", "twenty minutes later", "today"]
    assert shown["names"] == ["Ann", "Ann", "Ann", "You"]
    assert shown["mine"] == ["today"]


async def test_an_older_page_prepended_renders_like_the_whole_list(window: Window) -> None:
    same = await window.page.evaluate(
        """() => {
          const start = Date.UTC(2026, 0, 5, 23, 0);
          const messages = Array.from({ length: 100 }, (_, n) => ({
            id: String(1000 + n), from: n % 7 < 3 ? "ann" : "bob", name: n % 7 < 3 ? "Ann" : "Bob",
            text: `message ${n}`, time: new Date(start + n * 97000).toISOString(),
          }));
          const isMine = (e) => e.from === "bob";
          const whole = new t.Timeline(document.createElement("ol"), isMine);
          whole.addHistory(messages);
          const paged = new t.Timeline(document.createElement("ol"), isMine);
          paged.addHistory(messages.slice(60));
          paged.addHistory(messages.slice(20, 60));
          paged.addHistory(messages.slice(0, 30)); // overlaps: ids 20..29 are already shown
          return [whole.list.outerHTML === paged.list.outerHTML, paged.firstId, paged.lastId,
                  paged.list.querySelectorAll(".msg").length];
        }"""
    )
    assert same == [True, "1000", "1099", 100]


async def test_only_http_links_become_anchors(window: Window) -> None:
    links = await window.page.evaluate(
        """() => {
          const p = t.appendLinkified(document.createElement("p"),
            "javascript:alert(1) see http://a.example/c), data:text/html,x and " +
            "(https://en.example/wiki/X_(y)) or HTTPS://B.EXAMPLE/ok. <b>no</b>");
          const describe = (a) => [a.tagName, a.getAttribute("href"), a.rel, a.target, a.textContent];
          return { text: p.textContent, elements: [...p.children].map(describe) };
        }"""
    )
    assert links["text"] == (
        "javascript:alert(1) see http://a.example/c), data:text/html,x and "
        "(https://en.example/wiki/X_(y)) or HTTPS://B.EXAMPLE/ok. <b>no</b>"
    )
    assert links["elements"] == [
        ["A", "http://a.example/c", "noopener noreferrer", "_blank", "http://a.example/c"],
        [
            "A",
            "https://en.example/wiki/X_(y)",
            "noopener noreferrer",
            "_blank",
            "https://en.example/wiki/X_(y)",
        ],
        ["A", "https://b.example/ok", "noopener noreferrer", "_blank", "HTTPS://B.EXAMPLE/ok"],
    ]


async def test_rendering_cost_of_a_500_message_history(window: Window) -> None:
    """Printed, not asserted: the numbers vary with the machine (see the report)."""
    figures = await window.page.evaluate(
        """async () => {
          const log = document.getElementById("log");
          document.getElementById("chat-panel").hidden = false;
          document.getElementById("join-panel").hidden = true;
          const start = Date.now() - 500 * 60000;
          const messages = Array.from({ length: 500 }, (_, n) => ({
            id: String(10000 + n), from: n % 5 ? "ann" : "bob", name: n % 5 ? "Ann" : "Bob",
            text: `message ${n} with a link https://example.com/${n} and some words to wrap`,
            time: new Date(start + n * 60000).toISOString(),
          }));
          const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
          const timeline = new t.Timeline(document.getElementById("messages"), (e) => e.from === "bob");
          let began = performance.now();
          timeline.addHistory(messages.slice(450));
          log.scrollTop = log.scrollHeight;
          void log.offsetHeight;
          const firstPage = performance.now() - began;
          const pages = [];
          for (let end = 450; end > 0; end -= 50) {
            began = performance.now();
            timeline.addHistory(messages.slice(end - 50, end));
            void log.offsetHeight;
            pages.push(performance.now() - began);
          }
          await frame();
          began = performance.now();
          timeline.render();
          void log.offsetHeight;
          const wholeList = performance.now() - began;
          return { firstPage, olderMax: Math.max(...pages), wholeList,
                   count: document.querySelectorAll("#messages .msg").length };
        }"""
    )
    assert figures["count"] == 500
    print(
        "\n[measure] in-page render, style and layout included: "
        f"first page of 50 {figures['firstPage']:.1f} ms, "
        f"older page of 50 at most {figures['olderMax']:.1f} ms, "
        f"all 500 re-rendered {figures['wholeList']:.1f} ms"
    )
