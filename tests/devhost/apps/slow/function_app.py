"""Fixture app for the concurrency limit: each call reports how many calls were running with it."""

import asyncio
import threading
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

_lock = threading.Lock()
_running = 0


def _enter() -> int:
    global _running
    with _lock:
        _running += 1
        return _running


def _leave() -> None:
    global _running
    with _lock:
        _running -= 1


@app.route(route="slow/async", methods=["GET"])
async def slow_async(req: func.HttpRequest) -> str:
    seen = _enter()
    try:
        await asyncio.sleep(float(req.params.get("s", "0.05")))
        return str(seen)
    finally:
        _leave()


@app.route(route="slow/sync", methods=["GET"])
def slow_sync(req: func.HttpRequest) -> str:
    seen = _enter()
    try:
        time.sleep(float(req.params.get("s", "0.05")))
        return str(seen)
    finally:
        _leave()
