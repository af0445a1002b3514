"""Route templates: compile ``api/items/{id:int}/{*rest}`` once, then match request paths.

Follows the ASP.NET Core template syntax the Functions host uses:

* literal text matches case-insensitively;
* ``{name}`` is one non-empty path segment, ``{name:c1:c2(arg)}`` adds constraints (see
  ``constraints.py``), ``{name?}`` is optional and ``{name=value}`` has a default; both only
  in the last segment;
* ``{*name}`` (or ``{**name}``) is a catch-all over the rest of the path, in the last segment;
* a segment may mix text and parameters (``{file}.{ext}``); ``{{`` and ``}}`` are literal braces.

Paths are matched per decoded segment, so ``%2F`` inside a value does not split it. A request path
with one trailing slash matches the same route as without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from urllib.parse import unquote

from .constraints import Predicate, RouteConstraintError, build_constraint

_NAME = re.compile(r"\*{0,2}[A-Za-z_][A-Za-z0-9_]*")
_CONSTRAINT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RouteTemplateError(ValueError):
    """The route template cannot be parsed; the host would refuse to index the function."""


class SegmentKind(IntEnum):
    """Kind of a template segment; the value is its ASP.NET inbound precedence digit (lower wins)."""

    LITERAL = 1
    COMPLEX = 2
    CONSTRAINED = 3
    PARAMETER = 4
    CATCH_ALL = 5


@dataclass(frozen=True)
class Parameter:
    """One ``{...}`` in a template."""

    name: str
    constraints: tuple[Predicate, ...] = ()
    optional: bool = False
    default: str | None = None
    catch_all: bool = False

    def accepts(self, value: str) -> bool:
        return all(check(value) for check in self.constraints)


@dataclass(frozen=True)
class Segment:
    """A path segment of a template: literal text and parameters, in order."""

    parts: tuple[str | Parameter, ...]
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    @property
    def kind(self) -> SegmentKind:
        params = [part for part in self.parts if isinstance(part, Parameter)]
        if not params:
            return SegmentKind.LITERAL
        if len(self.parts) > 1:
            return SegmentKind.COMPLEX
        (param,) = params
        if param.catch_all:
            return SegmentKind.CATCH_ALL
        return SegmentKind.CONSTRAINED if param.constraints else SegmentKind.PARAMETER

    @property
    def parameter(self) -> Parameter | None:
        """The parameter when the segment is exactly one parameter."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Parameter):
            return self.parts[0]
        return None


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled template. ``match`` returns route values, or None when the path does not match."""

    template: str
    segments: tuple[Segment, ...]

    @property
    def precedence(self) -> tuple[int, ...]:
        """Sort key: more specific templates first, as the host orders its routes."""
        return tuple(segment.kind for segment in self.segments)

    def match(self, path: str) -> dict[str, str] | None:
        """Match a raw (still percent-encoded) URL path such as ``/api/items/42``."""
        return self.match_segments(split_path(path))

    def match_segments(self, values: list[str]) -> dict[str, str] | None:
        route_values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            param = segment.parameter
            if param is not None and param.catch_all:
                rest = "/".join(values[index:])
                if rest and not param.accepts(rest):
                    return None
                if rest:
                    route_values[param.name] = rest
                return route_values
            if index >= len(values):
                # Only a trailing optional/defaulted parameter may be missing.
                if param is None or not (param.optional or param.default is not None):
                    return None
                if param.default is not None:
                    route_values[param.name] = param.default
                continue
            if not _match_segment(segment, values[index], route_values):
                return None
        return route_values if len(values) <= len(self.segments) else None


def split_path(path: str) -> list[str]:
    """Split a raw path into decoded segments, ignoring the leading and one trailing slash."""
    trimmed = path[1:] if path.startswith("/") else path
    if trimmed.endswith("/"):
        trimmed = trimmed[:-1]
    if not trimmed:
        return []
    return [unquote(piece) for piece in trimmed.split("/")]


def _match_segment(segment: Segment, value: str, route_values: dict[str, str]) -> bool:
    param = segment.parameter
    if segment.kind is SegmentKind.LITERAL:
        return value.casefold() == "".join(str(part) for part in segment.parts).casefold()
    if param is not None:
        if not value or not param.accepts(value):
            return False
        route_values[param.name] = value
        return True
    assert segment.pattern is not None
    found = segment.pattern.fullmatch(value)
    if found is None:
        return False
    params = [part for part in segment.parts if isinstance(part, Parameter)]
    captured = dict(zip((p.name for p in params), found.groups(), strict=True))
    if not all(p.accepts(captured[p.name]) for p in params):
        return False
    route_values.update(captured)
    return True


def compile_route(template: str) -> RouteTemplate:
    """Parse a route template (without leading slash) into a ``RouteTemplate``.

    Raises:
        RouteTemplateError: malformed braces, duplicate names, misplaced optional or catch-all
            parameters, or a bad constraint.
    """
    text = template.strip("/")
    segments = tuple(_parse_segment(piece, template) for piece in _split_template(text)) if text else ()
    seen: set[str] = set()
    for index, segment in enumerate(segments):
        is_last = index == len(segments) - 1
        for part in segment.parts:
            if not isinstance(part, Parameter):
                continue
            if part.name.lower() in seen:
                raise RouteTemplateError(f"{template!r}: parameter {part.name!r} appears twice")
            seen.add(part.name.lower())
            relaxed = part.catch_all or part.optional or part.default is not None
            if relaxed and (not is_last or segment.parameter is None):
                raise RouteTemplateError(
                    f"{template!r}: optional, defaulted and catch-all parameters"
                    " must be the whole last segment"
                )
    return RouteTemplate(template=template, segments=segments)


def _split_template(text: str) -> list[str]:
    # Split on "/" outside braces, so a regex constraint may contain a slash.
    pieces: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif char == "/" and depth == 0:
            pieces.append(text[start:index])
            start = index + 1
    pieces.append(text[start:])
    return pieces


def _parse_segment(piece: str, template: str) -> Segment:
    if piece == "":
        raise RouteTemplateError(f"{template!r}: empty path segment")
    parts: list[str | Parameter] = []
    literal: list[str] = []
    index = 0
    while index < len(piece):
        pair = piece[index : index + 2]
        if pair in ("{{", "}}"):
            literal.append(pair[0])
            index += 2
        elif piece[index] == "{":
            body, index = _read_parameter(piece, index + 1, template)
            if literal:
                parts.append("".join(literal))
                literal = []
            if parts and isinstance(parts[-1], Parameter):
                raise RouteTemplateError(f"{template!r}: two parameters need literal text between them")
            parts.append(_parse_parameter(body, template))
        elif piece[index] == "}":
            raise RouteTemplateError(f"{template!r}: unmatched '}}'")
        else:
            literal.append(piece[index])
            index += 1
    if literal:
        parts.append("".join(literal))
    pattern = None
    if len(parts) > 1 and any(isinstance(part, Parameter) for part in parts):
        # Mixed text and parameters. ASP.NET matches these right to left, so the last parameter
        # takes the least: "a.b.c" against "{name}.{ext}" gives name="a.b", ext="c". Greedy
        # groups from the left give the same split.
        pattern = re.compile(
            "".join("(.+)" if isinstance(p, Parameter) else re.escape(p) for p in parts), re.IGNORECASE
        )
    return Segment(parts=tuple(parts), pattern=pattern)


def _read_parameter(piece: str, index: int, template: str) -> tuple[str, int]:
    # Returns the text inside the braces (with "{{"/"}}" unescaped) and the index after "}".
    body: list[str] = []
    while index < len(piece):
        pair = piece[index : index + 2]
        if pair in ("{{", "}}"):
            body.append(pair[0])
            index += 2
        elif piece[index] == "}":
            return "".join(body), index + 1
        else:
            body.append(piece[index])
            index += 1
    raise RouteTemplateError(f"{template!r}: unmatched '{{'")


def _parse_parameter(body: str, template: str) -> Parameter:
    found = _NAME.match(body)
    if found is None:
        raise RouteTemplateError(f"{template!r}: bad parameter {{{body}}}")
    stars = len(found.group()) - len(found.group().lstrip("*"))
    name = found.group().lstrip("*")
    rest = body[found.end() :]
    constraints: list[Predicate] = []
    while rest.startswith(":"):
        match = _CONSTRAINT_NAME.match(rest, 1)
        if match is None:
            raise RouteTemplateError(f"{template!r}: bad constraint in {{{body}}}")
        args, rest = _read_arguments(rest[match.end() :], template)
        try:
            constraints.append(build_constraint(match.group(), args))
        except RouteConstraintError as exc:
            raise RouteTemplateError(f"{template!r}: {exc}") from exc
    optional = rest.startswith("?")
    rest = rest[1:] if optional else rest
    default = None
    if rest.startswith("="):
        default, rest = rest[1:], ""
    if rest:
        raise RouteTemplateError(f"{template!r}: unexpected {rest!r} in {{{body}}}")
    if stars and (optional or default is not None):
        raise RouteTemplateError(f"{template!r}: a catch-all parameter cannot be optional or defaulted")
    return Parameter(
        name=name, constraints=tuple(constraints), optional=optional, default=default, catch_all=bool(stars)
    )


def _read_arguments(rest: str, template: str) -> tuple[str | None, str]:
    # "(args)" ends at the ")" that balances the opening one, so regex groups such as
    # regex(^(a|b)$) survive; a backslash escapes the next character.
    if not rest.startswith("("):
        return None, rest
    depth, index = 0, 0
    while index < len(rest):
        char = rest[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return rest[1:index], rest[index + 1 :]
        index += 1
    raise RouteTemplateError(f"{template!r}: unclosed '(' in constraint")
