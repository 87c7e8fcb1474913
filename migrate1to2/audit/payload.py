"""Auditing payloads: one decoded event (:func:`audit_payload`) or one record's JSON text (:func:`audit_record`).

Pure: no I/O. Findings come back at line 1 of the record (invalid JSON at its own
line and column inside the record); the caller moves them to where the record is.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeGuard

import msgspec
from msgspec import Raw

from ..convert.records import list_of_raw
from ..errors import AmbiguousVersionError, ConversionError, DuplicateKeyError, InvalidJSONError
from ..errors import json_path as _json_path
from ..jsontext import JSON_WS, TOO_DEEP, diagnose, members, skip_ws
from ..rawjson import convert_json
from ..transform import upgrade
from ..version import Version, detect_version, json_type
from .masking import redact
from .model import Finding
from .rules import finding
from .timestamps import is_template, timestamp_problem

__all__ = ["MAX_EVENT_BYTES", "EventAudit", "Problem", "audit_payload", "audit_record", "check_event",
           "oversized_record"]

#: The 2.0 per-event limit: 32 KB serialised.
MAX_EVENT_BYTES = 32 * 1024

_DECODER = msgspec.json.Decoder()
_MEMBERS = msgspec.json.Decoder(dict[str, Raw])
_encode = msgspec.json.Encoder().encode
_PAYLOAD = "<payload>"


@functools.lru_cache(maxsize=1024)
def json_path(*keys: str) -> str:
    """:func:`migrate1to2.errors.json_path`, remembered: the same few paths come back on every record."""
    return _json_path(*keys)


def _is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, (dict, Mapping))


class EventAudit(NamedTuple):
    """What one record says: its version key (``1.0``, ``2.0``, ``either``, ``invalid``), its name, its findings."""

    version: str
    event_name: str | None
    findings: list[Finding]


def _show(value: Any, limit: int = 40) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return redact(text if len(text) <= limit else text[: limit - 1] + "…")


def _check_event_name(event: Mapping[str, Any], found: list[Finding]) -> None:
    if "event_name" not in event:
        if "event" not in event:  # a legacy `event` is reported as a legacy shape
            found.append(finding("missing-event-name", "no `event_name`: every event needs one at the root",
                                 match="$.event_name missing", json_path="$"))
        return
    name = event["event_name"]
    if not isinstance(name, str):
        found.append(finding("missing-event-name", f"`event_name` is {json_type(name)}, not a string",
                             match=f"$.event_name {json_type(name)}", json_path="$.event_name"))
    elif not name.strip():
        found.append(finding("missing-event-name", "`event_name` is empty", match="$.event_name empty",
                             json_path="$.event_name"))


def _legacy(found: list[Finding], path: str, message: str) -> None:
    found.append(finding("legacy-shape", message, match=path, json_path=path))


def _check_legacy(event: Mapping[str, Any], found: list[Finding]) -> None:
    if "event" in event and "event_name" not in event:
        _legacy(found, "$.event", "`event` instead of `event_name` (pre-1.0 draft or 1.0-era web container)")
    if "eventId" in event:
        _legacy(found, "$.eventId", "camelCase `eventId` at the root (pre-1.0 draft or 1.0-era web container); "
                                    "the field is `event_id`, under `context` in 2.0")
    if "eventTimestamp" in event:
        _legacy(found, "$.eventTimestamp", "camelCase `eventTimestamp` (pre-1.0 draft); "
                                           "the field is `event_timestamp`, in epoch milliseconds")
    version = event.get("version")
    if not isinstance(version, bool) and version in (1, "1", "1.0"):
        _legacy(found, "$.version", f"`version: {_show(version)}` at the root (1.0-era web container)")
    for container in ("", "context"):
        holder = event.get(container) if container else event
        device = holder.get("device") if _is_object(holder) else None
        if not _is_object(device):
            continue
        keys = (container, "device") if container else ("device",)
        if "userAgent" in device:
            _legacy(found, json_path(*keys, "userAgent"),
                    "`device.userAgent` (pre-1.0 draft name; the field is `device.user_agent`)")
        if "cookies" in device:
            _legacy(found, json_path(*keys, "cookies"),
                    "`device.cookies` (pre-1.0 draft name; the field is `device.cookie`)")


def _check_user(event: Mapping[str, Any], found: list[Finding]) -> None:
    places: list[tuple[tuple[str, ...], Mapping[str, Any]]] = [((), event)]
    properties = event.get("properties")
    if _is_object(properties):
        places.append((("properties",), properties))
    for keys, holder in places:
        if "user" not in holder:
            continue
        problem = user_finding(keys, holder["user"])
        if problem is not None:
            found.append(problem)


class Problem(NamedTuple):
    """A finding not built yet: its rule and the text its fingerprint is made of, and how to build it (a
    caller that will only count it, past the listing limit, need not write its message)."""

    rule: str
    match: str
    build: Callable[[], Finding]


def user_problem(keys: tuple[str, ...], user: Any) -> Problem | None:
    """The ``user-not-object`` finding, not built yet, for the value ``user`` at ``keys`` + ``user``."""
    if _is_object(user) or is_template(user):
        return None
    where = json_path(*keys, "user")
    match = f"{where} {json_type(user)}"

    def build() -> Finding:
        if user == "{waiting_for_consent}":
            message = '`user` is the string "{waiting_for_consent}" (sent before consent), not an object'
        else:
            message = f"`user` is {json_type(user)} ({_show(user)}), not an object"
        return finding("user-not-object", message, match=match, json_path=where)

    return Problem("user-not-object", match, build)


def user_finding(keys: tuple[str, ...], user: Any) -> Finding | None:
    """The ``user-not-object`` finding for the value ``user`` found at ``keys`` + ``user``, or ``None``."""
    problem = user_problem(keys, user)
    return problem.build() if problem is not None else None


def _check_timestamps(event: Mapping[str, Any], found: list[Finding]) -> None:
    places: list[tuple[tuple[str, ...], Mapping[str, Any]]] = [((), event)]
    context = event.get("context")
    if _is_object(context):
        places.append((("context",), context))
    for keys, holder in places:
        if "event_timestamp" not in holder:
            continue
        problem = timestamp_finding(keys, holder["event_timestamp"])
        if problem is not None:
            found.append(problem)


def timestamp_problem_at(keys: tuple[str, ...], value: Any) -> Problem | None:
    """The ``timestamp-not-ms`` finding, not built yet, for ``value`` at ``keys`` + ``event_timestamp``."""
    problem = timestamp_problem(value)
    if problem is None:
        return None
    where = json_path(*keys, "event_timestamp")
    match = f"{where} {problem.category}"

    def build() -> Finding:
        return finding("timestamp-not-ms",
                       f"`event_timestamp` {_show(value)} is {problem.description}; send epoch milliseconds",
                       match=match, json_path=where)

    return Problem("timestamp-not-ms", match, build)


def timestamp_finding(keys: tuple[str, ...], value: Any) -> Finding | None:
    """The ``timestamp-not-ms`` finding for ``value`` found at ``keys`` + ``event_timestamp``, or ``None``."""
    problem = timestamp_problem_at(keys, value)
    return problem.build() if problem is not None else None


def _conversion_finding(error: ConversionError) -> Finding:
    rule = "duplicate-key" if isinstance(error, DuplicateKeyError) else "collision"
    return finding(rule, f"{error.reason} @ {error.path}", match=error.path, json_path=error.path)


def _size_finding(size: int) -> Finding:
    return finding("too-large", f"the event is {size} bytes serialised; 2.0 accepts at most "
                                f"{MAX_EVENT_BYTES} bytes (32 KB) per event", match="size", json_path="$")


def _event_name(event: Mapping[str, Any]) -> str | None:
    for key in ("event_name", "event"):
        name = event.get(key)
        if isinstance(name, str):
            return name
    return None


def check_event(event: Any, *, collisions: bool = True, size: int | None = None) -> EventAudit:
    """Audit one decoded payload: its version key (``1.0``, ``2.0``, ``either``, ``invalid``), its name and
    its findings (not located: ``json_path`` says where). ``collisions=False`` leaves the collision check to
    the caller; ``size`` is the serialised size when the caller knows it (else it is measured).

    An event nested too deeply to be serialised is an ``invalid-json`` finding, not a crash.
    """
    try:
        return _check_event(event, collisions=collisions, size=size)
    except RecursionError:
        name = _event_name(event) if _is_object(event) else None
        return EventAudit("invalid", name, [finding("invalid-json", f"invalid JSON: {TOO_DEEP}",
                                                    match="nested too deeply", json_path="$")])


def _check_event(event: Any, *, collisions: bool, size: int | None) -> EventAudit:
    if not _is_object(event):
        message = f"the record is {json_type(event)}, not a JSON object"
        return EventAudit("invalid", None, [finding("not-an-object", message, match=json_type(event), json_path="$")])
    found: list[Finding] = []
    try:
        version = detect_version(event).value
    except AmbiguousVersionError as error:
        version = "invalid"
        found.append(finding("ambiguous-version", error.reason, match=error.path, json_path=error.path))
    _check_event_name(event, found)
    _check_legacy(event, found)
    _check_user(event, found)
    _check_timestamps(event, found)
    if collisions and version == Version.V1.value:
        try:
            upgrade(event)
        except ConversionError as error:
            found.append(_conversion_finding(error))
    if size is None:
        try:
            size = len(_encode(event))
        except (TypeError, ValueError, OverflowError):
            size = 0
    if size > MAX_EVENT_BYTES:
        found.append(_size_finding(size))
    return EventAudit(version, _event_name(event), found)


def audit_payload(event: Mapping[str, Any]) -> list[Finding]:
    """Audit one payload (a decoded JSON object) and return its findings.

    Checks: the version can be told, `event_name` is there, legacy shapes, `user`
    is an object, `event_timestamp` is epoch milliseconds, no collision blocks the
    conversion to 2.0, and the event is at most 32 KB serialised. The findings are
    located at ``<payload>:1``; ``json_path`` says where in the payload. A clean
    event of either version has no finding: :func:`check_event` also tells its version.
    """
    return [f.at(_PAYLOAD, 1) for f in check_event(event).findings]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode(data: bytes) -> tuple[Any, InvalidJSONError | None]:
    """The decoded record, or the error that says where it is not valid JSON."""
    try:
        return _DECODER.decode(data), None
    except (msgspec.DecodeError, ValueError):
        pass
    except RecursionError:
        return None, InvalidJSONError("nested too deeply to be read", 0, 1, 1)
    try:  # valid JSON that msgspec refuses (numbers beyond a double, such as 1e400)
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant), None
    except (ValueError, RecursionError):
        pass
    try:
        error = diagnose(data)
    except RecursionError:
        return None, InvalidJSONError("nested too deeply to be read", 0, 1, 1)
    if isinstance(error, InvalidJSONError):
        return None, error
    return None, InvalidJSONError(str(error), 0, 1, 1)


def _raw_collisions(data: bytes) -> list[Finding]:
    try:
        convert_json(data, Version.V2)
    except AmbiguousVersionError:
        return []
    except ConversionError as error:
        return [_conversion_finding(error)]
    except (InvalidJSONError, RecursionError):
        return []
    return []


_SEGMENT = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\["((?:\\.|[^"\\])*)"\]|\[(\d+)\]')


@functools.lru_cache(maxsize=1024)
def _written_key(key: str) -> bytes:
    return json.dumps(key, ensure_ascii=False).encode("utf-8")


def _member(data: bytes, start: int, written: bytes) -> tuple[int, int] | None:
    """Where the key ``written`` (its first member so written) of the object at ``start`` (whitespace may
    come first) is, and where its value starts; ``None`` if there is none, or no object there.

    Only the object's own keys count, not those of the objects nested in it.
    """
    start = skip_ws(data, start)
    if data[start:start + 1] != b"{":
        return None
    for key_start, key_end, value_start, _ in members(data, start):
        if data[key_start:key_end] == written:
            return key_start, value_start
    return None


def _key_offset(data: bytes, start: int, path: str | None) -> int:
    """Where the key at the end of ``path`` is written in the valid object at ``start`` of ``data`` (where the
    last key of the path that is found is, else ``start``): each key is looked for among the keys of the
    previous key's value."""
    found = start
    value = start
    for match in _SEGMENT.finditer(path or ""):
        key = match.group(1) or match.group(2)
        if key is None:
            break
        member = _member(data, value, _written_key(key))
        if member is None:
            break
        found, value = member
    return found


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column in characters) of a byte offset."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[line_start:offset].decode("utf-8", "replace")) + 1


def _audit_object(value: Any, data: bytes, start: int = 0, end: int | None = None) -> EventAudit:
    """Audit the object ``value`` written in ``data[start:end]``; findings located in ``data``."""
    end = len(data) if end is None else end
    text = data[start:end]
    size = len(text) if len(text) <= MAX_EVENT_BYTES // 2 else len(_encode(value))
    audit = check_event(value, collisions=False, size=size)
    findings = audit.findings
    if audit.version == Version.V1.value:
        findings = findings + _raw_collisions(text)
    first = start + len(text) - len(text.lstrip(JSON_WS))
    located = []
    for item in findings:
        offset = first if item.json_path in (None, "$") else _key_offset(data, first, item.json_path)
        located.append(item.at(_PAYLOAD, *_position(data, offset)))
    return EventAudit(audit.version, audit.event_name, located)


def invalid_record(reason: str, line: int = 1, column: int | None = 1) -> EventAudit:
    """A record that is not valid JSON, for ``reason``, at ``line`` and ``column`` of the record."""
    invalid = finding("invalid-json", f"invalid JSON: {reason}", match=reason)
    return EventAudit("invalid", None, [invalid.at(_PAYLOAD, line, column)])


def oversized_record(size: int, limit: int) -> EventAudit:
    """A record too large to be read (over ``limit`` bytes): only its size is known."""
    return EventAudit("invalid", None, [finding(
        "too-large", f"the record is {size} bytes, not read (over {limit} bytes); 2.0 accepts at most "
                     f"{MAX_EVENT_BYTES} bytes (32 KB) per event", match="size", json_path="$")])


def _batch(data: bytes) -> list[tuple[int, int]] | None:
    """Where the events of a ``{"batch": [...]}`` body are written (start and end offsets), or ``None``."""
    try:
        members = _MEMBERS.decode(data)
        if list(members) != ["batch"]:
            return None
        elements = list_of_raw(bytes(members["batch"]))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    spans = []
    position = 0
    for element in elements:
        raw = bytes(element)
        position = data.index(raw, position)
        spans.append((position, position + len(raw)))
        position += len(raw)
    return spans


def audit_record(data: bytes) -> list[EventAudit]:
    """Audit one record's JSON text: one result, or one per event of a 2.0 batch body (``{"batch": [...]}``).

    Findings are located within ``data`` (line and column, 1-based): at the key they
    are about where it can be found, else where the record starts; invalid JSON at
    the error.
    """
    value, error = _decode(data)
    if error is not None:
        return [invalid_record(error.reason, error.lineno, error.colno)]
    if isinstance(value, dict) and isinstance(value.get("batch"), list) and len(value) == 1:
        spans = _batch(data)
        if spans is not None:
            return [_audit_object(_decode(data[start:end])[0], data, start, end) for start, end in spans]
    return [_audit_object(value, data)]
