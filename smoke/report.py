"""What a smoke step ends with, and how it is printed: one line per step, the diagnosis under a failure.

A step passes by returning (an optional detail), fails by raising ``StepFailed`` (with the
``Diagnosis`` that names the likely cause and the fix), or is skipped by raising ``StepSkipped``.
Every printed text goes through ``redact``: client access URLs carry tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

NAME_WIDTH = 38
INDENT = " " * 6
_SECRETS = re.compile(r"((?:access_token|token|sig)=)[^&\s'\"]+|(Bearer\s+)\S+", re.IGNORECASE)


class Outcome(Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class Diagnosis:
    """The likely cause of a failure and what to do about it, one sentence each."""

    cause: str
    fix: str


class StepFailed(Exception):
    """A step found a problem: ``detail`` says what was seen, ``diagnosis`` why and what to do."""

    def __init__(self, detail: str, diagnosis: Diagnosis | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.diagnosis = diagnosis


class StepSkipped(Exception):
    """A step could not run (nothing to check); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StepResult:
    name: str
    outcome: Outcome
    detail: str = ""
    seconds: float | None = None  # None: the step did not run
    diagnosis: Diagnosis | None = None


def redact(text: str) -> str:
    """Hide token values (``access_token=…``, ``Bearer …``) in text about to be printed."""
    return _SECRETS.sub(lambda m: (m.group(1) or m.group(2)) + "<redacted>", text)


def one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def format_result(result: StepResult) -> list[str]:
    """``PASS  name  detail (0.12 s)``, plus ``likely cause:``/``fix:`` lines under a diagnosed failure."""
    timing = f" ({result.seconds:.2f} s)" if result.seconds is not None else ""
    detail = one_line(redact(result.detail))
    lines = [f"{result.outcome.value}  {result.name:<{NAME_WIDTH}} {detail}{timing}".rstrip()]
    if result.diagnosis is not None:
        lines.append(f"{INDENT}likely cause: {redact(result.diagnosis.cause)}")
        lines.append(f"{INDENT}fix: {redact(result.diagnosis.fix)}")
    return lines


def format_verdict(results: list[StepResult], seconds: float) -> str:
    counts = {outcome: sum(r.outcome is outcome for r in results) for outcome in Outcome}
    parts = [f"{counts[Outcome.FAIL]} failed"] if counts[Outcome.FAIL] else []
    parts.append(f"{counts[Outcome.PASS]} passed")
    if counts[Outcome.SKIP]:
        parts.append(f"{counts[Outcome.SKIP]} skipped")
    verdict = "FAIL" if counts[Outcome.FAIL] else "PASS"
    return f"Smoke test {verdict}: {', '.join(parts)} in {seconds:.1f} s"
