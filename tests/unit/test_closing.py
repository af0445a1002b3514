"""``shared.closing``: every registered pool is closed once per call, whatever the others do."""

from __future__ import annotations

import logging

import pytest

from shared import closing


async def test_close_all_runs_every_closer_newest_first_despite_a_failure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(closing, "_closers", [])
    calls: list[str] = []

    async def first() -> None:
        calls.append("first")

    async def broken() -> None:
        calls.append("broken")
        raise RuntimeError("socket already gone")

    async def last() -> None:
        calls.append("last")

    for closer in (first, broken, last, first):  # registering twice changes nothing
        closing.register(closer)
    with caplog.at_level(logging.ERROR, logger="shared.closing"):
        await closing.close_all()
    assert calls == ["last", "broken", "first"]
    assert "closing" in caplog.text and "broken" in caplog.text


def test_the_core_pools_register_their_closers() -> None:
    from shared.service import close_service_clients
    from shared.tables import close_tables

    assert close_service_clients in closing._closers and close_tables in closing._closers
