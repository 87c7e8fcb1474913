"""Payloads inside envelopes: archives of logged requests wrap the body, e.g. ``{"ts":..., "body": {...}}``.

:func:`convert_at` converts the payload found at a JSON Pointer (RFC 6901) and leaves every
other byte of the record as it was. A payload stored as a JSON string (``"body": "{\\"event_name\\"...}"``)
is converted inside the string; the string is then written back with canonical escapes, its
payload's values keeping their exact text.
"""

from __future__ import annotations

import re

import msgspec

from .errors import ConversionError, DuplicateKeyError, InvalidJSONError, NotAnObjectError, json_path
from .jsontext import JSON_WS, check_utf8, diagnose, elements, kind, members, skip_ws, value_end
from .rawjson import JsonResult, convert_json
from .version import Version

__all__ = ["convert_at", "parse_pointer"]

_INDEX = re.compile(r"0|[1-9][0-9]*\Z")


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """The reference tokens of a JSON Pointer: ``/body`` -> ``("body",)``; ``~1`` is ``/``, ``~0`` is ``~``."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON Pointer starts with '/' (got {pointer!r}), e.g. /body")
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/"))


def _locate(data: bytes, pointer: tuple[str, ...]) -> tuple[int, int, str]:
    """The span of the value ``pointer`` designates in the valid JSON text ``data``, and its JSON path."""
    start = skip_ws(data, 0)
    end = value_end(data, start)
    keys: list[str | int] = []
    for token in pointer:
        here = json_path(*keys)
        first = data[start]
        if first == 0x7B:
            found = [(s, e) for key_start, key_end, s, e in members(data, start)
                     if msgspec.json.decode(data[key_start:key_end]) == token]
            keys.append(token)
            if not found:
                raise ConversionError(f"no payload here: the object at {here} has no member `{token}` "
                                      "(check --payload-path)", json_path(*keys))
            if len(found) > 1:
                raise DuplicateKeyError(f"duplicate key `{token}`: the payload to convert is ambiguous",
                                        json_path(*keys))
            start, end = found[0]
        elif first == 0x5B and _INDEX.match(token):
            keys.append(int(token))
            spans = list(elements(data, start))
            if int(token) >= len(spans):
                raise ConversionError(f"no payload here: the array at {here} has {len(spans)} elements "
                                      "(check --payload-path)", json_path(*keys))
            start, end = spans[int(token)]
        else:
            raise ConversionError(f"no payload here: {here} is {kind(first)}, which has no `{token}` "
                                  "(check --payload-path)", here)
    return start, end, json_path(*keys)


def _prefixed(error: ConversionError, path: str) -> ConversionError:
    error.path = path + error.path[1:]
    return error


def convert_at(data: bytes, pointer: tuple[str, ...], target: Version, *, utf8_checked: bool = False) -> JsonResult:
    """Convert the payload at ``pointer`` in the JSON text ``data``; every other byte stays as it was.

    Errors name the payload's keys with their full path (``$.body.properties.event_name``).
    """
    if not pointer:
        return convert_json(data, target, utf8_checked=utf8_checked)
    if not utf8_checked:
        check_utf8(data)
    try:
        msgspec.json.decode(data, type=msgspec.Raw)
    except (msgspec.DecodeError, RecursionError):
        raise diagnose(data) from None
    start, end, path = _locate(data, pointer)
    payload = data[start:end]
    try:
        if payload[:1] == b'"':
            inner: str = msgspec.json.decode(payload)
            try:
                result = convert_json(inner, target)
            except InvalidJSONError as error:
                raise ConversionError(f"the payload is a string that is not valid JSON: {error.reason} "
                                      f"(line {error.lineno}, column {error.colno} of the string)", path) from None
            replacement = msgspec.json.encode(result.output.decode("utf-8"))
        else:
            result = convert_json(payload, target, utf8_checked=True)
            replacement = result.output
    except NotAnObjectError as error:
        raise _prefixed(error, path) from None
    except ConversionError as error:
        if error.path == path:
            raise
        raise _prefixed(error, path) from None
    whole = data.strip(JSON_WS)
    if not result.converted:
        return JsonResult(whole, False)
    lead = len(data) - len(data.lstrip(JSON_WS))
    return JsonResult(whole[: start - lead] + replacement + whole[end - lead:], True)
