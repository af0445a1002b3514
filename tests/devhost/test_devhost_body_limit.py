"""Large bodies are refused before the dev host reads them (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT).

Driven over raw sockets where the point is *when* the answer comes: a client that declares a huge
body must get 413 after sending only a little of it, and concurrent huge posts must not grow the
host's memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from devhost.functions import create_app, running_host
from devhost.functions.body_limit import BODY_LIMIT_SETTING, DEFAULT_MAX_BODY_BYTES, max_body_bytes_from
from devhost.functions.settings import SettingsError

APPS = Path(__file__).parent / "apps"
ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024

pytestmark = pytest.mark.e2e


async def post_declaring(
    port: int, path: str, declared: int, *, send_at_most: int, chunk: int = 256 * 1024
) -> tuple[int, int]:
    """POST declaring ``declared`` body bytes; stop sending once an answer arrives.

    Returns (status, bytes of body sent before the answer).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n"
    writer.write((head + "Content-Type: application/octet-stream\r\n\r\n").encode())
    answer = asyncio.ensure_future(reader.readuntil(b"\r\n\r\n"))
    sent = 0
    block = b"x" * chunk
    try:
        while sent < min(declared, send_at_most) and not answer.done():
            writer.write(block)
            sent += len(block)
            try:
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.sleep(0)
        head_bytes = await asyncio.wait_for(answer, timeout=10)
    finally:
        answer.cancel()
        writer.transport.abort()  # hang up: the rest of the declared body will never come
    status = int(head_bytes.split(b" ", 2)[1])
    return status, sent


@pytest.fixture
async def limited_host() -> AsyncIterator[int]:
    """The basic fixture app with the limit set the way an app sets it: as a setting (1 MiB)."""
    os.environ[BODY_LIMIT_SETTING] = str(MIB)
    async with running_host(create_app(APPS / "basic")) as host:
        yield host.port


async def test_declared_oversized_body_gets_413_before_it_is_sent(limited_host):
    # 90 MB declared; the answer must come while at most 1 MiB of it has been sent.
    for path in ("/api/echo", "/api/nowhere"):  # refused before routing, too
        status, sent = await post_declaring(limited_host, path, 90 * MIB, send_at_most=MIB)
        assert status == 413, path
        assert sent <= MIB


async def test_expect_100_continue_is_answered_413_for_an_oversized_body(limited_host):
    async def first_answer(declared: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", limited_host)
        writer.write(
            f"POST /api/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        try:
            return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        finally:
            writer.transport.abort()

    assert (await first_answer(90 * MIB)).startswith(b"HTTP/1.1 413 ")  # no invitation to send it
    assert (await first_answer(10)).startswith(b"HTTP/1.1 100 Continue")


async def test_streamed_body_over_the_limit_gets_413(limited_host):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(16):  # 4 MiB in 256 KiB chunks, no Content-Length
            yield b"y" * (256 * 1024)

    async with aiohttp.ClientSession() as client:
        url = f"http://127.0.0.1:{limited_host}/api/echo"
        async with client.post(url, data=chunks()) as response:
            assert response.status == 413
        async with client.post(url, data=b"z" * MIB) as response:  # exactly the limit is fine
            assert response.status == 200
            assert len(await response.read()) == MIB


def test_limit_setting_is_parsed_like_the_host():
    assert max_body_bytes_from({}) == DEFAULT_MAX_BODY_BYTES == 100 * MIB
    assert max_body_bytes_from({BODY_LIMIT_SETTING: " 4096 "}) == 4096
    for bad in ("-1", "0", "1e6", "lots"):
        with pytest.raises(SettingsError, match=BODY_LIMIT_SETTING):
            max_body_bytes_from({BODY_LIMIT_SETTING: bad})


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc to read peak RSS")
def test_concurrent_large_unsigned_posts_to_the_template_do_not_grow_memory(tmp_path):
    """The template as shipped (its sample settings) refuses five 60 MB unsigned posts cheaply."""
    settings = tmp_path / "local.settings.json"
    shutil.copyfile(ROOT / "local.settings.sample.json", settings)
    assert json.loads(settings.read_text())["Values"][BODY_LIMIT_SETTING] == str(MIB)
    env = {k: v for k, v in os.environ.items() if k != BODY_LIMIT_SETTING}
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost.functions", "--app-dir", str(ROOT), "--settings", str(settings)]
        + ["--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "listening on" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "the dev host exited"
        port = int(line.rsplit(":", 1)[1].split()[0])
        before = _peak_rss(process.pid)

        async def attack() -> list[tuple[int, int]]:
            return await asyncio.gather(
                *(
                    post_declaring(port, "/api/chat/message", 60 * MIB, send_at_most=60 * MIB)
                    for _ in range(5)
                )
            )

        results = asyncio.run(attack())
        growth = _peak_rss(process.pid) - before
        assert [status for status, _ in results] == [413] * 5
        assert growth < 32 * MIB, f"peak RSS grew by {growth / MIB:.0f} MiB"
    finally:
        process.terminate()
        process.wait(timeout=15)
