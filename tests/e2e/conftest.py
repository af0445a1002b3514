"""End-to-end fixtures: the real stack as a child process; see ``fixtures.py``."""

from .fixtures import http, stack  # noqa: F401  (fixtures)
