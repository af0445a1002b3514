"""The yardstick for ``bench/emulator.py``: a minimal aiohttp broadcast server.

It does the least a broadcast server can do, with none of the emulator's protocol,
auth, queues or limits:

* ``GET /ws?room=R`` - a WebSocket in room R; each text frame it sends is forwarded
  as-is to every socket of that room (the chat scenario);
* ``POST /broadcast`` - the body is sent as a text frame to every socket (fan-out).

Usage: ``python bench/baseline_server.py [port]``; prints ``listening on <port>``.
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import WSMsgType, web

SOCKETS = web.AppKey("sockets", set)
ROOMS = web.AppKey("rooms", dict)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    room = request.query.get("room", "")
    members: set[web.WebSocketResponse] = request.app[ROOMS].setdefault(room, set())
    request.app[SOCKETS].add(ws)
    members.add(ws)
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                for peer in list(members):
                    await peer.send_str(msg.data)
    finally:
        members.discard(ws)
        request.app[SOCKETS].discard(ws)
    return ws


async def broadcast(request: web.Request) -> web.Response:
    text = await request.text()
    for ws in list(request.app[SOCKETS]):
        await ws.send_str(text)
    return web.Response(status=202)


def create_app() -> web.Application:
    app = web.Application()
    app[SOCKETS] = set()
    app[ROOMS] = {}
    app.router.add_get("/ws", websocket)
    app.router.add_post("/broadcast", broadcast)
    return app


async def main(port: int) -> None:
    runner = web.AppRunner(create_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(f"listening on {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    except KeyboardInterrupt:
        pass
