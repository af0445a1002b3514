"""The chat's end-to-end fixtures: the real stack serving the chat as a child process."""

from .fixtures import http, stack  # noqa: F401  (fixtures)
from .people import people  # noqa: F401  (fixture)
