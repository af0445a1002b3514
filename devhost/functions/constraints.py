"""Inline route constraints such as ``{id:int}`` or ``{code:regex(^[a-z]{{3}}$)}``.

The Functions host routes with ASP.NET Core's template routing, so a constraint is a predicate on
one route value: it never transforms the value, and a value that fails it makes the route not
match (the request then falls through to other routes, and finally to 404).

Differences from ASP.NET Core, kept small on purpose:

* ``datetime`` accepts ISO 8601 only (.NET also accepts culture-invariant forms like ``1/2/2024``).
* ``double``/``float``/``decimal`` use a regex of the invariant number format, not .NET's parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

Predicate = Callable[[str], bool]

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
# .NET's NumberStyles.Integer allows surrounding whitespace and one leading sign.
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
# NumberStyles.Float | AllowThousands: digits with optional thousands commas, a fraction, an exponent.
_FLOAT = re.compile(r"\s*[+-]?(?=[\d,]*\.?\d)[\d,]*(\.\d*)?([eE][+-]?\d+)?\s*")
# NumberStyles.Number: like float but without an exponent.
_DECIMAL = re.compile(r"\s*[+-]?(?=[\d,]*\.?\d)[\d,]*(\.\d*)?\s*")
_ALPHA = re.compile(r"[a-zA-Z]+")
_HEX_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Guid.TryParse formats D, N, B and P.
_GUID = re.compile(rf"\s*(?:{_HEX_GUID}|[0-9a-fA-F]{{32}}|\{{{_HEX_GUID}\}}|\({_HEX_GUID}\))\s*")


class RouteConstraintError(ValueError):
    """A route template names an unknown constraint or gives it bad arguments."""


def _integer_in(bounds: tuple[int, int]) -> Predicate:
    low, high = bounds
    return lambda value: bool(_INTEGER.fullmatch(value)) and low <= int(value) <= high


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _is_bool(value: str) -> bool:
    return value.strip().lower() in ("true", "false")


# Constraints without arguments, by lower-case name.
_SIMPLE: dict[str, Predicate] = {
    "int": _integer_in(_INT32),
    "long": _integer_in(_INT64),
    "bool": _is_bool,
    "guid": lambda value: bool(_GUID.fullmatch(value)),
    "alpha": lambda value: bool(_ALPHA.fullmatch(value)),
    "double": lambda value: bool(_FLOAT.fullmatch(value)),
    "float": lambda value: bool(_FLOAT.fullmatch(value)),
    "decimal": lambda value: bool(_DECIMAL.fullmatch(value)),
    "datetime": _is_datetime,
    "required": lambda value: value != "",
}


def _ints(name: str, args: str, count: int) -> list[int]:
    parts = [part.strip() for part in args.split(",")]
    if len(parts) != count or not all(_INTEGER.fullmatch(part) for part in parts):
        raise RouteConstraintError(f"constraint {name!r} expects {count} integer argument(s), got {args!r}")
    return [int(part) for part in parts]


def _with_arguments(name: str, args: str) -> Predicate:
    if name == "regex":
        # ASP.NET Core compiles with IgnoreCase | CultureInvariant and does not anchor the pattern:
        # authors write ^...$ themselves when they want a full match.
        try:
            pattern = re.compile(args, re.IGNORECASE)
        except re.error as exc:
            raise RouteConstraintError(f"invalid regex {args!r}: {exc}") from exc
        return lambda value: pattern.search(value) is not None
    if name == "minlength":
        (low,) = _ints(name, args, 1)
        return lambda value: len(value) >= low
    if name == "maxlength":
        (high,) = _ints(name, args, 1)
        return lambda value: len(value) <= high
    if name == "length":
        bounds = _ints(name, args, 2) if "," in args else _ints(name, args, 1) * 2
        return lambda value: bounds[0] <= len(value) <= bounds[1]
    if name in ("min", "max", "range"):
        limits = _ints(name, args, 2 if name == "range" else 1)
        low = limits[0] if name != "max" else _INT64[0]
        high = limits[-1] if name != "min" else _INT64[1]
        return _integer_in((low, high))
    raise RouteConstraintError(f"unknown route constraint {name!r}")


def build_constraint(name: str, args: str | None) -> Predicate:
    """Return the predicate for one inline constraint.

    Args:
        name: the constraint name as written (matched case-insensitively), e.g. ``int``.
        args: the text between the parentheses, or None when there were none.

    Raises:
        RouteConstraintError: unknown name, missing or malformed arguments.
    """
    key = name.lower()
    if args is None:
        if key in _SIMPLE:
            return _SIMPLE[key]
        raise RouteConstraintError(f"unknown route constraint {name!r} (or it needs arguments)")
    return _with_arguments(key, args)
