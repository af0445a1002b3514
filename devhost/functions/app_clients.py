"""Close the pooled clients a served app opened on this event loop, before the loop ends.

The Functions host ends the worker process, so an app never closes them itself; the dev host
stops its loop instead, and open aiohttp sessions would be reported as unclosed. Every pool
registers its closer with ``shared.closing`` (the core's Web PubSub and Table Storage clients
do; so can a fork's own), so nothing here names an app's modules.
"""

from __future__ import annotations

from shared.closing import close_all


async def close_app_clients() -> None:
    """Close every pooled client the app registered with ``shared.closing``."""
    await close_all()
