"""The exception hierarchy: one base class, structured fields, readable messages.

Locations are layered. The core knows the JSON path of the offending key
(``$.properties.event_name``); the JSON-text functions add the position in the
text; the I/O layer adds ``file:line[:col]``.
"""

from __future__ import annotations

import re

__all__ = [
    "AmbiguousVersionError",
    "CollisionError",
    "ConversionError",
    "DuplicateKeyError",
    "InputError",
    "InvalidJSONError",
    "MigrateError",
    "NotAnObjectError",
    "json_path",
    "os_reason",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def json_path(*keys: str | int) -> str:
    """Format a JSONPath such as ``$.properties.event_name`` or ``$["a b"][0]``."""
    parts = ["$"]
    for key in keys:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _IDENTIFIER.match(key):
            parts.append(f".{key}")
        else:
            escaped = key.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'["{escaped}"]')
    return "".join(parts)


def os_reason(error: OSError) -> str:
    """What went wrong, as messages here say it: ``no such file or directory``."""
    return (error.strerror or str(error)).lower()


class MigrateError(Exception):
    """Base class of every error this package raises on purpose."""


class ConversionError(MigrateError, ValueError):
    """A payload that cannot be converted exactly.

    ``path`` is the JSONPath of the offending key, ``reason`` says what is wrong
    and what to do about it.
    """

    def __init__(self, reason: str, path: str = "$") -> None:
        super().__init__(reason, path)
        self.reason = reason
        self.path = path

    def __str__(self) -> str:
        return f"{self.reason} @ {self.path}"


class CollisionError(ConversionError):
    """Moving a key would overwrite another one, or make the version unreadable."""


class DuplicateKeyError(ConversionError):
    """A key occurs twice in an object that the conversion restructures."""


class AmbiguousVersionError(ConversionError):
    """The payload is neither 1.0 nor 2.0 (both containers, or a container that is not an object)."""


class NotAnObjectError(ConversionError):
    """The JSON text is valid but its top-level value is not an object."""


class InvalidJSONError(MigrateError, ValueError):
    """The text is not valid JSON (or not UTF-8).

    ``pos`` is the 0-based character offset in the text, ``lineno``/``colno``
    are 1-based, like :class:`json.JSONDecodeError`.
    """

    def __init__(self, reason: str, pos: int, lineno: int, colno: int) -> None:
        super().__init__(reason, pos, lineno, colno)
        self.reason = reason
        self.pos = pos
        self.lineno = lineno
        self.colno = colno

    def __str__(self) -> str:
        return f"invalid JSON: {self.reason} (line {self.lineno}, column {self.colno})"


class InputError(MigrateError):
    """An input or output that cannot be read or written (missing file, corrupt archive, ...)."""
