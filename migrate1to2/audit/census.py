"""The census of stored payloads at the speed of the converter: one NDJSON line at a time, without decoding values.

:func:`quick_record` tells what :func:`.payload.audit_record` would say about one
record, for the common case only, and ``None`` for everything else (the caller
then audits that record the slow way, so findings stay exactly the same). The
common case: a compact object (``{"k":v,...}``: no whitespace, no duplicate key,
keys written plainly, which the lengths of the decoded members prove, as the
converter's fast path does), with a non-blank string ``event_name``, in 1.0
(``properties`` an object, compact too, holding no reserved key) or 2.0
(``context`` an object, compact too) or readable as either, at most 16 KB, with
no legacy key (``event``, ``eventId``, ``eventTimestamp``, ``version`` at the root,
``userAgent``, ``cookies`` in a root or ``context`` ``device``). Only the two levels that matter are decoded, into raw
values; a value is decoded only when it is looked at (``event_name``, ``user``,
``event_timestamp``). The findings such a
record can have (``user-not-object``, ``timestamp-not-ms``) are built by the same
functions as the slow path's, and located from the members' lengths.

The caller checks that a chunk is UTF-8 first (the raw decoder does not look inside
strings). Pure.
"""

from __future__ import annotations

import msgspec
from msgspec import Raw

from ..transform import RESERVED
from .model import Finding
from .payload import MAX_EVENT_BYTES, timestamp_finding, user_finding

__all__ = ["column", "quick_record"]

_MEMBERS = msgspec.json.Decoder(dict[str, Raw])
_decode_members = _MEMBERS.decode
_decode_value = msgspec.json.Decoder().decode
_NOT_OURS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)
#: Root keys of legacy shapes (each is a finding or changes what one says): left to the slow path.
_LEGACY = frozenset({"event", "eventId", "eventTimestamp", "version"})
_RESERVED = frozenset(RESERVED)
#: A record up to this size is at most 32 KB as compact JSON (the slow path's own shortcut).
_SMALL = MAX_EVENT_BYTES // 2
_OPEN_BRACE = 0x7B
_names: dict[bytes, str] = {}
_MAX_NAMES = 4096

Members = dict[str, Raw]


def _compact(members: Members, size: int) -> bool:
    """Whether an object of ``size`` bytes is exactly ``{"k":v,...}`` of ``members``, keys written plainly.

    Whitespace, a duplicate key (missing from the decoded dict) or a key written with an
    escape or non-ASCII bytes all make the text longer than this count, never shorter.
    """
    if not members:
        return size == 2
    return size == 1 + sum(map(len, members)) + sum(map(len, members.values())) + 4 * len(members)


def _key_offset(members: Members, key: str) -> int:
    """Where ``"key"`` is written in a compact object of ``members`` (its opening quote), from the ``{``."""
    offset = 1
    for name, value in members.items():
        if name == key:
            return offset
        offset += len(name) + 4 + len(value)
    raise KeyError(key)


def _event_name(raw: Raw) -> str | None:
    written = bytes(raw)
    name = _names.get(written)
    if name is None:
        try:
            value = _decode_value(written)
        except _NOT_OURS:
            return None
        if not isinstance(value, str) or not value.strip():
            return None
        if len(_names) >= _MAX_NAMES:
            _names.clear()
        _names[written] = name = value
    return name


def _epoch_ms(written: bytes) -> bool:
    """True for an integer of 12 to 14 digits: epoch milliseconds, no finding (the common case)."""
    return 12 <= len(written) <= 14 and written.isdigit() and written[0] != 0x30


def quick_record(line: bytes) -> tuple[str, str, list[tuple[Finding, int]]] | None:
    """``(version, event_name, [(finding, byte offset of its key), ...])`` for a record in the common case
    (see the module docstring), else ``None``: audit it with :func:`.payload.audit_record`."""
    size = len(line)
    if size > _SMALL:
        return None
    try:
        root: Members = _decode_members(line)
    except _NOT_OURS:
        return None
    if size != 1 + sum(map(len, root)) + sum(map(len, root.values())) + 4 * len(root) or not _LEGACY.isdisjoint(root):
        return None  # not compact (see _compact), or a legacy shape
    written_name = root.get("event_name")
    if written_name is None:
        return None
    name = _names.get(bytes(written_name)) or _event_name(written_name)
    if name is None:
        return None
    found: list[tuple[Finding, int]] = []
    box = root.get("properties")
    if box is not None:
        if "context" in root:
            return None
        version, container, keys = "1.0", "properties", _PROPERTIES
    else:
        box = root.get("context")
        if box is None:
            if not _root_checks(root, found):
                return None
            return "1.0" if len(root) > 1 else "either", name, found
        version, container, keys = "2.0", "context", _CONTEXT
    if memoryview(box)[0] != _OPEN_BRACE:
        return None
    try:
        inner: Members = _decode_members(box)
    except _NOT_OURS:
        return None
    if not _compact(inner, len(box)) or (version == "1.0" and not _RESERVED.isdisjoint(inner)):
        return None
    if not _plain_device(root) or (version == "2.0" and not _plain_device(inner)):
        return None
    at = _key_offset(root, container) + len(container) + 3
    # In the slow path's order: `user` at the root and in `properties`, then `event_timestamp` at the root
    # and in `context`.
    if ("user" in root and not _check((), root, "user", 0, found)) or (
            version == "1.0" and "user" in inner and not _check(keys, inner, "user", at, found)):
        return None
    if ("event_timestamp" in root and not _check((), root, "event_timestamp", 0, found)) or (
            version == "2.0" and "event_timestamp" in inner
            and not _check(keys, inner, "event_timestamp", at, found)):
        return None
    return version, name, found


_PROPERTIES = ("properties",)
_CONTEXT = ("context",)


def _plain_device(holder: Members) -> bool:
    """False when ``holder`` has a ``device`` object with a legacy key (``userAgent``, ``cookies``)."""
    device = holder.get("device")
    if device is None or memoryview(device)[0] != _OPEN_BRACE:
        return True
    try:
        keys = _decode_members(device)
    except _NOT_OURS:
        return False
    return "userAgent" not in keys and "cookies" not in keys


def _root_checks(root: Members, found: list[tuple[Finding, int]]) -> bool:
    """The root's `device`, `user` and `event_timestamp`; False if the slow path must decide."""
    return _plain_device(root) and ("user" not in root or _check((), root, "user", 0, found)) and (
        "event_timestamp" not in root or _check((), root, "event_timestamp", 0, found))


def _check(keys: tuple[str, ...], holder: Members, key: str, base: int, found: list[tuple[Finding, int]]) -> bool:
    """Judge ``holder[key]`` (``user`` or ``event_timestamp``) as the slow path does; False if it cannot be read."""
    raw = holder[key]
    if key == "user":
        if memoryview(raw)[0] == _OPEN_BRACE:
            return True
    elif _epoch_ms(bytes(raw)):
        return True
    try:
        value = _decode_value(raw)
    except _NOT_OURS:
        return False
    problem = user_finding(keys, value) if key == "user" else timestamp_finding(keys, value)
    if problem is not None:
        found.append((problem, base + _key_offset(holder, key)))
    return True


def column(line: bytes, offset: int) -> int:
    """The 1-based column, in characters, of byte ``offset`` of ``line`` (as the slow path counts)."""
    return len(line[:offset].decode("utf-8", "replace")) + 1

