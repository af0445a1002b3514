"""A real HTTP server on 127.0.0.1 that records what the Web PubSub REST client sends.

It checks each request's bearer token the way the service does (HS256 with the access
key, ``aud`` = the request URL with or without the query), answers 202 to sends, and
remembers the client's source port, which shows whether connections are reused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web


@dataclass
class RecordedCall:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes
    peer_port: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RestRecorder:
    access_key: str
    calls: list[RecordedCall] = field(default_factory=list)
    auth_failures: int = 0
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sends(self) -> list[RecordedCall]:
        return [c for c in self.calls if c.path.endswith("/:send")]

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        url = str(request.url)
        try:
            jwt.decode(token, self.access_key, algorithms=["HS256"], audience=[url, url.split("?")[0]])
        except jwt.PyJWTError:
            self.auth_failures += 1
            return web.json_response({"code": "Unauthorized"}, status=401)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.calls.append(
            RecordedCall(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                content_type=request.headers.get("Content-Type", ""),
                body=await request.read(),
                peer_port=peer[1] if peer else 0,
            )
        )
        return web.Response(status=202 if request.path.endswith("/:send") else 200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
