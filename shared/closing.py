"""Close the pooled clients an app opened, when the host that runs it stops.

Pools of network clients (the Web PubSub service client, Table Storage clients, a fork's
own) live for the life of the process: the Functions host ends the worker process and never
asks an app to close them. A dev host or a test that stops its event loop must close them
first, or aiohttp reports "Unclosed client session". Each pool registers its closer here
once, when it is first imported; whoever stops the loop awaits ``close_all()``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

LOGGER = logging.getLogger(__name__)

Closer = Callable[[], Awaitable[None]]
_closers: list[Closer] = []


def register(closer: Closer) -> Closer:
    """Have ``close_all()`` await ``closer()`` (which closes what it opened on the running loop).

    Registering the same closer twice has no effect. Usable as a decorator.
    """
    if closer not in _closers:
        _closers.append(closer)
    return closer


async def close_all() -> None:
    """Await every registered closer, newest first; one failing does not stop the others."""
    for closer in reversed(_closers):
        try:
            await closer()
        except Exception:  # noqa: BLE001 - shutting down: log it and close the rest
            LOGGER.exception("closing %s failed", getattr(closer, "__qualname__", closer))
