"""Close the pooled clients a served app opened on this event loop, before the loop ends.

The Functions host ends the worker process, so an app never closes them itself; the dev host
stops its loop instead, and open aiohttp sessions would be reported as unclosed.
"""

from __future__ import annotations

import sys

from shared.service import close_service_clients


async def close_app_clients() -> None:
    """The core's Web PubSub clients and, if the app loaded the chat sample, its table clients."""
    await close_service_clients()
    history = sys.modules.get("chat.history")  # a fork may have no chat sample
    close = getattr(history, "close_stores", None)
    if close is not None:
        await close()
