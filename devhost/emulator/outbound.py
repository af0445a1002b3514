"""Per-connection outbound queue with one writer task and a hard cap.

Senders never await a socket: ``put`` appends and returns at once, so a REST send
answers 202 without waiting for slow clients (as the service does). The queue is
bounded by message count and bytes; ``put`` returns ``False`` when a frame would
exceed either, and the caller then disconnects the slow consumer instead of letting
memory grow.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import web

Frame = str | bytes

log = logging.getLogger(__name__)


class OutboundQueue:
    """Frames waiting to be written to one WebSocket, in order."""

    __slots__ = ("_ws", "_frames", "_bytes", "_max_messages", "_max_bytes", "_wakeup", "_task", "_on_error")

    def __init__(
        self,
        ws: web.WebSocketResponse,
        *,
        max_messages: int,
        max_bytes: int,
        on_error: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._ws = ws
        self._frames: deque[Frame] = deque()
        self._bytes = 0
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._wakeup = asyncio.Event()
        self._on_error = on_error
        self._task: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(self._run())

    @property
    def pending(self) -> int:
        return len(self._frames)

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def put(self, frame: Frame) -> bool:
        """Queue a frame; ``False`` means the cap is reached (the frame was not queued)."""
        size = len(frame)
        if len(self._frames) >= self._max_messages or self._bytes + size > self._max_bytes:
            return False
        self._frames.append(frame)
        self._bytes += size
        self._wakeup.set()
        return True

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until every queued frame was handed to the transport."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._frames and self._task is not None and not self._task.done():
            if loop.time() > deadline:
                return
            await asyncio.sleep(0.005)

    def stop(self) -> None:
        """Cancel the writer and drop whatever is still queued."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._frames.clear()
        self._bytes = 0

    async def _run(self) -> None:
        ws = self._ws
        frames = self._frames
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while frames:
                    frame = frames.popleft()
                    self._bytes -= len(frame)
                    if isinstance(frame, str):
                        await ws.send_str(frame)
                    else:
                        await ws.send_bytes(frame)
        except asyncio.CancelledError:
            raise
        except (ConnectionError, RuntimeError) as exc:
            # The peer went away mid-write (aiohttp raises ClientConnectionResetError,
            # a ConnectionError, or RuntimeError on a closing socket).
            log.debug("writer stopped: %s", type(exc).__name__)
            frames.clear()
            self._bytes = 0
            if self._on_error is not None:
                await self._on_error()
