"""The genuine Python worker indexes the chat's functions (``tests/runtime`` checks that it agrees
with the dev host on whatever ``function_app`` registers)."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.test_worker_index import REPO, report

CHAT_FUNCTIONS = {
    "chat_validate",
    "chat_connect",
    "chat_connected",
    "chat_disconnected",
    "chat_message",
    "chat_chat",
    "chat_history",
    "chat_members",
    "chat_typing",
    "chat_rooms",
    "chat_open",
    "chat_create",
    "chat_dm",
    "chat_invite",
    "chat_remove",
    "chat_role",
    "chat_edit",
    "chat_delete",
    "chat_react",
    "chat_read",
    "negotiate",
    "home",
    "index",
    "static",
}


def test_the_worker_indexes_every_chat_function_anonymous(worker_python: Path) -> None:
    worker = report(worker_python, "worker", REPO)
    assert "error" not in worker, worker.get("error")
    assert {f["name"] for f in worker["functions"]} == CHAT_FUNCTIONS
    assert all(f["authLevel"] == "anonymous" for f in worker["functions"])
