"""Azurite, Microsoft's Azure Storage emulator, as a child process: the chat history's table store.

Only Azurite's table service runs (``azurite-table`` from the npm package ``azurite``,
installed by ``scripts/dev``/``scripts/test`` into ``devhost/azurite/node_modules``). It
binds 127.0.0.1, keeps its data in ``location`` (``python -m devhost``: ``.azurite/`` in the
app directory, git-ignored, so history survives a restart) and dies with its parent.

Azurite's account and key are the public, documented development values
(``UseDevelopmentStorage=true``), not secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import shutil
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("devhost.storage")

PACKAGE_DIR = Path(__file__).resolve().parent / "azurite"
DEFAULT_TABLE_PORT = 10002  # Azurite's own default: what UseDevelopmentStorage=true points at
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT = 30.0
_READY = "successfully started"


class AzuriteError(RuntimeError):
    """Azurite is not installed, or did not start."""


def azurite_command() -> Path:
    """The ``azurite-table`` executable: the project's npm install, else one on ``PATH``."""
    local = PACKAGE_DIR / "node_modules" / ".bin" / "azurite-table"
    if local.exists():
        return local
    found = shutil.which("azurite-table")
    if found:
        return Path(found)
    raise AzuriteError(
        "Azurite is not installed: run scripts/dev (or `npm ci --prefix devhost/azurite`), "
        "or start with --no-storage (no chat history)"
    )


def table_connection_string(host: str, port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://{host}:{port}/{ACCOUNT};"
    )


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: stop Azurite (SIGINT: it saves its data) if this process dies without stopping it.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


@dataclass
class RunningAzurite:
    process: asyncio.subprocess.Process
    host: str
    port: int
    _drain: asyncio.Task[None]

    @property
    def connection_string(self) -> str:
        return table_connection_string(self.host, self.port)

    async def stop(self) -> None:
        """SIGINT: the signal on which Azurite writes its data to disk before it exits."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._drain


async def _drain(stream: asyncio.StreamReader) -> None:
    while line := await stream.readline():
        logger.debug("azurite: %s", line.decode(errors="replace").rstrip())


async def _start_once(command: Path, host: str, port: int, location: Path | None) -> RunningAzurite | None:
    """Start Azurite on ``port``; ``None`` if it exited before it was ready (port taken)."""
    args = [str(command), "--tableHost", host, "--tablePort", str(port), "--silent", "--disableTelemetry"]
    args += ["--skipApiVersionCheck", "--disableProductStyleUrl"]
    if location is None:
        args.append("--inMemoryPersistence")
    else:
        location.mkdir(parents=True, exist_ok=True)
        args += ["--location", str(location)]
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        start_new_session=True,  # a terminal's Ctrl-C reaches us; we stop Azurite once, cleanly
    )
    assert process.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while line := await process.stdout.readline():
                text = line.decode(errors="replace").rstrip()
                output.append(text)
                if _READY in text:
                    drain = asyncio.create_task(_drain(process.stdout))
                    return RunningAzurite(process, host, port, drain)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AzuriteError(f"Azurite did not start within {START_TIMEOUT:.0f} s") from None
    await process.wait()
    text = "\n".join(output[-5:])
    if "EADDRINUSE" in text:
        return None
    raise AzuriteError(f"Azurite exited with {process.returncode}: {text}")


async def start_azurite(host: str, port: int, location: Path | None) -> RunningAzurite:
    """Start Azurite's table service on ``host:port`` (0: a free port), data in ``location``.

    Raises:
        AzuriteError: not installed, or it did not start.
        OSError: the requested (non-zero) port is taken.
    """
    command = azurite_command()
    for _ in range(5 if port == 0 else 1):
        running = await _start_once(command, host, port or _free_port(host), location)
        if running is not None:
            logger.info(
                "Azurite table service on http://%s:%s (data: %s)", host, running.port, location or "memory"
            )
            return running
    raise OSError(f"port {port} for Azurite is taken" if port else "no free port for Azurite")
