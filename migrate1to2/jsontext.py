"""JSON text as bytes: the scanner (where a value ends, what kind it is), the UTF-8 check and the
diagnosis of invalid JSON (why a text is not a JSON object, with its line and column).

Pure functions on valid or invalid text; :mod:`migrate1to2.rawjson` (the mapping on bytes), the
envelope of ``--payload-path``, the readers and the audit use them.
"""

from __future__ import annotations

import re

import msgspec
from msgspec import Raw

from .errors import InvalidJSONError, NotAnObjectError
from .version import not_an_object_error

__all__ = ["JSON_WS", "STRING", "TOO_DEEP", "check_utf8", "diagnose", "kind", "too_deep", "value_end"]

_ANY = msgspec.json.Decoder()
#: The bytes JSON allows between tokens.
JSON_WS = b" \t\r\n"

#: A JSON string, escapes included.
STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NESTED_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_SCALAR = re.compile(rb"[^,}\]\s]+")
_MSGSPEC_POS = re.compile(r"\s*\(byte (\d+)\)$")
_SURROGATE = re.compile(r"(?<!\\)(?:\\\\)*(\\u([dD][89a-fA-F])[0-9a-fA-F]{2})")

_KINDS = {ord("{"): "an object", ord("["): "an array", ord('"'): "a string", ord("t"): "a boolean",
          ord("f"): "a boolean", ord("n"): "null"}


def kind(value: Raw | bytes | memoryview | int) -> str:
    """What a JSON value is ("an object", "an array", "a string", ...), told by its first byte (or that byte)."""
    first = value if isinstance(value, int) else memoryview(value)[0]
    return _KINDS.get(first, "a number")


def value_end(text: bytes, pos: int) -> int:
    """Where the JSON value starting at ``pos`` of the valid text ``text`` ends (whitespace may follow)."""
    first = text[pos]
    if first == 0x22:  # "
        match = STRING.match(text, pos)
        assert match is not None
        return match.end()
    if first in (0x7B, 0x5B):  # { [
        depth = 0
        for token in _NESTED_TOKEN.finditer(text, pos):
            char = text[token.start()]
            if char in (0x7B, 0x5B):
                depth += 1
            elif char in (0x7D, 0x5D):
                depth -= 1
                if depth == 0:
                    return token.end()
        raise AssertionError("unbalanced JSON after validation")
    match = _SCALAR.match(text, pos)
    assert match is not None
    return match.end()


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
