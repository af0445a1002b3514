"""``host.json``: the one setting this dev host needs, ``extensions.http.routePrefix``.

The prefix defaults to ``api`` and may be empty. The app setting
``AzureFunctionsJobHost__extensions__http__routePrefix`` overrides the file, as on the real host.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

HOST_FILE = "host.json"
DEFAULT_ROUTE_PREFIX = "api"
ROUTE_PREFIX_SETTING = "AzureFunctionsJobHost__extensions__http__routePrefix"


class HostConfigError(ValueError):
    """``host.json`` exists but cannot be read."""


def read_route_prefix(app_dir: Path, environ: Mapping[str, str]) -> str:
    """Return the route prefix without surrounding slashes ("" means no prefix).

    Raises:
        HostConfigError: ``host.json`` is not valid JSON or the prefix is not a string.
    """
    if ROUTE_PREFIX_SETTING in environ:
        return environ[ROUTE_PREFIX_SETTING].strip("/")
    path = app_dir / HOST_FILE
    if not path.is_file():
        return DEFAULT_ROUTE_PREFIX
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HostConfigError(f"{path}: not valid JSON ({exc})") from exc
    http = (document.get("extensions") or {}).get("http") or {} if isinstance(document, dict) else {}
    prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX) if isinstance(http, dict) else DEFAULT_ROUTE_PREFIX
    if not isinstance(prefix, str):
        raise HostConfigError(f"{path}: extensions.http.routePrefix must be a string")
    return prefix.strip("/")
