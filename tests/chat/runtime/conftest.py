"""The genuine Functions Python worker's interpreter (``tests/runtime``'s fixture), for the chat."""

from tests.runtime.conftest import worker_python  # noqa: F401  (fixture)
