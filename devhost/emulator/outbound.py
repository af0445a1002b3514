"""Per-connection outbound path: WebSocket frames written straight to the transport, capped.

Senders never await a socket: ``put`` writes an already-encoded frame into the
connection's transport buffer (asyncio's per-connection queue) and returns at once, so
a REST send answers 202 without waiting for slow clients, as the service does.

The buffer is the queue, and it is bounded: when the bytes the peer has not yet taken
plus the new frame would pass ``max_bytes``, ``put`` refuses the frame and the caller
disconnects the slow consumer instead of letting memory grow.

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


class OutboundQueue:
    """The write side of one accepted WebSocket."""

    __slots__ = ("_ws", "_transport", "_max_bytes", "_stopped")

    def __init__(
        self, ws: web.WebSocketResponse, transport: asyncio.WriteTransport, *, max_bytes: int
    ) -> None:
        self._ws = ws
        self._transport = transport
        self._max_bytes = max_bytes
        self._stopped = False

    @property
    def pending_bytes(self) -> int:
        """Bytes written but not yet taken by the kernel/peer."""
        return self._transport.get_write_buffer_size()

    def put(self, wire: bytes) -> bool:
        """Write an encoded frame; ``False`` means the cap is reached (nothing was written).

        Frames for a socket that is already closing are dropped silently (``True``): the
        connection is ending and a data frame after a close frame would break the protocol.
        """
        if self._stopped or self._ws.closed or self._transport.is_closing():
            return True
        if self._transport.get_write_buffer_size() + len(wire) > self._max_bytes:
            return False
        self._transport.write(wire)
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
