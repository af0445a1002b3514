"""A scratch copy of this repository, and the sample's removal from it, as the fork guide says.

``copy_repository`` copies what git would commit (tracked and new, not ignored, files) into a
fresh git repository (some checks list files with ``git ls-files``) and links the heavy,
ignored things that are installed rather than written (``.venv``, ``node_modules``, ``.cache``),
so the copy's tests start at once. ``remove_sample`` is step (b) of the fork guide: delete
``chat/``, ``tests/chat/`` and the sample's registration in ``function_app.py``.

``python -m tests.fork.workspace <folder>`` makes such a copy without the sample
(``scripts/test-without-sample`` runs the whole suite in one). ``add_hub`` is the rest of step
(b), or step (c) beside the chat: the package, its registration, its settings.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALLED = (".venv", "devhost/azurite/node_modules", "tests/node/node_modules", ".cache")
SAMPLE_FOLDERS = ("chat", "tests/chat")
SAMPLE_SETTINGS_PREFIX = "Chat"  # the sample's settings in local.settings.sample.json
# The sample's registration in function_app.py: these lines, exactly (see README, "Forking").
SAMPLE_REGISTRATION = (
    "from chat import blueprint as chat_blueprint",
    "app.register_functions(chat_blueprint)",
)
_GIT_IDENTITY = ("-c", "user.name=fork test", "-c", "user.email=fork@example.invalid")


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *_GIT_IDENTITY, *args], cwd=folder, capture_output=True, text=True, check=True
    )
    return done.stdout


def copy_repository(destination: Path, source: Path = REPO) -> Path:
    """Copy ``source`` (its working tree as git would commit it) to ``destination``, a new git
    repository with one commit; returns ``destination``."""
    names = _git(source, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    destination.mkdir(parents=True, exist_ok=True)
    for name in filter(None, names):
        origin = source / name
        if not origin.is_file():  # deleted in the working tree but still tracked
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target)
    for name in INSTALLED:
        installed = source / name
        if installed.exists():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            (destination / name).symlink_to(installed.resolve(), target_is_directory=True)
    commit(destination, "copy of the template")
    return destination


def commit(folder: Path, message: str) -> None:
    """Commit every change in ``folder`` (the copy is a git repository, as a fork's clone is)."""
    if not (folder / ".git").exists():
        _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "--allow-empty", "-m", message)


def remove_sample(root: Path, *, settings: bool = False) -> None:
    """Delete the chat sample from the project at ``root``: its folders and its registration,
    and with ``settings`` its (then unused) ``Chat*`` settings in ``local.settings.sample.json``.
    In a project whose ``chat/`` is gone already (the copy of a copy), only the settings remain to do.

    Raises:
        AssertionError: ``chat/`` is there but ``function_app.py`` does not register it as the
        guide says.
    """
    if (root / "chat").exists():
        for folder in SAMPLE_FOLDERS:
            shutil.rmtree(root / folder, ignore_errors=True)
        app_file = root / "function_app.py"
        lines = app_file.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.strip() not in SAMPLE_REGISTRATION]
        missing = len(lines) - len(kept) != len(SAMPLE_REGISTRATION)
        assert not missing, f"function_app.py does not hold the sample's registration {SAMPLE_REGISTRATION}"
        # and the blank line the import leaves behind, as an editor's user (or ruff --fix) would
        app_file.write_text(re.sub(r"\n{3,}", "\n\n", "".join(kept)), encoding="utf-8")
    if settings:
        _edit_settings(
            root, lambda values: {k: v for k, v in values.items() if not k.startswith(SAMPLE_SETTINGS_PREFIX)}
        )


def _edit_settings(root: Path, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
    sample = root / "local.settings.sample.json"
    document = json.loads(sample.read_text(encoding="utf-8"))
    document["Values"] = change(document["Values"])
    sample.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def add_hub(root: Path, package: Path, settings: dict[str, str]) -> None:
    """Add a hub to the project at ``root`` where the fork guide says: the ``package`` folder at
    the root, one import and one ``register_functions`` line in ``function_app.py`` (after the
    last import and after the last line, so a second hub goes beside the first), and ``settings``
    in ``local.settings.sample.json``."""
    name = package.name
    shutil.copytree(package, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    app_file = root / "function_app.py"
    lines = app_file.read_text(encoding="utf-8").splitlines()
    last_import = max(i for i, line in enumerate(lines) if line.startswith(("import ", "from ")))
    lines.insert(last_import + 1, f"from {name} import blueprint as {name}_blueprint")
    if not lines[last_import].startswith("from "):  # after "import azure.functions": a new section
        lines.insert(last_import + 1, "")
    lines.append(f"app.register_functions({name}_blueprint)")
    app_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _edit_settings(root, lambda values: {**values, **settings})


def added_lines(root: Path) -> dict[str, int]:
    """Non-blank lines the last commit in ``root`` added (or changed), per file."""
    counts: dict[str, int] = {}
    path = ""
    for line in _git(root, "diff", "-U0", "HEAD~1", "HEAD").splitlines():
        if line.startswith("+++ "):
            path = line.removeprefix("+++ b/")
            counts[path] = 0
        elif line.startswith("+") and line[1:].strip():
            counts[path] += 1
    return counts


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.fork.workspace <new folder>", file=sys.stderr)
        return 2
    destination = Path(argv[0]).resolve()
    copy_repository(destination)
    remove_sample(destination)
    commit(destination, "remove the chat sample")
    print(destination)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
