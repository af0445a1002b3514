"""The chat end to end through ``python -m devhost`` (Azurite, emulator, Functions host)."""

from tests.e2e.fixtures import http, stack  # noqa: F401  (fixtures)

from .people import people  # noqa: F401  (fixture)
