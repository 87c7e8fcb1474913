"""The census of stored payloads: what the slow path would say of each NDJSON record, without decoding values.

:func:`quick_record` tells what :func:`.payload.audit_record` would say about one
record, for the common case only, and ``None`` for everything else (the caller
then audits that record the slow way, so findings stay exactly the same). The
common case: a compact object (``{"k":v,...}``: no whitespace, no duplicate key,
keys written plainly, which the lengths of the decoded members prove, as the
converter's fast path does), with a non-blank string ``event_name``, in 1.0
(``properties`` an object, compact too, holding no reserved key) or 2.0
(``context`` an object, compact too) or readable as either, at most 16 KB, with
no legacy key (``event``, ``eventId``, ``eventTimestamp``, ``version`` at the
root, ``userAgent``, ``cookies`` in a root or ``context`` ``device``). Only the
two levels that matter are decoded, into raw values; a value is decoded only when
it is looked at (``event_name``, ``user``, ``event_timestamp``). The findings such
a record can have (``user-not-object``, ``timestamp-not-ms``) come from the slow
path's own functions (:class:`.payload.Problem`: built only when listed), located
from the members' lengths.

:func:`quick_chunk` does the same for a whole chunk of compact lines in a few calls,
and :func:`quick_spaced` for lines written with whitespace between tokens (minified
first; a finding's key is then found in the line as written).

The caller checks that a chunk is UTF-8 first (the raw decoder does not look inside
strings).

:func:`compiled_chunk` is the fast way, where the C accelerator is compiled
(``census`` in ``migrate1to2/_speedups.c``): it validates every line as strict JSON and
UTF-8 and judges the records (whitespace between tokens allowed) in which the slow path could
find nothing but ``user-not-object`` or ``timestamp-not-ms``, those values being judged here by
the slow path's own functions; each other line goes to :func:`quick_record`, then to the slow
path. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import overload

import msgspec
from msgspec import Raw

from ..transform import RESERVED
from .kinds import RecordVersion
from .model import Finding
from .payload import MAX_EVENT_BYTES, Problem, timestamp_problem_at, user_problem
from .rules import finding

__all__ = ["COMPILED", "Lines", "Quick", "column", "compiled_chunk", "looks_spaced", "quick_chunk", "quick_record",
           "quick_spaced"]

_MEMBERS = msgspec.json.Decoder(dict[str, Raw])
_decode_members = _MEMBERS.decode
_decode_value = msgspec.json.Decoder().decode
_decode_lines = _MEMBERS.decode_lines
_minify = msgspec.json.format
_ENCODER = msgspec.json.Encoder()
_encode, _encode_lines = _ENCODER.encode, _ENCODER.encode_lines
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
Quick = tuple[str, str, Sequence[tuple[Problem, int]]]

_Judged = list[tuple[str, str, tuple[()]] | None]
_Compiled = Callable[[bytes, int, int], tuple[_Judged, list[tuple[int, int, int, int, int]], bytes]]
_compiled: _Compiled | None
try:
    from .._speedups import census as _compiled
except ImportError:  # not compiled: the Python census (quick_chunk, quick_spaced, quick_record) does it all
    _compiled = None
#: Whether the compiled census is there (:func:`compiled_chunk` answers ``None`` otherwise).
COMPILED = _compiled is not None

_PROPERTIES = ("properties",)
_CONTEXT = ("context",)


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
        offset += len(_encode(name)) + 2 + len(value)
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


def quick_record(line: bytes) -> Quick | None:
    """``(version, event_name, [(finding not built yet, byte offset of its key), ...])`` for a record in the common case
    (see the module docstring), else ``None``: audit it with :func:`.payload.audit_record`."""
    if len(line) > _SMALL:
        return None
    try:
        root: Members = _decode_members(line)
    except _NOT_OURS:
        return None
    if not _compact(root, len(line)):
        return None
    box = root.get("properties") if "properties" in root else root.get("context")
    inner: Members | None = None
    if box is not None:
        try:
            inner = _decode_members(box)
        except _NOT_OURS:
            return None  # not an object (or not valid): the slow path says which
        if not _compact(inner, len(box)):
            return None
    return _judge(root, inner, True)


def quick_chunk(chunk: bytes) -> tuple[list[bytes], list[Quick | None]] | None:
    """:func:`quick_record` for every line of ``chunk`` at once (lines of records, ``\\n``-separated, no
    ``\\r``, no blank line, UTF-8 checked), in a few calls: the lines and what each is, or ``None`` when
    the chunk is not all compact objects with object containers (then ask line by line).

    The roots of all lines are decoded in one call, and so are all their containers; lengths prove
    every record compact at once: re-encoded, the members are never longer than the text they were
    read from, and as long only when it has no whitespace, no duplicate key and no key written with
    an escape it does not need, so the totals match only when every record is compact.
    """
    try:
        roots: list[Members] = _decode_lines(chunk)
    except _NOT_OURS:
        return None
    unterminated = not chunk.endswith(b"\n")
    if len(roots) != chunk.count(b"\n") + unterminated or len(_encode_lines(roots)) != len(chunk) + unterminated:
        return None
    boxes = [root.get("properties") if "properties" in root else root.get("context") for root in roots]
    present = [box for box in boxes if box is not None]
    try:
        inners: list[Members] = _decode_lines(b"\n".join(present))
    except _NOT_OURS:
        return None
    if len(inners) != len(present) or len(_encode_lines(inners)) != sum(map(len, present)) + len(present):
        return None
    # a device key may be written with an escape (`"c\\u006fokies"`): then every device is looked at
    devices = b"userAgent" in chunk or b'"cookies"' in chunk or b"\\u" in chunk
    inner_of = iter(inners)
    aligned = [next(inner_of) if box is not None else None for box in boxes]
    lines = chunk.splitlines()
    judge = _judge
    results: list[Quick | None] = [None if len(line) > _SMALL else judge(root, inner, devices)
                                   for root, inner, line in zip(roots, aligned, lines, strict=True)]
    return lines, results


class Lines(Sequence[bytes]):
    """The lines of a chunk (as ``chunk.split(b"\\n")`` cuts them), cut only when one is asked for."""

    __slots__ = ("_chunk", "_starts")

    def __init__(self, chunk: bytes, starts: bytes) -> None:
        self._chunk = chunk
        self._starts = memoryview(starts).cast("q")

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._chunk[self._starts[index]:self._starts[index + 1] - 1]


def compiled_chunk(chunk: bytes, most: int) -> tuple[Lines, list[Quick | None]] | None:
    """:func:`quick_chunk` done by the C accelerator, for any chunk of whole NDJSON lines (CRLF, blank lines,
    whitespace between tokens, damaged lines): the lines (``chunk.split(b"\\n")``, a CR still at their end)
    and what each is, ``None`` for one the slow path must audit (blank, damaged, a legacy shape...).
    ``None`` when not compiled, or when a quarter of the lines are left to Python (the Python census
    judges those in bulk). A line over ``most`` bytes is left to the slow path (not read).

    The C code judges a record only when the slow path could find nothing in it but ``user-not-object``
    or ``timestamp-not-ms``; it hands over where each ``user`` that is not an object and each
    ``event_timestamp`` that is not epoch milliseconds is written, judged here by the slow path's own
    functions; and a record over 16 KB, which it measures as the slow path does (re-encoded: over 32 KB,
    the slow path says so). Each line it leaves is given to :func:`quick_record` (when it is UTF-8).
    """
    if _compiled is None:
        return None
    result, checks, starts = _compiled(chunk, _SMALL, most)
    judged: list[Quick | None] = list(result)
    lines = Lines(chunk, starts)
    left = judged.count(None)
    if left > _LEFT_TO_PYTHON * len(judged) + 1:  # much damage or unusual shapes: the Python census's bulk paths
        return None
    found: list[tuple[Problem, int]] = []
    problems = _problems
    for position, (index, which, start, end, key) in enumerate(checks):
        quick = judged[index]
        if quick is None:  # a value before it could not be read
            continue
        written = chunk[start:end]
        if which == _SIZE:  # the first check of a line
            try:
                size = len(_encode(_decode_value(written)))
            except (*_NOT_OURS, TypeError, ValueError, OverflowError):
                size = MAX_EVENT_BYTES + 1
            if size > MAX_EVENT_BYTES:  # too large (or read otherwise): the slow path says so
                judged[index] = None
                left += 1
            continue
        problem: Problem | bool | None = problems.get((which, written), _UNKNOWN)
        if problem is _UNKNOWN:
            problem = _problem(which, written)
        if isinstance(problem, bool):  # the slow path reads it otherwise (1e400): it says what it is
            judged[index] = None
            left += 1
            found = []
            continue
        if problem is not None:
            found.append((problem, key))
        if found and (position + 1 == len(checks) or checks[position + 1][0] != index):  # the line's last check
            judged[index] = (quick[0], quick[1], found)
            found = []
    index = -1
    for _ in range(left):
        index = judged.index(None, index + 1)
        line = lines[index].removesuffix(b"\r")
        if line[:1] == b"{" and (line.isascii() or _utf8(line)):
            judged[index] = quick_record(line)
    return lines, judged


#: The share of a chunk's lines left to Python past which the Python census judges the whole chunk.
_LEFT_TO_PYTHON = 0.25
#: Where the value of each kind of check is (see ``census`` in ``migrate1to2/_speedups.c``).
_WHERE: tuple[tuple[str, ...], ...] = ((), _PROPERTIES, (), _CONTEXT)
_SIZE = 4
_UNKNOWN = Problem("", "", lambda: finding("", ""))
#: What the value written so at a check's place is: the same few ``user`` values and timestamps come back.
_problems: dict[tuple[int, bytes], Problem | None] = {}
#: The ``match`` of the finding of a timestamp string by its shape (its digits made 0), or None.
_shapes: dict[tuple[int, bytes], str | None] = {}
_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else byte for byte in range(256))
_BACKSLASH = 0x5C


def _problem(which: int, written: bytes) -> Problem | bool | None:
    """The finding, not built yet, of the value ``written`` at check ``which`` (see :data:`_WHERE`); None for
    none, False when it cannot be read here. A timestamp string (``"2023-01-01T00:00:01.101Z"``, each one
    different) is judged by its shape: what :func:`.timestamps.timestamp_problem` says of a string without
    escapes depends on where its digits are, not on what they are (they are ``\\d`` to its patterns), so
    its finding's ``match`` (which the listing limit and the baseline count) is that of the first string
    of that shape, and the finding itself is built only when listed, by the slow path's own function."""
    keys = _WHERE[which]
    if which >= 2 and written[:1] == b'"' and _BACKSLASH not in written:
        shape = written.translate(_ZEROS)
        match = _shapes.get((which, shape), "")
        if match == "":
            first = timestamp_problem_at(keys, _decode_value(written))
            match = _shapes[(which, shape)] = first.match if first is not None else None
            if len(_shapes) > _MAX_NAMES:
                _shapes.clear()
        if match is None:
            return None
        return Problem("timestamp-not-ms", match, lambda: _built(keys, written))
    try:
        value = _decode_value(written)
    except _NOT_OURS:
        return False
    problem = user_problem(keys, value) if which < 2 else timestamp_problem_at(keys, value)
    if len(_problems) >= _MAX_NAMES:
        _problems.clear()
    _problems[(which, written)] = problem
    return problem


def _built(keys: tuple[str, ...], written: bytes) -> Finding:
    problem = timestamp_problem_at(keys, _decode_value(written))
    assert problem is not None  # a string of the same shape had a finding: so has this one
    return problem.build()


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def looks_spaced(chunk: bytes) -> bool:
    """Whether the first line of ``chunk`` has whitespace between its tokens (then :func:`quick_spaced` is
    tried first: which is tried first changes the speed, never the result)."""
    end = chunk.find(b"\n")
    first = chunk[:end] if end >= 0 else chunk
    try:
        return len(_minify(first, indent=-1)) != len(first)
    except (msgspec.DecodeError, RecursionError):
        return False


def quick_spaced(lines: list[bytes]) -> list[Quick | None] | None:
    """:func:`quick_chunk` for lines written with whitespace between tokens (``json.dumps``' default
    ``", "`` and ``": "``): each minified first, which removes that whitespace and nothing else.

    A finding's key is then found in the line as written: minifying keeps every string as written
    and the key's text (``"user"``, ``"event_timestamp"``) holds no whitespace, so its n-th
    occurrence in the minified line is its n-th occurrence in the line as written.
    """
    try:
        minified = [_minify(line, indent=-1) for line in lines]
    except (msgspec.DecodeError, RecursionError):
        return None
    judged = quick_chunk(b"\n".join(minified))
    results = judged[1] if judged is not None else [quick_record(line) for line in minified]
    for index, quick in enumerate(results):
        if quick is None or not quick[2]:
            continue
        short, line = minified[index], lines[index]
        moved = []
        for problem, offset in quick[2]:
            key = _KEYS[problem.rule]
            at = -1
            for _ in range(short.count(key, 0, offset) + 1):
                at = line.find(key, at + 1)
            moved.append((problem, at))
        results[index] = (quick[0], quick[1], moved)
    return results


_KEYS = {"user-not-object": b'"user"', "timestamp-not-ms": b'"event_timestamp"'}


def _judge(root: Members, inner: Members | None, devices: bool) -> Quick | None:
    """What the slow path says of a record whose two levels are compact, or ``None`` when it must say it.

    ``inner`` is the decoded container (``properties`` if there is one, else ``context``);
    ``devices``: a device object may hold a legacy key.
    """
    written_name = root.get("event_name")
    if written_name is None or not _LEGACY.isdisjoint(root):
        return None
    name = _names.get(bytes(written_name)) or _event_name(written_name)
    if name is None:
        return None
    if inner is None:
        version = RecordVersion.V1 if len(root) > 1 else RecordVersion.EITHER
    elif "properties" in root:
        if "context" in root or not _RESERVED.isdisjoint(inner):
            return None
        version = RecordVersion.V1
    else:
        version = RecordVersion.V2
    if devices and (not _plain_device(root) or (version is RecordVersion.V2 and inner is not None
                                                and not _plain_device(inner))):
        return None
    found: list[tuple[Problem, int]] = []
    # In the slow path's order: `user` at the root and in `properties`, then `event_timestamp` at the root
    # and in `context`. An object `user` and an integer of 12 to 14 digits (epoch milliseconds) are told
    # from their first bytes; anything else is judged by the slow path's own functions.
    user = root.get("user")
    if user is not None and bytes(user)[0] != _OPEN_BRACE and not _check((), root, "user", None, found):
        return None
    if version is RecordVersion.V1 and inner is not None:
        user = inner.get("user")
        if user is not None and bytes(user)[0] != _OPEN_BRACE and not _check(
                _PROPERTIES, inner, "user", root, found):
            return None
    stamp = root.get("event_timestamp")
    if stamp is not None and not _epoch_ms(bytes(stamp)) and not _check(
            (), root, "event_timestamp", None, found):
        return None
    if version is RecordVersion.V2 and inner is not None:
        stamp = inner.get("event_timestamp")
        if stamp is not None and not _epoch_ms(bytes(stamp)) and not _check(
                _CONTEXT, inner, "event_timestamp", root, found):
            return None
    return version, name, found


def _plain_device(holder: Members) -> bool:
    """False when ``holder`` has a ``device`` object with a legacy key (``userAgent``, ``cookies``)."""
    device = holder.get("device")
    if device is None or bytes(device)[0] != _OPEN_BRACE:
        return True
    try:
        keys = _decode_members(device)
    except _NOT_OURS:
        return False
    return "userAgent" not in keys and "cookies" not in keys


def _check(keys: tuple[str, ...], holder: Members, key: str, parent: Members | None,
           found: list[tuple[Problem, int]]) -> bool:
    """Judge ``holder[key]`` (``user`` or ``event_timestamp``) as the slow path does; False if it cannot be
    read. ``holder`` is the root, or the container ``keys[0]`` of the root ``parent``."""
    raw = holder[key]
    if key == "user":
        if bytes(raw)[0] == _OPEN_BRACE:
            return True
    elif _epoch_ms(bytes(raw)):
        return True
    try:
        value = _decode_value(raw)
    except _NOT_OURS:
        return False
    problem = user_problem(keys, value) if key == "user" else timestamp_problem_at(keys, value)
    if problem is not None:
        base = 0 if parent is None else _key_offset(parent, keys[0]) + len(keys[0]) + 3
        found.append((problem, base + _key_offset(holder, key)))
    return True


def column(line: bytes, offset: int) -> int:
    """The 1-based column, in characters, of byte ``offset`` of ``line`` (as the slow path counts)."""
    return len(line[:offset].decode("utf-8", "replace")) + 1
