"""Per-connection outbound path: WebSocket frames written straight to the transport, capped.

Senders never await a socket: ``put`` writes an already-encoded frame into the
connection's transport buffer (asyncio's per-connection queue) and returns at once, so
a REST send answers 202 without waiting for slow clients, as the service does.

The buffer is the queue, and it is bounded: when the bytes the peer has not yet taken
plus the new frame would pass ``max_bytes``, ``put`` refuses the frame and the caller
disconnects the slow consumer instead of letting memory grow.

On top of that per-connection cap, one ``OutboundBudget`` caps the backlog of all
connections together: once it is reached, a connection that is already behind is refused
its next frame (and disconnected) instead of growing the emulator's memory further. A
connection with an empty buffer still gets its frame, since the kernel normally takes it
at once; so the budget is exceeded by at most one frame per connection.

Frames are encoded here (RFC 6455 section 5.2: server frames are unmasked) so that a
broadcast encodes one frame and shares the bytes with every recipient. Control frames
(ping/pong/close) stay with aiohttp; every write is one synchronous ``transport.write``,
so frames from both never interleave.
"""

from __future__ import annotations

import asyncio
import struct

from aiohttp import web

OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
_FIN = 0x80


def encode_frame(payload: bytes, opcode: int) -> bytes:
    """One final, unmasked data frame."""
    length = len(payload)
    if length < 126:
        header = bytes((_FIN | opcode, length))
    elif length < 1 << 16:
        header = struct.pack("!BBH", _FIN | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", _FIN | opcode, 127, length)
    return header + payload


def encode_message(message: str | bytes) -> bytes:
    """A text frame for ``str``, a binary frame for ``bytes``."""
    if isinstance(message, str):
        return encode_frame(message.encode("utf-8"), OPCODE_TEXT)
    return encode_frame(message, OPCODE_BINARY)


class OutboundBudget:
    """The emulator-wide cap on bytes written to sockets but not yet taken by the peers.

    Buffers drain without telling anyone, so the running total is an estimate from the last
    write to each backlogged queue; when it says "over", the backlogged queues are asked
    again (a recount over the few connections that are behind, not over all of them).
    """

    __slots__ = ("max_bytes", "_backlog", "_estimate")

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._backlog: dict[OutboundQueue, int] = {}
        self._estimate = 0

    def note(self, queue: OutboundQueue, pending: int) -> None:
        """``queue`` has ``pending`` bytes buffered after a write (0 forgets it)."""
        old = self._backlog.get(queue, 0)
        if pending:
            self._backlog[queue] = pending
        elif old:
            del self._backlog[queue]
        self._estimate += pending - old

    def exceeded_by(self, extra: int) -> bool:
        """Would ``extra`` more bytes pass the cap (after a recount if the estimate says so)?"""
        if self._estimate + extra <= self.max_bytes:
            return False
        self._estimate = 0
        for queue in list(self._backlog):
            pending = queue.pending_bytes
            if pending:
                self._backlog[queue] = pending
                self._estimate += pending
            else:
                del self._backlog[queue]
        return self._estimate + extra > self.max_bytes

    @property
    def total(self) -> int:
        """Bytes buffered for all connections now (a recount)."""
        self.exceeded_by(self.max_bytes + 1)
        return self._estimate


class OutboundQueue:
    """The write side of one accepted WebSocket."""

    __slots__ = ("_ws", "_transport", "_max_bytes", "_budget", "_stopped", "refusal")

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.WriteTransport,
        *,
        max_bytes: int,
        budget: OutboundBudget | None = None,
    ) -> None:
        self._ws = ws
        self._transport = transport
        self._max_bytes = max_bytes
        self._budget = budget
        self._stopped = False
        self.refusal = ""  # why the last refused frame was refused

    @property
    def pending_bytes(self) -> int:
        """Bytes written but not yet taken by the kernel/peer."""
        return 0 if self._transport.is_closing() else self._transport.get_write_buffer_size()

    def put(self, wire: bytes) -> bool:
        """Write an encoded frame; ``False`` means the cap is reached (nothing was written).

        Frames for a socket that is already closing are dropped silently (``True``): the
        connection is ending and a data frame after a close frame would break the protocol.
        """
        if self._stopped or self._ws.closed or self._transport.is_closing():
            return True
        pending = self._transport.get_write_buffer_size()
        if pending + len(wire) > self._max_bytes:
            self.refusal = "slow consumer: outbound buffer full"
            return False
        budget = self._budget
        if budget is None:
            self._transport.write(wire)
            return True
        if pending and budget.exceeded_by(len(wire)):
            self.refusal = "slow consumer: the emulator's total outbound memory limit is reached"
            return False
        self._transport.write(wire)
        after = self._transport.get_write_buffer_size()
        if after or pending:  # the common case, a peer keeping up, costs no bookkeeping
            budget.note(self, after)
        return True

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until the peer has taken what was written."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending_bytes and not self._transport.is_closing() and loop.time() < deadline:
            await asyncio.sleep(0.005)

    def stop(self) -> None:
        """Write nothing more through this queue."""
        self._stopped = True
        if self._budget is not None:
            self._budget.note(self, 0)
