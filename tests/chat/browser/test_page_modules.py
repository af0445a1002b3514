"""The page's new modules in the browser, with data made up by the test: pairing replies with
requests, reactions arriving out of order, a deletion regrouping the messages after it,
history entries of deleted messages, and the room list's groups and counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.chat.e2e.stack_process import StackProcess

from .pages import DESKTOP, Window

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SETUP = """
async () => {
  const { Timeline } = await import("./static/timeline.js");
  const { Requests } = await import("./static/requests.js");
  const { Rooms, unreadText } = await import("./static/rooms.js");
  window.m = { Timeline, Requests, Rooms, unreadText };
}
"""


@pytest.fixture
async def window(browser: Any, stack: StackProcess) -> AsyncIterator[Window]:
    opened = await Window.open(browser, stack, "modules", **DESKTOP)
    await opened.page.evaluate(SETUP)
    yield opened
    assert opened.problems == []
    await opened.close()


async def test_replies_go_to_the_oldest_request_not_acked(window: Window) -> None:
    seen = await window.page.evaluate(
        """() => {
          const log = [];
          let next = 1;
          const requests = new m.Requests(() => next++);
          const track = (name) => ({
            reply: (data) => log.push(`${name} reply ${data.kind}`),
            done: (reply) => log.push(`${name} done ${reply ? reply.kind : "-"}`),
            fail: (reason, lost) => log.push(`${name} fail ${reason}${lost ? " (lost)" : ""}`),
          });
          requests.send("history", {}, track("history"));   // 1
          requests.send("edit", {}, track("edit"));         // 2
          requests.send("react", {}, track("react"));       // 3
          requests.send("open", {}, track("open"));         // 4
          requests.reply({ kind: "history" });
          requests.ack({ ackId: 1, success: true });
          requests.reply({ kind: "error", reason: "only its author can edit a message" });
          requests.ack({ ackId: 2, success: true });        // acked after its error: no done
          requests.ack({ ackId: 3, success: false, error: { name: "Duplicate" } });
          requests.failAll("the connection was lost");
          const offline = new m.Requests(() => 0);
          offline.send("delete", {}, track("delete"));
          return log;
        }"""
    )
    assert seen == [
        "history reply history",
        "history done history",
        "edit fail only its author can edit a message",
        "react done -",
        "open fail the connection was lost (lost)",
        "delete fail not connected",
    ]


async def test_reactions_keep_the_highest_version_and_mark_your_own(window: Window) -> None:
    shown = await window.page.evaluate(
        """() => {
          const list = document.createElement("ol");
          const timeline = new m.Timeline(list, (e) => e.from === "me", { selfId: () => "me" });
          timeline.addHistory([{ id: "1767225600000aaaaaaaa", from: "ann", name: "Ann", text: "hi",
                                 time: "2026-01-01T00:00:00Z" }]);
          const id = "1767225600000aaaaaaaa";
          timeline.react(id, [{ emoji: "👍", count: 2, users: ["ann", "me"] }], 3);
          const stale = timeline.react(id, [{ emoji: "👍", count: 1, users: ["ann"] }], 2);
          const chips = [...list.querySelectorAll("button.chip:not(.add)")];
          const describe = (c) =>
            [c.textContent, c.getAttribute("aria-pressed"), c.getAttribute("aria-label")];
          return { stale, chips: chips.map(describe) };
        }"""
    )
    assert shown["stale"] is None
    assert shown["chips"] == [["👍2", "true", "👍 2 people, including you"]]


async def test_a_deletion_regroups_and_history_shows_deleted_messages(window: Window) -> None:
    shown = await window.page.evaluate(
        """() => {
          const list = document.createElement("ol");
          const timeline = new m.Timeline(list, () => false);
          const at = (n) => String(1767225600000 + n * 1000) + "0000000" + n;
          const said = (n, text) => ({ id: at(n), from: "ann", name: "Ann", text,
                                       time: new Date(1767225600000 + n * 1000).toISOString() });
          const gone = { id: at(4), deleted: true };
          timeline.addHistory([said(1, "one"), said(2, "two"), said(3, "three"), gone]);
          const before = [...list.querySelectorAll(".msg.first .text")].map((n) => n.textContent);
          timeline.tombstone(at(2));
          const after = [...list.querySelectorAll(".msg.first .text")].map((n) => n.textContent);
          timeline.edit(at(3), "three, edited", "2026-01-01T00:05:00Z");
          return {
            before, after,
            tombstones: list.querySelectorAll(".tombstone").length,
            lastTime: timeline.entries[timeline.entries.length - 1].date.toISOString(),
            edited: [...list.querySelectorAll(".edited")].map((n) => n.firstChild.textContent),
            texts: [...list.querySelectorAll(".text")].map((n) => n.textContent),
          };
        }"""
    )
    assert shown["before"] == ["one"]
    assert shown["after"] == ["one", "three"]  # "three" starts a group of its own after the gap
    assert shown["tombstones"] == 2
    assert shown["lastTime"] == "2026-01-01T00:00:04.000Z"  # from the deleted message's id
    assert shown["edited"] == ["(edited)"]
    assert shown["texts"] == ["one", "three, edited"]


async def test_rooms_in_three_groups_with_counts(window: Window) -> None:
    shown = await window.page.evaluate(
        """() => {
          const rooms = new m.Rooms();
          rooms.setPublic(["lobby", "dev"]);
          rooms.replace([
            { id: "lobby", name: "lobby", kind: "public", role: "member", unread: 0 },
            { id: "dev", name: "dev", kind: "public", role: "member", unread: 4 },
            { id: "~rB", name: "Zeta", kind: "private", role: "owner", unread: 100 },
            { id: "~rA", name: "Alpha", kind: "private", role: "weird", unread: -3 },
            { id: "~d1", name: "Bo", kind: "dm", role: "member", unread: 1,
              with: { userId: "u-bo", name: "Bo" } },
            { name: "no id" },
          ]);
          rooms.upsert({ id: "~rA", name: "Alpha", kind: "private", role: "member" });  // keeps its count
          rooms.setUnread("~rA", 2);
          const g = rooms.groups();
          const ids = (list) => list.map((r) => `${r.name}:${r.role}:${r.unread}`);
          return { public: ids(g.public), private: ids(g.private), dm: ids(g.dm),
                   dm_with: rooms.dmWith("u-bo").id, cap: m.unreadText(100), some: m.unreadText(7) };
        }"""
    )
    assert shown == {
        "public": ["lobby:member:0", "dev:member:4"],
        "private": ["Alpha:member:2", "Zeta:owner:100"],
        "dm": ["Bo:member:1"],
        "dm_with": "~d1",
        "cap": "99+",
        "some": "7",
    }


async def test_the_cursor_for_rereading_the_newest_messages_shown(window: Window) -> None:
    cursors = await window.page.evaluate(
        """() => {
          const id = (n) => String(1767225600000 + n) + "0000000a";
          const timeline = new m.Timeline(document.createElement("ol"), () => false);
          const empty = timeline.cursorBefore(2);
          timeline.addHistory([1, 2, 3].map((n) => ({ id: id(n), from: "a", text: `${n}`,
                                                       time: new Date(1767225600000 + n).toISOString() })));
          return { empty, two: timeline.cursorBefore(2), all: timeline.cursorBefore(5), first: id(1) };
        }"""
    )
    assert cursors["empty"] is None
    assert cursors["two"] == "17672256000010000000a"  # after it: messages 2 and 3
    assert cursors["all"] == "1767225600000ffffffff" < cursors["first"]  # just before message 1
