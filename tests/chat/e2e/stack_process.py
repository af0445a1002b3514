"""``python -m devhost`` serving the repository's ``function_app`` (the chat) for the chat's tests:
the template's ``tests/e2e/stack_process`` with the chat's app, settings and page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e import stack_process as template
from tests.e2e.stack_process import HOST, REPO, StackProcess, StackStartError, write_settings

__all__ = [
    "HOST",
    "REPO",
    "TEST_SETTINGS",
    "ChatStack",
    "StackProcess",
    "StackStartError",
    "start_stack_process",
    "write_settings",
]

TEST_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME": "python",
    "ChatAllowGuests": "true",
    "ChatRooms": "lobby,general,random",
    "ChatTokenMinutes": "5",
    "ChatStorage": "UseDevelopmentStorage=true",
}
# The chat's own settings in the developer's shell would override the test's.
SCRUBBED = ("Chat",)


class ChatStack(StackProcess):
    @property
    def page_url(self) -> str:
        return self.api("index")


def start_stack_process(
    work_dir: Path, *, app_dir: Path = REPO, settings: dict[str, str] | None = None, **options: Any
) -> ChatStack:
    """``tests.e2e.stack_process.start_stack_process`` for the chat app (or a copy: ``app_dir``)."""
    return template.start_stack_process(
        work_dir,
        app_dir=app_dir,
        settings=TEST_SETTINGS if settings is None else settings,
        scrubbed=SCRUBBED,
        stack_type=ChatStack,
        **options,
    )
