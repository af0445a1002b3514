"""Convert between aiohttp and ``azure.functions`` HTTP objects, as the host and worker do.

Request side (what the host sends the worker):

* headers: one entry per name, repeated headers joined with "," (ASP.NET's ``StringValues``);
  the names are lower-cased by ``func.HttpRequest`` itself;
* query: the same joining; parameters with an empty value are left out, as the host does for
  workers that do not ask for nullable values;
* the body is the raw bytes, unchanged.

Response side (what the worker returns):

* ``func.HttpResponse``: status, every header pair (so repeated ``Set-Cookie`` survives), and a
  ``Content-Type`` built from ``mimetype``/``charset`` when the function did not set one;
* ``str``: 200 with ``text/plain; charset=utf-8``;
* anything else, ``None`` included, is an error: the worker cannot encode it and the host
  answers 500.
"""

from __future__ import annotations

from collections.abc import Iterable

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict

# aiohttp computes these from the body it sends; copying the function's values could contradict it.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


class UnsupportedResult(TypeError):
    """The function returned something the HTTP output binding cannot encode."""


def join_values(pairs: Iterable[tuple[str, str]], *, skip_empty: bool = False) -> dict[str, str]:
    """Group name/value pairs case-insensitively, joining repeated values with ","."""
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in pairs:
        if skip_empty and value == "":
            continue
        key = name.lower()
        names.setdefault(key, name)
        grouped.setdefault(key, []).append(value)
    return {names[key]: ",".join(values) for key, values in grouped.items()}


def build_request(request: web.Request, body: bytes, route_params: dict[str, str]) -> func.HttpRequest:
    """Build the ``func.HttpRequest`` a function receives for an aiohttp request."""
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=join_values(request.headers.items()),
        params=join_values(request.query.items(), skip_empty=True),
        route_params=route_params,
        body=body,
    )


def build_response(result: object) -> web.Response:
    """Turn a function's result into an aiohttp response.

    Raises:
        UnsupportedResult: ``result`` is neither a ``func.HttpResponse`` nor a ``str``.
    """
    if isinstance(result, str):
        return web.Response(status=200, text=result, content_type="text/plain", charset="utf-8")
    if not isinstance(result, func.HttpResponse):
        raise UnsupportedResult(
            f"the HTTP output cannot encode {type(result).__name__}; return a func.HttpResponse or a str"
        )
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in result.headers.items():
        if name.lower() not in _FRAMING_HEADERS:
            headers.add(name, value)
    if "Content-Type" not in headers:
        mimetype = result.mimetype
        is_text = mimetype.startswith("text/")
        headers["Content-Type"] = f"{mimetype}; charset={result.charset}" if is_text else mimetype
    return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
