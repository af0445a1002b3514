"""Browser-test fixtures: the same real stack as the e2e tests (the template's test app), and
headless Chromium."""

from tests.e2e.fixtures import http, stack  # noqa: F401  (fixtures)

from .chromium import browser  # noqa: F401  (fixture)
