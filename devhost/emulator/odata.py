"""The OData ``filter`` of the REST API (Learn: "OData filter syntax in Azure Web PubSub").

    parse_filter("length(userId) gt 3 and ('g1' in groups or startswith(userId, 'a'))")
        -> Filter; filter.matches(subject) -> bool

Grammar (keywords, identifiers and function names are case-insensitive, string values are
not; precedence from tight to loose: ``not``, comparisons and ``in``, ``and``, ``or``)::

    expr       := and ("or" and)*
    and        := compare ("and" compare)*
    compare    := operand [("eq"|"ne"|"gt"|"ge"|"lt"|"le") operand | "in" in_rhs]
    operand    := "not" operand | primary
    primary    := "(" expr ")" | function "(" expr ("," expr)* ")" | identifier | literal
    in_rhs     := "groups" | "(" expr ("," expr)* ")"
    literal    := 'text' (quote doubled to escape) | integer | true | false | null

As in the service, ``not`` binds tighter than a comparison: ``not length(userId) gt 5`` is
an error (``not`` of a number); write ``not (length(userId) gt 5)``.

Identifiers: ``userId``, ``connectionId`` (strings, null when absent), ``groups`` (the
connection's groups, a collection) and, like the official emulator, ``protocol``.
Functions: ``length`` (of a string or of ``groups``), ``tolower``, ``toupper``, ``trim``,
``substring(s, start[, length])``, ``concat``, ``indexof`` (-1 when absent), and the
predicates ``startswith``, ``endswith``, ``contains``.

Types are checked while parsing, so every problem is a ``FilterError`` (the REST layer
answers 400) and evaluation never raises. Null propagates through functions; a comparison
with null is false except ``eq``/``ne`` against null; only a true filter selects.

Why hand-written: the PyPI parser ``odata-query`` (0.10) was evaluated first. It parses
functions and integers, but refuses ``'g1' in groups`` — the most used Web PubSub form,
an ``in`` over a collection identifier — and costs ~150 ms to import (a PLY-style table
build) plus two dependencies, for a grammar this small.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32
MAX_INTEGER = 2**63 - 1

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<int>[+-]?\d+)|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_KEYWORDS = {"and", "or", "not", "in", *_COMPARE}


class FilterError(ValueError):
    """The filter is not valid; the message is safe to return."""


class FilterSubject(Protocol):
    """What a filter can look at (a connection satisfies it)."""

    @property
    def connection_id(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def protocol(self) -> str | None: ...
    @property
    def groups(self) -> Collection[str]: ...


class Kind(Enum):
    """Static type of an expression. ``NULL`` is the literal ``null`` (fits any scalar)."""

    STRING = "string"
    INT = "integer"
    BOOL = "boolean"
    NULL = "null"
    COLLECTION = "collection"


Evaluator = Callable[[FilterSubject], Any]


@dataclass(frozen=True, slots=True)
class _Expr:
    kind: Kind
    evaluate: Evaluator


_SCALARS = {
    "userid": lambda s: s.user_id,
    "connectionid": lambda s: s.connection_id,
    "protocol": lambda s: s.protocol,
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string" | "int" | "punct" | "word"
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"unexpected character at position {pos}")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            raw = raw[1:-1].replace("''", "'")
        tokens.append(_Token(kind, raw))
        pos = match.end()
    return tokens


# -- evaluation helpers (never raise) ------------------------------------------------------


def _ordered(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None or type(left) is not type(right):
        return False  # ordering against null is never true
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    return bool(left <= right)


def _substring(text: str | None, start: int | None, length: int | None = None) -> str | None:
    if text is None or start is None:
        return None
    start = max(start, 0)
    if length is None:
        return text[start:]
    return text[start : start + max(length, 0)]


def _null_safe(function: Callable[..., Any]) -> Callable[..., Any]:
    """Apply ``function`` unless an argument is null (OData null propagation)."""

    def apply(*args: Any) -> Any:
        return None if any(a is None for a in args) else function(*args)

    return apply


# name -> (argument kinds (STRING also takes NULL), result kind, implementation)
_FUNCTIONS: dict[str, tuple[tuple[Kind, ...], Kind, Callable[..., Any]]] = {
    "tolower": ((Kind.STRING,), Kind.STRING, _null_safe(str.lower)),
    "toupper": ((Kind.STRING,), Kind.STRING, _null_safe(str.upper)),
    "trim": ((Kind.STRING,), Kind.STRING, _null_safe(str.strip)),
    "concat": ((Kind.STRING, Kind.STRING), Kind.STRING, _null_safe(lambda a, b: a + b)),
    "indexof": ((Kind.STRING, Kind.STRING), Kind.INT, _null_safe(lambda a, b: a.find(b))),
    "startswith": ((Kind.STRING, Kind.STRING), Kind.BOOL, _null_safe(lambda a, b: a.startswith(b))),
    "endswith": ((Kind.STRING, Kind.STRING), Kind.BOOL, _null_safe(lambda a, b: a.endswith(b))),
    "contains": ((Kind.STRING, Kind.STRING), Kind.BOOL, _null_safe(lambda a, b: b in a)),
}


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._pos = 0
        self._depth = 0

    # -- token helpers -------------------------------------------------
    def _peek(self) -> _Token | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _peek_word(self, *words: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == "word" and token.text.lower() in words

    def _peek_punct(self, punct: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == "punct" and token.text == punct

    def _take(self) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterError("unexpected end of filter")
        self._pos += 1
        return token

    def _expect_punct(self, punct: str) -> None:
        if not self._peek_punct(punct):
            raise FilterError(f"expected '{punct}'")
        self._pos += 1

    def _nested(self) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise FilterError("filter nested too deeply")

    # -- grammar -------------------------------------------------------
    def parse(self) -> Evaluator:
        if not self._tokens:
            raise FilterError("empty filter")
        expr = self._or()
        token = self._peek()
        if token is not None:
            raise FilterError(f"unexpected '{token.text}'")
        _require(expr, Kind.BOOL, "the filter")
        evaluate = expr.evaluate
        return lambda s: evaluate(s) is True

    def _or(self) -> _Expr:
        parts = [self._and()]
        while self._peek_word("or"):
            self._pos += 1
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        for part in parts:
            _require(part, Kind.BOOL, "'or'")
        evaluators = [p.evaluate for p in parts]
        return _Expr(Kind.BOOL, lambda s: _any3(e(s) for e in evaluators))

    def _and(self) -> _Expr:
        parts = [self._compare()]
        while self._peek_word("and"):
            self._pos += 1
            parts.append(self._compare())
        if len(parts) == 1:
            return parts[0]
        for part in parts:
            _require(part, Kind.BOOL, "'and'")
        evaluators = [p.evaluate for p in parts]
        return _Expr(Kind.BOOL, lambda s: _all3(e(s) for e in evaluators))

    def _compare(self) -> _Expr:
        left = self._operand()
        token = self._peek()
        if token is None or token.kind != "word":
            return left
        op = token.text.lower()
        if op in _COMPARE:
            self._pos += 1
            return _comparison(op, left, self._operand())
        if op == "in":
            self._pos += 1
            return self._in(left)
        return left

    def _in(self, left: _Expr) -> _Expr:
        _require_scalar(left, "'in'")
        if self._peek_word("groups"):
            self._pos += 1
            return _membership(left)
        self._expect_punct("(")
        self._nested()
        options = [self._or()]
        while self._peek_punct(","):
            self._pos += 1
            options.append(self._or())
        self._expect_punct(")")
        self._depth -= 1
        if len(options) == 1 and options[0].kind is Kind.COLLECTION:
            return _membership(left)  # "x in (groups)"
        for option in options:
            _require_scalar(option, "'in'")
            _require_comparable(left, option, "'in'")
        evaluate = left.evaluate
        evaluators = [o.evaluate for o in options]
        return _Expr(Kind.BOOL, lambda s: evaluate(s) in [e(s) for e in evaluators])

    def _operand(self) -> _Expr:
        if self._peek_word("not"):
            self._pos += 1
            self._nested()
            inner = self._operand()
            self._depth -= 1
            _require(inner, Kind.BOOL, "'not'")
            evaluate = inner.evaluate
            return _Expr(Kind.BOOL, lambda s: _not3(evaluate(s)))
        return self._primary()

    def _primary(self) -> _Expr:
        token = self._take()
        if token.kind == "punct" and token.text == "(":
            self._nested()
            inner = self._or()
            self._expect_punct(")")
            self._depth -= 1
            return inner
        if token.kind == "string":
            text = token.text
            return _Expr(Kind.STRING, lambda s: text)
        if token.kind == "int":
            number = int(token.text)
            if abs(number) > MAX_INTEGER:
                raise FilterError("integer literal out of range")
            return _Expr(Kind.INT, lambda s: number)
        if token.kind != "word":
            raise FilterError(f"expected a value, got '{token.text}'")
        word = token.text.lower()
        if self._peek_punct("("):
            return self._call(word, token.text)
        if word == "null":
            return _Expr(Kind.NULL, lambda s: None)
        if word in ("true", "false"):
            flag = word == "true"
            return _Expr(Kind.BOOL, lambda s: flag)
        if word in _SCALARS:
            return _Expr(Kind.STRING, _SCALARS[word])
        if word == "groups":
            return _Expr(Kind.COLLECTION, lambda s: s.groups)
        if word in _KEYWORDS:
            raise FilterError(f"expected a value, got '{token.text}'")
        raise FilterError(f"unknown identifier '{token.text}'")

    def _call(self, name: str, spelled: str) -> _Expr:
        self._expect_punct("(")
        self._nested()
        args = [self._or()]
        while self._peek_punct(","):
            self._pos += 1
            args.append(self._or())
        self._expect_punct(")")
        self._depth -= 1
        if name == "length":
            return _length(args)
        if name == "substring":
            return _substring_call(args)
        if name not in _FUNCTIONS:
            raise FilterError(f"unknown function '{spelled}'")
        kinds, result, implementation = _FUNCTIONS[name]
        if len(args) != len(kinds):
            raise FilterError(f"{name}() takes {len(kinds)} argument(s)")
        for arg, kind in zip(args, kinds, strict=True):
            _require(arg, kind, f"{name}()")
        evaluators = [a.evaluate for a in args]
        return _Expr(result, lambda s: implementation(*(e(s) for e in evaluators)))


# -- typed building blocks ---------------------------------------------------------------------


def _require(expr: _Expr, kind: Kind, where: str) -> None:
    if expr.kind is kind or (expr.kind is Kind.NULL and kind is Kind.STRING):
        return
    raise FilterError(f"{where} expects a {kind.value}, got a {expr.kind.value}")


def _require_scalar(expr: _Expr, where: str) -> None:
    if expr.kind is Kind.COLLECTION:
        raise FilterError(f"{where} cannot take a collection here")


def _require_comparable(left: _Expr, right: _Expr, where: str) -> None:
    if Kind.NULL in (left.kind, right.kind) or left.kind is right.kind:
        return
    raise FilterError(f"{where} cannot compare a {left.kind.value} with a {right.kind.value}")


def _comparison(op: str, left: _Expr, right: _Expr) -> _Expr:
    where = f"'{op}'"
    _require_scalar(left, where)
    _require_scalar(right, where)
    _require_comparable(left, right, where)
    if op not in ("eq", "ne") and Kind.BOOL in (left.kind, right.kind):
        raise FilterError(f"{where} cannot order booleans")
    evaluate_left, evaluate_right = left.evaluate, right.evaluate
    return _Expr(Kind.BOOL, lambda s: _ordered(op, evaluate_left(s), evaluate_right(s)))


def _membership(left: _Expr) -> _Expr:
    _require(left, Kind.STRING, "'in groups'")
    evaluate = left.evaluate
    return _Expr(Kind.BOOL, lambda s: evaluate(s) in s.groups)


def _length(args: list[_Expr]) -> _Expr:
    if len(args) != 1:
        raise FilterError("length() takes 1 argument")
    (arg,) = args
    if arg.kind is Kind.COLLECTION:
        evaluate = arg.evaluate
        return _Expr(Kind.INT, lambda s: len(evaluate(s)))
    _require(arg, Kind.STRING, "length()")
    evaluate = arg.evaluate
    return _Expr(Kind.INT, lambda s: None if (value := evaluate(s)) is None else len(value))


def _substring_call(args: list[_Expr]) -> _Expr:
    if len(args) not in (2, 3):
        raise FilterError("substring() takes 2 or 3 arguments")
    _require(args[0], Kind.STRING, "substring()")
    for arg in args[1:]:
        _require(arg, Kind.INT, "substring()")
    evaluators = [a.evaluate for a in args]
    return _Expr(Kind.STRING, lambda s: _substring(*(e(s) for e in evaluators)))


# Three-valued logic: None (from null) is neither true nor false.
def _not3(value: Any) -> bool | None:
    return None if value is None else not value


def _all3(values: Any) -> bool | None:
    result: bool | None = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _any3(values: Any) -> bool | None:
    result: bool | None = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter; ``matches`` never raises."""

    text: str
    _predicate: Callable[[FilterSubject], bool]

    def matches(self, subject: FilterSubject) -> bool:
        return self._predicate(subject)


def parse_filter(text: str) -> Filter:
    """Parse an OData filter string.

    Raises:
        FilterError: invalid syntax or types, or longer than ``MAX_FILTER_LENGTH``.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError("filter too long")
    return Filter(text, _Parser(_tokenize(text)).parse())
