"""Benchmark: what access control costs a chat message, what ``open`` costs, and concurrent
reactions on one message, in one run (the chat sample's rooms, docs/chat-protocol.md).

    python -m bench.chat_rooms [--messages 200] [--opens 40] [--reactors 10 50]

One stack as in Azure's topology (``python -m devhost.emulator`` and ``python -m
devhost.functions``, two processes) with Azurite. Two users, each with two connections:
one pair views a public room, the other a private room of the two. Messages alternate
between the rooms (public, private, public, ...), so drift of the shared machine hits both
alike; a message's latency runs from just before the send until the other user receives the
broadcast; the next one waits for the sender's ack (the handler's whole work, the unread
check of the private room included). Target: the private room adds < 10 % at p50.

``open``: a connection switches rooms (the reply ``opened`` is back): public to public, and
public to private (the membership reads, the group move and the re-check).

Reactions: N users react to one message at once; printed: the time until all are acked and
the count stored (must be N: the tally is replaced only if unchanged since read, ETag).

Skips with a reason when the ``chat`` sample is not in this app.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
SUBPROTOCOL = "json.webpubsub.azure.v1"


class Client:
    """One WebSocket connection of one user (a cookie jar per user keeps the guest id)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, user_id: str) -> None:
        self.ws, self.user_id = ws, user_id
        self.ack = 0
        self.waiters: list[tuple[Any, asyncio.Future[dict[str, Any]]]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = message.json()
            data = frame.get("data") if frame.get("type") == "message" else frame
            for predicate, future in list(self.waiters):
                if not future.done() and predicate(data):
                    future.set_result(data)

    def expect(self, predicate: Any) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters.append((predicate, future))
        future.add_done_callback(lambda f: self.waiters.remove((predicate, f)))
        return future

    async def send(self, event: str, data: Any) -> asyncio.Future[dict[str, Any]]:
        """Send; the returned future resolves with the ack."""
        self.ack += 1
        ack_id = self.ack
        acked = self.expect(
            lambda d: isinstance(d, dict) and d.get("type") == "ack" and d.get("ackId") == ack_id
        )
        await self.ws.send_json(
            {"type": "event", "event": event, "dataType": "json", "data": data, "ackId": ack_id}
        )
        return acked

    async def ask(self, event: str, data: Any, kind: str) -> dict[str, Any]:
        reply = self.expect(lambda d: isinstance(d, dict) and d.get("kind") in (kind, "error"))
        await self.send(event, data)
        found = await asyncio.wait_for(reply, 10)
        assert found["kind"] == kind, found
        return found


async def connect(session: aiohttp.ClientSession, functions_url: str, name: str, room: str) -> Client:
    params = {"name": name, "room": room}
    async with session.get(f"{functions_url}/api/negotiate", params=params) as response:
        body = await response.json()
        assert response.status == 200, body
    ws = await session.ws_connect(body["url"], protocols=(SUBPROTOCOL,))
    client = Client(ws, body["userId"])
    await asyncio.wait_for(
        client.expect(lambda d: d.get("type") == "system" and d.get("event") == "connected"), 10
    )
    return client


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def message_latency(sender: Client, receiver: Client, text: str) -> float:
    received = receiver.expect(
        lambda d: isinstance(d, dict) and d.get("kind") == "chat" and d.get("text") == text
    )
    started = time.perf_counter()
    acked = await sender.send("chat", {"text": text})
    await asyncio.wait_for(received, 10)
    elapsed = time.perf_counter() - started
    await asyncio.wait_for(acked, 10)
    return elapsed * 1000


async def run(args: argparse.Namespace) -> None:
    from bench.chat import start_stack
    from devhost.storage import start_azurite

    work = Path(tempfile.mkdtemp(prefix="bench-rooms-"))
    storage = await start_azurite("127.0.0.1", 0, work / "azurite")
    stack = await start_stack(
        "rooms", work / "stack", storage=storage, rooms=["lobby", "general"], topology="split"
    )
    sessions = [
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        for _ in range(2 + max(args.reactors))
    ]
    try:
        url = stack.functions_url
        alice_public = await connect(sessions[0], url, "Alice", "lobby")
        bob_public = await connect(sessions[1], url, "Bob", "lobby")
        room = (await alice_public.ask("create", {"name": "Bench", "members": [bob_public.user_id]}, "room"))[
            "room"
        ]
        alice_private = await connect(sessions[0], url, "Alice", room["id"])
        bob_private = await connect(sessions[1], url, "Bob", room["id"])
        for _ in range(10):  # warm up both paths
            await message_latency(alice_public, bob_public, uuid.uuid4().hex)
            await message_latency(alice_private, bob_private, uuid.uuid4().hex)
        public: list[float] = []
        private: list[float] = []
        for _ in range(args.messages):
            public.append(await message_latency(alice_public, bob_public, uuid.uuid4().hex))
            private.append(await message_latency(alice_private, bob_private, uuid.uuid4().hex))
        pub50, priv50 = statistics.median(public), statistics.median(private)
        print(f"chat message, send -> the other user ({args.messages} each, interleaved):")
        print(f"  public room   p50 {pub50:6.2f} ms   p90 {p(public, 0.9):6.2f} ms")
        print(f"  private room  p50 {priv50:6.2f} ms   p90 {p(private, 0.9):6.2f} ms")
        print(f"  private / public at p50: {priv50 / pub50:.3f}  (target < 1.10)")

        # open: fresh connections (open is limited to 10 per 10 s per connection: 8 each)
        public_open: list[float] = []
        private_open: list[float] = []
        steps = (("general", public_open), ("lobby", None), (room["id"], private_open), ("lobby", None)) * 2
        for _ in range(max(1, args.opens // 2)):
            switcher = await connect(sessions[0], url, "Alice", "lobby")
            for target, into in steps:
                started = time.perf_counter()
                await switcher.ask("open", {"room": target}, "opened")
                if into is not None:
                    into.append((time.perf_counter() - started) * 1000)
            await switcher.ws.close()
        print(f"open (send -> 'opened' reply, {len(public_open)} / {len(private_open)} times):")
        print(f"  public -> public   p50 {statistics.median(public_open):6.2f} ms")
        print(f"  public -> private  p50 {statistics.median(private_open):6.2f} ms")

        for reactors in args.reactors:
            fans = [await connect(sessions[2 + i], url, f"Fan{i}", "lobby") for i in range(reactors)]
            text = uuid.uuid4().hex
            await message_latency(alice_public, bob_public, text)
            page = await bob_public.ask("history", {"limit": 1}, "history")
            message_id = page["messages"][-1]["id"]
            started = time.perf_counter()
            acks = [await fan.send("react", {"id": message_id, "emoji": "👍"}) for fan in fans]
            await asyncio.wait_for(asyncio.gather(*acks), 60)
            elapsed = (time.perf_counter() - started) * 1000
            stored = await bob_public.ask("history", {"limit": 1}, "history")
            count = stored["messages"][-1]["reactions"][0]["count"]
            print(
                f"reactions: {reactors} users at once on one message: all acked in {elapsed:.0f} ms,", end=" "
            )
            print(f"counted {count}")
            for fan in fans:
                await fan.ws.close()
    finally:
        for session in sessions:
            await session.close()
        await stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--opens", type=int, default=40)
    parser.add_argument("--reactors", type=int, nargs="+", default=[10, 50])
    args = parser.parse_args()
    if importlib.util.find_spec("chat") is None:
        print("skipped: this app has no chat sample (the package `chat` is absent)")
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
