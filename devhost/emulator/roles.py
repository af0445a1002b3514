"""Client roles -> group permissions, with the wildcard group role patterns.

    grants(roles, "joinLeaveGroup", "room.a")  -> bool

Roles (protocol reference 8.5; Learn "Use wildcard group role patterns"):

* ``webpubsub.joinLeaveGroup`` / ``webpubsub.sendToGroup``: every group;
* ``webpubsub.joinLeaveGroup.<group>`` / ``webpubsub.sendToGroup.<group>``: that group, literally;
* ``webpubsub.joinLeaveGroups.<pattern>`` / ``webpubsub.sendToGroups.<pattern>``: the groups
  whose whole name matches ``<pattern>``, case-sensitively:

  ======  =======================================================
  ``?``   exactly one character except ``.``
  ``*``   zero or more characters except ``.``
  ``**``  zero or more characters, ``.`` included
  ``\\``   escapes ``\\``, ``*`` or ``?``
  ======  =======================================================

  At most five ``*`` (those of ``**`` included) per pattern. A pattern that breaks a rule
  (too many ``*``, a dangling or unknown escape) grants nothing.

The REST permission API takes group names only, never patterns: granting ``targetName=a.*``
grants the group literally named ``a.*`` (that is what the service does today).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

ROLE_PREFIX = "webpubsub."
MAX_PATTERN_STARS = 5
_ESCAPABLE = {"\\", "*", "?"}


# Pattern steps: a literal character, ONE (``?``), STAR (``*``) or ANY (``**``).
ONE, STAR, ANY = "?", "*", "**"
Step = tuple[str, str]  # (kind, literal character or "")


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> tuple[Step, ...] | None:
    """The steps of a group pattern, or ``None`` if the pattern is invalid."""
    if not pattern:
        return None
    steps: list[Step] = []
    stars = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1] not in _ESCAPABLE:
                return None
            steps.append(("lit", pattern[i + 1]))
            i += 2
        elif ch == "*":
            double = pattern.startswith("**", i)
            steps.append((ANY if double else STAR, ""))
            stars += 2 if double else 1
            i += 2 if double else 1
            if stars > MAX_PATTERN_STARS:
                return None
        else:
            steps.append((ONE, "") if ch == "?" else ("lit", ch))
            i += 1
    return tuple(steps)


def pattern_matches(steps: tuple[Step, ...], group: str) -> bool:
    """Match ``group`` against compiled steps in O(len(group) * len(steps)).

    A set of reachable step positions is carried along the name (no backtracking, so a
    pattern such as ``*a*a*a*a*a`` cannot make a 1024-character name expensive).
    """
    states = _closure({0}, steps)
    for ch in group:
        following: set[int] = set()
        for at in states:
            if at == len(steps):
                continue
            kind, literal = steps[at]
            if kind == ANY or (kind == STAR and ch != "."):
                following.add(at)  # a star consumes the character and stays
            elif (kind == ONE and ch != ".") or (kind == "lit" and ch == literal):
                following.add(at + 1)
        if not following:
            return False
        states = _closure(following, steps)
    return len(steps) in states


def _closure(states: set[int], steps: tuple[Step, ...]) -> set[int]:
    """Add the positions reachable by letting stars match nothing."""
    result = set(states)
    for at in sorted(states):
        while at < len(steps) and steps[at][0] in (STAR, ANY):
            at += 1
            result.add(at)
    return result


def grants(roles: Collection[str], permission: str, group: str | None) -> bool:
    """Whether ``roles`` allow ``permission`` (``joinLeaveGroup``/``sendToGroup``) on ``group``.

    ``group=None`` asks for the permission on every group (only the unsuffixed role).
    """
    general = ROLE_PREFIX + permission
    if general in roles:
        return True
    if group is None:
        return False
    if f"{general}.{group}" in roles:
        return True
    pattern_prefix = general + "s."
    for role in roles:
        if role.startswith(pattern_prefix):
            steps = compile_pattern(role[len(pattern_prefix) :])
            if steps is not None and pattern_matches(steps, group):
                return True
    return False
