"""The OData ``filter`` subset of the REST API (protocol reference 9).

    parse_filter("userId ne 'u1' and ('g1' in groups or connectionId in ('a', 'b'))")
        -> Filter; filter.matches(subject) -> bool

Grammar (keywords and identifiers are case-insensitive, string values are not)::

    expr    := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" expr ")" | compare
    compare := value ("eq"|"ne"|"gt"|"ge"|"lt"|"le") value
             | value "in" ("groups" | "(" value ("," value)* ")")
    value   := identifier | 'string' (quote doubled to escape) | null | true | false

Identifiers: ``userId``, ``connectionId``, ``protocol`` (strings or null) and the
collection ``groups`` (only on the right of ``in``). Anything else raises
``FilterError`` (the REST layer answers 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32

_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))")
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_SCALARS = {"userid": "user_id", "connectionid": "connection_id", "protocol": "protocol"}


class FilterError(ValueError):
    """The filter is not in the supported subset; the message is safe to return."""


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


Value = Callable[[FilterSubject], "str | bool | None"]
Predicate = Callable[[FilterSubject], bool]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string" | "punct" | "word"
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


def _ordered(op: str, left: str | bool | None, right: str | bool | None) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if not isinstance(left, str) or not isinstance(right, str):
        return False  # ordering against null/bool is never true
    if op == "gt":
        return left > right
    if op == "ge":
        return left >= right
    if op == "lt":
        return left < right
    return left <= right


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

    # -- grammar -------------------------------------------------------
    def parse(self) -> Predicate:
        if not self._tokens:
            raise FilterError("empty filter")
        predicate = self._or()
        if self._peek() is not None:
            raise FilterError(f"unexpected '{self._peek().text}'")  # type: ignore[union-attr]
        return predicate

    def _or(self) -> Predicate:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise FilterError("filter nested too deeply")
        parts = [self._and()]
        while self._peek_word("or"):
            self._pos += 1
            parts.append(self._and())
        self._depth -= 1
        if len(parts) == 1:
            return parts[0]
        return lambda s: any(p(s) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._peek_word("and"):
            self._pos += 1
            parts.append(self._unary())
        if len(parts) == 1:
            return parts[0]
        return lambda s: all(p(s) for p in parts)

    def _unary(self) -> Predicate:
        if self._peek_word("not"):
            self._pos += 1
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise FilterError("filter nested too deeply")
            inner = self._unary()
            self._depth -= 1
            return lambda s: not inner(s)
        if self._peek_punct("("):
            self._pos += 1
            inner = self._or()
            self._expect_punct(")")
            return inner
        return self._compare()

    def _compare(self) -> Predicate:
        left = self._value()
        token = self._take()
        op = token.text.lower()
        if token.kind == "word" and op in _COMPARE:
            right = self._value()
            return lambda s: _ordered(op, left(s), right(s))
        if token.kind == "word" and op == "in":
            if self._peek_word("groups"):
                self._pos += 1
                return lambda s: left(s) in s.groups
            self._expect_punct("(")
            options = [self._value()]
            while self._peek_punct(","):
                self._pos += 1
                options.append(self._value())
            self._expect_punct(")")
            return lambda s: left(s) in {o(s) for o in options}
        raise FilterError(f"expected an operator, got '{token.text}'")

    def _value(self) -> Value:
        token = self._take()
        if token.kind == "string":
            text = token.text
            return lambda s: text
        if token.kind != "word":
            raise FilterError(f"expected a value, got '{token.text}'")
        word = token.text.lower()
        if word == "null":
            return lambda s: None
        if word in ("true", "false"):
            flag = word == "true"
            return lambda s: flag
        if word in _SCALARS:
            attribute = _SCALARS[word]
            return lambda s: getattr(s, attribute)
        if word == "groups":
            raise FilterError("'groups' is only allowed after 'in'")
        raise FilterError(f"unknown identifier '{token.text}'")


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter; ``matches`` never raises."""

    text: str
    _predicate: Predicate

    def matches(self, subject: FilterSubject) -> bool:
        return bool(self._predicate(subject))


def parse_filter(text: str) -> Filter:
    """Parse an OData filter string.

    Raises:
        FilterError: syntax outside the supported subset, or longer than ``MAX_FILTER_LENGTH``.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError("filter too long")
    return Filter(text, _Parser(_tokenize(text)).parse())
