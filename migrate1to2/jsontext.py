"""JSON text as bytes: the scanner (where a value ends, what kind it is, an object's members and an
array's elements), the UTF-8 check and the diagnosis of invalid JSON (why a text is not a JSON
object, with its line and column).

Pure functions on valid or invalid text; :mod:`migrate1to2.rawjson` (the mapping on bytes), the
envelope of ``--payload-path``, the readers (an array a block at a time) and the audit use them.

The scanner is :func:`scan_value`: it looks only at strings and brackets, so it finds where a value
ends in text that is not validated, and it resumes where it stopped when the text was cut (inside a
string too). :func:`value_end`, :func:`members` and :func:`elements` read valid text with it.
:data:`TOKEN` (strings and brackets) is its lexer, for those who look at text that may be cut or
broken (the audit's sniffing of a file's first bytes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

import msgspec
from msgspec import Raw

from .errors import InvalidJSONError, NotAnObjectError
from .version import not_an_object_error

__all__ = ["JSON_WS", "STRING", "TOKEN", "TOO_DEEP", "Scan", "check_utf8", "diagnose", "elements", "kind", "members",
           "scan_value", "skip_ws", "too_deep", "value_end"]

_ANY = msgspec.json.Decoder()
#: The bytes JSON allows between tokens.
JSON_WS = b" \t\r\n"

#: A JSON string, escapes included.
STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
#: What the scanner looks at: a string (closed: group 1 is its closing quote; or cut by the end of the
#: text, a last lone backslash included) or a bracket. Any byte may follow a backslash: nothing is validated.
TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:(")|\\?\Z)|[\[\]{}]', re.DOTALL)
#: The rest of a string from inside it: up to its closing quote, or to the end (before a lone last backslash).
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
#: What ends a scalar (a number, ``true``, ``false``, ``null``; or something invalid).
_SCALAR_END = re.compile(rb'[ \t\r\n,\[\]{}"]')
_WS = re.compile(rb"[ \t\r\n]*")
_OPENERS = frozenset(b'{["')
_BRACKETS_OPEN = frozenset(b"{[")
_MSGSPEC_POS = re.compile(r"\s*\(byte (\d+)\)$")
_SURROGATE = re.compile(r"(?<!\\)(?:\\\\)*(\\u([dD][89a-fA-F])[0-9a-fA-F]{2})")

_KINDS = {ord("{"): "an object", ord("["): "an array", ord('"'): "a string", ord("t"): "a boolean",
          ord("f"): "a boolean", ord("n"): "null"}


def kind(value: Raw | bytes | memoryview | int) -> str:
    """What a JSON value is ("an object", "an array", "a string", ...), told by its first byte (or that byte)."""
    first = value if isinstance(value, int) else memoryview(value)[0]
    return _KINDS.get(first, "a number")


class Scan(NamedTuple):
    """Where a scan of a value stopped."""

    #: Where the value ends, or -1: it goes on past the end of the text.
    end: int
    #: Where to scan on from once the text is longer (with ``depth`` and ``in_string``).
    resume: int
    #: Brackets open at ``resume``.
    depth: int
    #: Whether ``resume`` is inside a string.
    in_string: bool


def scan_value(text: bytes | bytearray, at: int, first: int, depth: int = 0, in_string: bool = False) -> Scan:
    """Find where the value whose first byte is ``first`` ends, scanning ``text`` from ``at``.

    ``at`` is where the value starts (``depth`` 0, not ``in_string``), or where a scan of a shorter text
    stopped (the :attr:`Scan.resume`, ``depth`` and ``in_string`` it gave). Only strings and brackets are
    looked at (a closing bracket of the other kind closes too): the text is not validated. A scalar ends
    at whitespace, a comma, a bracket or a quote; at the end of the text it may go on (-1).
    """
    if first not in _OPENERS:  # not { [ ": a scalar
        found = _SCALAR_END.search(text, at)
        return Scan(found.start(), 0, 0, False) if found else Scan(-1, len(text), 0, False)
    if in_string:
        at = _STRING_REST.match(text, at).end()  # type: ignore[union-attr]  # always matches
        if at >= len(text) or text[at] != 0x22:  # the string goes on (``at``: the end, or a last backslash)
            return Scan(-1, at, depth, True)
        at += 1
        if depth == 0:
            return Scan(at, at, 0, False)
    for token in TOKEN.finditer(text, at):
        char = text[token.start()]
        if char == 0x22:
            if token.group(1) is None:  # cut by the end of the text
                rest = _STRING_REST.match(text, token.start() + 1).end()  # type: ignore[union-attr]
                return Scan(-1, rest, depth, True)
            if depth == 0:
                return Scan(token.end(), token.end(), 0, False)
        elif char in _BRACKETS_OPEN:
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return Scan(token.end(), token.end(), depth, False)
    return Scan(-1, len(text), depth, False)


def value_end(text: bytes, pos: int) -> int:
    """Where the JSON value starting at ``pos`` of the valid text ``text`` ends (whitespace may follow)."""
    end = scan_value(text, pos, text[pos]).end
    return len(text) if end < 0 else end  # only a scalar ends with the text


def skip_ws(text: bytes, pos: int) -> int:
    """The offset of the first byte at or after ``pos`` that is not JSON whitespace."""
    return _WS.match(text, pos).end()  # type: ignore[union-attr]  # always matches


def members(text: bytes, start: int) -> Iterator[tuple[int, int, int, int]]:
    """``(key start, key end, value start, value end)`` of each member of the valid JSON object at ``start``
    (the key as written, quotes included), in order."""
    pos = skip_ws(text, start + 1)
    while text[pos] != 0x7D:  # }
        key = STRING.match(text, pos)
        assert key is not None
        value = skip_ws(text, skip_ws(text, key.end()) + 1)  # past the colon
        end = value_end(text, value)
        yield pos, key.end(), value, end
        pos = skip_ws(text, end)
        if text[pos] == 0x2C:  # ,
            pos = skip_ws(text, pos + 1)


def elements(text: bytes, start: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each element of the valid JSON array at ``start``, in order."""
    pos = skip_ws(text, start + 1)
    while text[pos] != 0x5D:  # ]
        end = value_end(text, pos)
        yield pos, end
        pos = skip_ws(text, end)
        if text[pos] == 0x2C:  # ,
            pos = skip_ws(text, pos + 1)


def check_utf8(data: bytes) -> None:
    """Raise :class:`InvalidJSONError` (with its position) when ``data`` is not UTF-8."""
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise diagnose(data) from None


#: How deeply values may nest: the decoder's (and Python's) recursion limit, about 1000 levels.
TOO_DEEP = "the record is nested too deeply (about 1000 levels of objects and arrays at most)"


def too_deep() -> InvalidJSONError:
    return InvalidJSONError(TOO_DEEP, 0, 1, 1)


def _position(data: bytes, byte_offset: int) -> tuple[int, int, int]:
    """(character offset, 1-based line, 1-based column) of a byte offset in ``data``."""
    prefix = data[:byte_offset].decode("utf-8", "replace")
    line_start = prefix.rfind("\n") + 1
    return len(prefix), prefix.count("\n") + 1, len(prefix) - line_start + 1


def _invalid(data: bytes, reason: str, byte_offset: int) -> InvalidJSONError:
    return InvalidJSONError(reason, *_position(data, byte_offset))


def diagnose(data: bytes) -> InvalidJSONError | NotAnObjectError:
    """Say precisely why ``data`` is not a JSON object: bad UTF-8, bad syntax (with position), or another value."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return _invalid(data, f"invalid UTF-8 (byte 0x{data[error.start]:02x}); the text must be UTF-8", error.start)
    if text.startswith("\ufeff"):
        return _invalid(data, "a byte order mark (BOM) starts the record; save the file as UTF-8 without BOM", 0)
    try:
        _ANY.decode(data)
    except RecursionError:
        return too_deep()
    except msgspec.DecodeError as error:
        message = str(error).removeprefix("JSON is malformed: ")
        found = _MSGSPEC_POS.search(message)
        lone = _lone_surrogate(text)
        if lone is not None and (not found or "surrogate" in message):
            offset = len(text[:lone].encode("utf-8"))
            return _invalid(data, f"unpaired surrogate escape {text[lone:lone + 6]} (not valid Unicode)", offset)
        if found:
            offset = int(found.group(1))
            message = message[: found.start()]
            if message == "trailing characters":
                offset -= 1  # msgspec points one byte past the first extra character
            if message == "invalid character" and offset < len(data):
                message = f"unexpected character {_show_char(data, offset)}"
            return _invalid(data, message, offset)
        return _invalid(data, "unexpected end of input: the JSON value is incomplete", len(data.rstrip(JSON_WS)))
    stripped = data.strip(JSON_WS)
    return not_an_object_error(kind(stripped))


def _lone_surrogate(text: str) -> int | None:
    """The offset of the first ``\\uD800``-``\\uDFFF`` escape that is not half of a pair, if any."""
    pending_high = -1
    for match in _SURROGATE.finditer(text):
        start = match.start(1)
        high = match.group(2).lower() < "dc"
        if pending_high >= 0:
            if high or start != pending_high + 6:
                return pending_high
            pending_high = -1
        elif high:
            pending_high = start
        else:
            return start
    return pending_high if pending_high >= 0 else None


def _show_char(data: bytes, offset: int) -> str:
    char = data[offset:offset + 4].decode("utf-8", "replace")[:1]
    return repr(char)
