"""Per-instance concurrency: at most N invocations run at once, the rest wait their turn.

This is what the Flex Consumption plan does with ``perInstanceConcurrency`` (default 1 for
Python apps) and what ``extensions.http.maxConcurrentRequests`` does in ``host.json``: an
excess request is not refused, it waits until a running invocation finishes. One dev host
process stands for one instance. ``None`` means no limit (the dev host's default, like
``func start``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass
class ConcurrencyStats:
    """Counters a benchmark or a test can read; ``peak_running`` never exceeds the limit."""

    running: int = 0
    waiting: int = 0
    peak_running: int = 0
    peak_waiting: int = 0
    admitted: int = 0


class InvocationLimiter:
    """An ``asyncio.Semaphore`` with counters; first come, first served."""

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.limit = limit
        self.stats = ConcurrencyStats()
        self._semaphore = asyncio.Semaphore(limit) if limit is not None else None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one invocation slot for the duration of the ``async with`` block."""
        stats = self.stats
        if self._semaphore is not None:
            stats.waiting += 1
            stats.peak_waiting = max(stats.peak_waiting, stats.waiting)
            try:
                await self._semaphore.acquire()
            finally:
                stats.waiting -= 1
        stats.running += 1
        stats.admitted += 1
        stats.peak_running = max(stats.peak_running, stats.running)
        try:
            yield
        finally:
            stats.running -= 1
            if self._semaphore is not None:
                self._semaphore.release()
