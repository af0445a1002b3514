"""Console logging shared by ``python -m devhost`` and ``python -m devhost.functions``."""

from __future__ import annotations

import logging
import sys
import time


def configure_logging(level: str) -> None:
    """One line per record on stdout with a bracketed UTC timestamp, like ``func start``."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter("[%(asctime)s.%(msecs)03dZ] %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # The SDK's HTTP logging prints request URLs and headers; keep it quiet.
    logging.getLogger("azure").setLevel(logging.WARNING)
