"""Is an ``event_timestamp`` epoch milliseconds? Pure."""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

__all__ = ["TimestampProblem", "is_template", "timestamp_problem"]

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?", re.I)
_NUMERIC = re.compile(r"[+-]?\d+(?:\.\d+)?")
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}|\$\{[^{}]*\}")

# Epoch milliseconds from 1973-03-03 to 5138: anything below is seconds (or too
# small to be a date), anything above micro- or nanoseconds.
_MS_LOW, _MS_HIGH = 10**11, 10**14
_SECONDS_LOW = 10**8
_MICRO_HIGH = 10**17


class TimestampProblem(NamedTuple):
    """Why a value is not epoch milliseconds: a short category (stable, for fingerprints) and a description."""

    category: str
    description: str


def is_template(value: Any) -> bool:
    """True for a string that is only a template placeholder (``{{timestamp}}``, ``${ts}``): not judged."""
    return isinstance(value, str) and _TEMPLATE.fullmatch(value.strip()) is not None


def _integer_problem(number: int) -> TimestampProblem | None:
    if number < 0:
        return TimestampProblem("negative", "a negative number")
    if number < _SECONDS_LOW:
        return TimestampProblem("too-small", "too small to be epoch milliseconds")
    if number < _MS_LOW:
        return TimestampProblem("seconds", "epoch seconds, not milliseconds")
    if number < _MS_HIGH:
        return None
    if number < _MICRO_HIGH:
        return TimestampProblem("microseconds", "epoch microseconds, not milliseconds")
    return TimestampProblem("nanoseconds", "epoch nanoseconds, not milliseconds")


def timestamp_problem(value: Any) -> TimestampProblem | None:
    """``None`` when ``value`` is epoch milliseconds (an integral number in range) or a template placeholder."""
    if isinstance(value, bool):
        return TimestampProblem("boolean", "a boolean, not a number")
    if isinstance(value, int):
        return _integer_problem(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return TimestampProblem("not-finite", "not a finite number")
        if value.is_integer():
            return _integer_problem(int(value))
        if abs(value) < _MS_LOW:
            return TimestampProblem("seconds-fraction", "epoch seconds with a fraction, not milliseconds")
        return TimestampProblem("fraction", "a number with a fraction, not whole milliseconds")
    if isinstance(value, str):
        text = value.strip()
        if is_template(text):
            return None
        if _NUMERIC.fullmatch(text):
            digits = len(text.lstrip("+-").split(".")[0])
            unit = "seconds" if digits <= 11 else "milliseconds" if digits <= 14 else "a number"
            return TimestampProblem("numeric-string", f"a numeric string ({unit} as text), not a number")
        if _ISO.fullmatch(text):
            return TimestampProblem("iso-string", "an ISO-8601 string, not epoch milliseconds")
        return TimestampProblem("string", "a string that is not a timestamp")
    if value is None:
        return TimestampProblem("null", "null")
    if isinstance(value, list):
        return TimestampProblem("array", "an array, not a number")
    return TimestampProblem("object", "an object, not a number")
