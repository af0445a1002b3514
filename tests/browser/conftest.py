"""Browser-test fixtures: the same real stack as the e2e tests."""

from tests.e2e.fixtures import http, stack  # noqa: F401  (fixtures)
