"""The route table: every HTTP function under the route prefix, most specific template first.

A request goes to the first entry whose template matches its path and whose methods include its
method. When none does, the host answers 404, also when only the method is wrong (no 405).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .discovery import HttpFunction
from .routes import RouteTemplate, RouteTemplateError, compile_route, split_path


@dataclass(frozen=True)
class RouteEntry:
    """One function and its compiled template (prefix included)."""

    function: HttpFunction
    template: RouteTemplate

    @property
    def path(self) -> str:
        """The template as shown to users, e.g. ``/api/items/{id:int}``."""
        return "/" + self.template.template.strip("/")


@dataclass(frozen=True)
class RouteMatch:
    function: HttpFunction
    route_params: dict[str, str]


class RouteTable:
    """Ordered routes. Build it with ``RouteTable.build``."""

    def __init__(self, entries: Iterable[RouteEntry]) -> None:
        # Stable sort: equally specific templates keep registration order.
        self.entries: tuple[RouteEntry, ...] = tuple(sorted(entries, key=lambda e: e.template.precedence))

    @classmethod
    def build(cls, functions: Iterable[HttpFunction], route_prefix: str) -> RouteTable:
        """Compile each function's route under ``route_prefix``.

        Raises:
            RouteTemplateError: a route does not parse; the message names the function.
        """
        entries = []
        for function in functions:
            template = "/".join(part for part in (route_prefix.strip("/"), function.route.strip("/")) if part)
            try:
                entries.append(RouteEntry(function, compile_route(template)))
            except RouteTemplateError as exc:
                raise RouteTemplateError(f"function {function.name!r}: {exc}") from exc
        return cls(entries)

    def resolve(self, method: str, path: str) -> RouteMatch | None:
        """Find the function for ``method`` and the raw URL ``path`` (no query string)."""
        segments = split_path(path)
        for entry in self.entries:
            methods = entry.function.methods
            if methods is not None and method.upper() not in methods:
                continue
            route_params = entry.template.match_segments(segments)
            if route_params is not None:
                return RouteMatch(entry.function, route_params)
        return None
