"""Request-derived values reach logs only through ``shared.logsafe.log_safe``: no forged lines.

The contract, then the two places that log what a request chose: the core's refusal log (header
values) and the Functions dev host's access log (the path).
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from devhost.functions import create_app, running_host
from shared.logsafe import MAX_LOGGED_CHARS, log_safe
from tests.adapter import hub_app
from tests.adapter.conftest import invoker
from tests.devhost.conftest import APPS, isolated_process_state  # noqa: F401 - autouse fixture
from tests.upstream_requests import CONNECTION_STRING, HUB, OTHER_KEY, http_request

# Characters that end a line for some reader (logging handlers, editors, log viewers), drive a
# terminal, reorder text, or cannot even be encoded for output.
HOSTILE = [
    "\r",
    "\n",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x85",
    "\u2028",
    "\u2029",
    "\x1b",
    "\x00",
    "\x7f",
    "\u202e",
    "\udcff",
]


def _is_inert(text: str) -> bool:
    return text.isprintable() and len(text.splitlines()) <= 1


@pytest.mark.parametrize("char", HOSTILE)
def test_every_line_breaking_or_control_character_is_escaped(char: str) -> None:
    logged = log_safe(f"a{char}[2099-01-01] forged")
    assert _is_inert(logged)
    assert logged.startswith("a\\") and logged.endswith("[2099-01-01] forged")


def test_escapes_are_readable_and_unambiguous() -> None:
    assert log_safe("a\nb") == "a\\x0ab"
    assert log_safe("\x1b[31mred") == "\\x1b[31mred"
    assert log_safe("x\u2028y\x85z") == "x\\u2028y\\x85z"
    # A literal backslash is doubled, so text that *looks* escaped cannot pass for an escape.
    assert log_safe("a\\x0ab") == "a\\\\x0ab"
    assert log_safe("café 日本 ok") == "café 日本 ok"  # printable text is left alone


def test_long_values_are_cut_and_say_so() -> None:
    logged = log_safe("x" * 10_000)
    assert logged.startswith("x" * MAX_LOGGED_CHARS) and logged.endswith("...[10000 chars]")
    assert len(logged) < MAX_LOGGED_CHARS + 20
    assert log_safe("x" * MAX_LOGGED_CHARS) == "x" * MAX_LOGGED_CHARS


def test_core_refusal_log_escapes_header_values(caplog: pytest.LogCaptureFixture) -> None:
    invoke = invoker(hub_app.build({"WebPubSubConnectionString": CONNECTION_STRING}))
    forged = "1\x85[2099-01-01] INFO fake\u2028line\x1b[31m"
    request = http_request("connect", keys=(OTHER_KEY,), extra={"ce-id": forged})
    caplog.set_level(logging.INFO)
    assert invoke(f"{HUB}_connect", request).status_code == 401
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1
    assert _is_inert(refusals[0])
    assert "ce-id=1\\x85[2099-01-01] INFO fake\\u2028line\\x1b[31m" in refusals[0]


async def test_dev_host_access_log_keeps_the_path_encoded_and_escaped(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="devhost.functions")
    forged = "/api/%0a[2099-01-01]%20GET%20/api/admin%20200%201ms/%1b[31m%e2%80%a8"
    async with running_host(create_app(APPS / "basic")) as host:
        reader, writer = await asyncio.open_connection("127.0.0.1", host.port)
        request = f"GET {forged}?code=secret HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await reader.read()
        writer.close()
    access = [m for m in caplog.messages if m.startswith("GET ")]
    assert len(access) == 1 and access[0].startswith(f"GET {forged} 404 ")
    assert _is_inert(access[0])
    assert [m for m in caplog.messages if "2099" in m] == access  # no second, forged line
    assert "secret" not in caplog.text
