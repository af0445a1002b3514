"""The chat's browser-test fixtures: the stack serving the chat, and headless Chromium."""

from tests.browser.chromium import browser  # noqa: F401  (fixture)
from tests.chat.e2e.fixtures import http, stack  # noqa: F401  (fixtures)
