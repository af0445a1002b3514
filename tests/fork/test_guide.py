"""The fork guide shows the code the fork test runs, and names the lines the fork test edits."""

from __future__ import annotations

from .test_fork import POLL
from .workspace import REPO, SAMPLE_REGISTRATION


def test_the_guide_shows_the_poll_the_fork_test_serves() -> None:
    guide = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert (POLL / "__init__.py").read_text(encoding="utf-8") in guide


def test_readme_and_guide_name_the_samples_registration_as_function_app_holds_it() -> None:
    app = (REPO / "function_app.py").read_text(encoding="utf-8").splitlines()
    for document in (REPO / "README.md", REPO / "docs" / "architecture.md"):
        text = document.read_text(encoding="utf-8")
        for line in SAMPLE_REGISTRATION:
            assert f"`{line}`" in text, f"{document.name} does not name {line!r}"
    if (REPO / "chat").exists():  # a project without the sample has no such lines any more
        assert all(line in app for line in SAMPLE_REGISTRATION)
