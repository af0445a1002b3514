"""Browser tests of the chat's rooms, direct messages and message actions: the same fixtures
as tests/browser (a real stack with Azurite, headless Debian Chromium)."""

from tests.browser.conftest import browser  # noqa: F401  (fixture)
from tests.e2e.fixtures import http, stack  # noqa: F401  (fixtures)
