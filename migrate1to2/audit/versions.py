"""SDK version numbers and constraints: does a declaration send 1.0, 2.0, or cannot it be told? Pure.

A constraint becomes a range ``[low, high)`` of versions. It sends 1.0 when every
version it allows is below the SDK's first 2.0 release, 2.0 when none is; else it
cannot be told (``~> 5.0`` may resolve to either).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import NamedTuple

__all__ = ["ANDROID_2_0", "IOS_2_0", "Range", "Verdict", "cocoapods_range", "gradle_range", "judge", "parse"]

#: The first SDK releases that send 2.0 ("New events format", 2023-03-22).
ANDROID_2_0 = (5, 4, 0)
IOS_2_0 = (5, 3, 0)

Version = tuple[int, ...]
_NUMBER = re.compile(r"\d+(?:\.\d+)*")


class Verdict(str, Enum):
    """What a declared version says about the payloads the app sends."""

    V1 = "1.0"
    V2 = "2.0"
    UNKNOWN = "unknown"


class Range(NamedTuple):
    """Versions ``low <= v < high`` (``high_inclusive``: ``v <= high``); ``None`` is unbounded."""

    low: Version | None
    high: Version | None
    high_inclusive: bool = False


def parse(text: str) -> Version | None:
    """``"5.3.1"`` -> ``(5, 3, 1)``; a pre-release suffix is ignored; ``None`` if it does not start with a number."""
    match = _NUMBER.match(text.strip().lstrip("vV"))
    if not match:
        return None
    return tuple(int(part) for part in match.group().split("."))


def _pad(version: Version) -> Version:
    return version + (0,) * (3 - len(version)) if len(version) < 3 else version


def _bump(version: Version, index: int) -> Version:
    """The first version after every ``version[:index + 1].*``."""
    return (*version[:index], version[index] + 1)


def judge(allowed: Range | None, first_2_0: Version) -> Verdict:
    """Whether every version in ``allowed`` is before ``first_2_0`` (1.0), none is (2.0), or some are."""
    if allowed is None:
        return Verdict.UNKNOWN
    first = _pad(first_2_0)
    if allowed.high is not None:
        high = _pad(allowed.high)
        if high < first or (high == first and not allowed.high_inclusive):
            return Verdict.V1
    if allowed.low is not None and _pad(allowed.low) >= first:
        return Verdict.V2
    return Verdict.UNKNOWN


def _exact(version: Version) -> Range:
    return Range(version, version, high_inclusive=True)


def gradle_range(text: str) -> Range | None:
    """A Gradle/Maven version: ``5.3.1``, ``5.3.1!!``, ``5.3.+``, ``[5.0,5.4)``; ``None`` if it cannot be read."""
    text = text.strip().removesuffix("!!")
    interval = re.fullmatch(r"([\[(\]])\s*([^,]*?)\s*,\s*([^,]*?)\s*([\])\[])", text)
    if interval:
        low = parse(interval.group(2)) if interval.group(2) else None
        high = parse(interval.group(3)) if interval.group(3) else None
        return Range(low, high, high_inclusive=interval.group(4) == "]")
    if text.endswith("+"):
        prefix = parse(text.rstrip("+").rstrip("."))
        if prefix is None:
            return None
        return Range(prefix, _bump(prefix, len(prefix) - 1))
    version = parse(text)
    if version is None or not re.fullmatch(r"[vV]?\d+(?:\.\d+)*(?:[-.+][\w.+-]*)?", text):
        return None
    return _exact(version)


def _intersect(a: Range, b: Range) -> Range:
    low = max((v for v in (a.low, b.low) if v is not None), default=None, key=_pad)
    highs = [(h, inclusive) for h, inclusive in ((a.high, a.high_inclusive), (b.high, b.high_inclusive))
             if h is not None]
    if not highs:
        return Range(low, None)
    high, inclusive = min(highs, key=lambda item: (_pad(item[0]), item[1]))
    return Range(low, high, inclusive)


def cocoapods_range(requirements: list[str]) -> Range | None:
    """CocoaPods/RubyGems requirements (``'5.2.1'``, ``'~> 5.2'``, ``'>= 5.0', '< 5.3'``) as one range."""
    result = Range(None, None)
    for requirement in requirements:
        match = re.fullmatch(r"\s*(~>|>=|<=|>|<|=|!=)?\s*(\S+)\s*", requirement)
        version = parse(match.group(2)) if match else None
        if match is None or version is None:
            return None
        operator = match.group(1) or "="
        if operator == "=":
            bound = _exact(version)
        elif operator == "~>":
            bound = Range(version, _bump(version, max(0, len(version) - 2)))
        elif operator in (">=", ">"):
            bound = Range(version, None)
        elif operator == "<":
            bound = Range(None, version)
        elif operator == "<=":
            bound = Range(None, version, high_inclusive=True)
        else:  # != excludes one version: no bound
            continue
        result = _intersect(result, bound)
    return result
