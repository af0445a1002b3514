"""``host.json``: the settings this dev host reads from ``extensions.http``.

* ``routePrefix`` defaults to ``api`` and may be empty;
* ``maxConcurrentRequests`` caps how many invocations run at once (excess requests wait);
  absent, or -1 as on the real host, means no limit.

The app settings ``AzureFunctionsJobHost__extensions__http__<name>`` override the file, as on the
real host.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

HOST_FILE = "host.json"
DEFAULT_ROUTE_PREFIX = "api"
ROUTE_PREFIX_SETTING = "AzureFunctionsJobHost__extensions__http__routePrefix"
MAX_CONCURRENT_SETTING = "AzureFunctionsJobHost__extensions__http__maxConcurrentRequests"


class HostConfigError(ValueError):
    """``host.json`` exists but cannot be read."""


def read_route_prefix(app_dir: Path, environ: Mapping[str, str]) -> str:
    """Return the route prefix without surrounding slashes ("" means no prefix).

    Raises:
        HostConfigError: ``host.json`` is not valid JSON or the prefix is not a string.
    """
    if ROUTE_PREFIX_SETTING in environ:
        return environ[ROUTE_PREFIX_SETTING].strip("/")
    http = _http_section(app_dir)
    prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX)
    if not isinstance(prefix, str):
        raise HostConfigError(f"{app_dir / HOST_FILE}: extensions.http.routePrefix must be a string")
    return prefix.strip("/")


def read_max_concurrent_requests(app_dir: Path, environ: Mapping[str, str]) -> int | None:
    """Return the per-instance invocation limit, or None for no limit.

    Raises:
        HostConfigError: the value is not an integer, or is 0 or below -1.
    """
    where = MAX_CONCURRENT_SETTING
    value: object = environ.get(MAX_CONCURRENT_SETTING)
    if value is None:
        where = f"{app_dir / HOST_FILE}: extensions.http.maxConcurrentRequests"
        value = _http_section(app_dir).get("maxConcurrentRequests")
    if value is None:
        return None
    return parse_concurrency(value, where)


def parse_concurrency(value: object, where: str) -> int | None:
    """``-1`` (the host's "unbounded") -> None; a positive integer -> itself."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value == 0 or value < -1:
        raise HostConfigError(f"{where} must be a positive integer or -1 (no limit), got {value!r}")
    return None if value == -1 else value


def _http_section(app_dir: Path) -> dict[str, object]:
    path = app_dir / HOST_FILE
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HostConfigError(f"{path}: not valid JSON ({exc})") from exc
    http = (document.get("extensions") or {}).get("http") or {} if isinstance(document, dict) else {}
    return http if isinstance(http, dict) else {}
