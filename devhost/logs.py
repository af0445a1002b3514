"""Console logging shared by ``python -m devhost`` and ``python -m devhost.functions``."""

from __future__ import annotations

import logging
import sys
import time

from aiohttp.http_exceptions import HttpProcessingError

from shared.logsafe import log_safe


class OneLineBadRequests(logging.Filter):
    """aiohttp logs each request it cannot parse (a control character in a header, an overlong
    line...) with a traceback. Anyone can send those, so one escaped line each is enough: the
    client has its 400, and a flood of them does not bury the console in tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            reason = (str(error.message).strip().splitlines() or [""])[0]
            record.msg, record.args = "%s: %s %s", (record.getMessage(), error.code, log_safe(reason))
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


BAD_REQUEST_FILTER = OneLineBadRequests()


def configure_logging(level: str) -> None:
    """One line per record on stdout with a bracketed UTC timestamp, like ``func start``."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter("[%(asctime)s.%(msecs)03dZ] %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # The SDK's HTTP logging prints request URLs and headers; keep it quiet.
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").addFilter(BAD_REQUEST_FILTER)
