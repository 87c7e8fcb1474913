"""Reading one input stream: tell its shape, cut it into units of work, and read its records.

The single place where a payload stream is read. Units (:class:`Work`) are plain data that
:func:`do_work` converts with the pure functions of :mod:`migrate1to2.convert.records`, here or in
another process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from ..accelerator import element_end
from ..errors import InputError, os_reason
from ..jsontext import JSON_WS, scan_value, skip_ws
from ..storage.payloads import Framing, document_framing, is_har, named_framing, starts_like_json
from .records import (
    BOM,
    OVERSIZED_HEAD,
    Converted,
    Counts,
    Element,
    Reject,
    Settings,
    Shape,
    convert_document,
    convert_elements,
    convert_lines,
    detect_shape,
    oversized,
)

__all__ = [
    "CHUNK_BYTES",
    "BrokenRecord",
    "NotPayloads",
    "Record",
    "Work",
    "do_work",
    "iter_record_chunks",
    "iter_records",
    "ndjson_units",
    "not_payloads",
    "read_units",
]

#: How much NDJSON is converted at a time (whole lines).
CHUNK_BYTES = 1 << 20
#: How much is read to tell an input's shape.
HEAD_BYTES = 1 << 16


@dataclass(frozen=True)
class Work:
    """A piece of one input to convert: whole NDJSON lines, a whole JSON object, or elements of an array."""

    data: bytes
    first_line: int
    shape: Shape
    source: str
    #: Arrays: the elements (``data`` is empty), each with its line and column in the input.
    elements: tuple[Element, ...] = ()
    #: Arrays: the input spans several lines, so the elements are minified (as a multi-line object is).
    minify: bool = False


def do_work(work: Work, settings: Settings) -> Converted:
    """Convert one unit of work (a pure function of its arguments)."""
    if work.shape is Shape.NDJSON:
        return convert_lines(work.data, work.first_line, work.source, settings)
    if work.shape is Shape.ARRAY:
        return convert_elements(work.elements, work.source, settings, minify=work.minify)
    return convert_document(work.data, work.source, settings)


def rejected(reject: Reject, settings: Settings, *, lines: int = 1) -> Converted:
    """The outcome of a record rejected while reading (too large to load, or a broken array).

    ``lines``: the lines it covers, for units numbered from 1 (array elements carry their own line: 0).
    """
    return Converted(b"", Counts(records=1, rejected=1), [reject], stopped=settings.stop_at_reject, lines=lines)


def _read(stream: BinaryIO, size: int, source: str) -> bytes:
    try:
        return stream.read(size)
    except OSError as error:
        raise InputError(f"cannot read {source}: {os_reason(error)}") from None


def _start(stream: BinaryIO, source: str) -> tuple[Shape, bytes, bool]:
    """Read the head of a stream and tell its shape: ``(shape, head without BOM, whether that was all)``."""
    head = bytearray()
    at_eof = False
    while len(head) < HEAD_BYTES:
        block = _read(stream, HEAD_BYTES - len(head), source)
        if not block:
            at_eof = True
            break
        head += block
        if _stalled(stream) and _shape_told(head[3:] if head.startswith(BOM) else head):
            break  # a stream that stalls (stdin from a pipe): its first records go out now
    data = bytes(head[3:] if head.startswith(BOM) else head)
    return detect_shape(data, at_eof), data, at_eof


def _stalled(stream: BinaryIO) -> bool:
    """Whether the last read of ``stream`` gave less than asked because its input stalled (it has not
    ended; see :class:`migrate1to2.storage.flowing.Flowing`). Other streams give less only at their end."""
    return getattr(stream, "stalled", False) is True


def _shape_told(head: bytes | bytearray) -> bool:
    """Whether the start of an input tells its shape as surely as a full head would (or its end):
    an array spanning lines (so its elements are minified, as :func:`read_units` decides), two
    non-blank lines, or a first line that is a whole JSON value (NDJSON, or one document on one
    line: the same output, and a stream that stalls after one record is taken for NDJSON)."""
    start = head.lstrip(JSON_WS)
    if start.startswith(b"["):
        return b"\n" in start.rstrip(JSON_WS)
    end = start.find(b"\n")
    if end < 0:
        return False
    if start[end:].strip(JSON_WS):
        return True  # a second non-blank line: detect_shape decides from its first two lines
    # With any second line that does not start an object, NDJSON means: the first line is complete JSON.
    return detect_shape(bytes(start[:end]) + b"\nx", False) is Shape.NDJSON


def ndjson_units(stream: BinaryIO, head: bytes, source: str, *, limit: int, chunk_bytes: int = CHUNK_BYTES,
                 count_lines: bool = True) -> Iterator[Work | Reject]:
    """Chunks of whole lines; a line longer than ``limit`` is skipped and rejected unread.

    Without ``count_lines`` every unit numbers its lines from 1, and its consumer, knowing how
    many lines came before (``Converted.lines``), renumbers them; counting here would read every
    chunk once more.
    """
    line = 1
    step = 1 if count_lines else 0
    carry: bytes | bytearray = head  # the start of a line whose end is not read yet
    cut = head.rfind(b"\n") + 1
    if cut:  # from here on, only the block just read can hold a line end
        carry = head[cut:]
        yield Work(head[:cut], line, Shape.NDJSON, source)
        if count_lines:
            line += head.count(b"\n", 0, cut)
    while True:
        block = _read(stream, chunk_bytes, source)
        cut = block.rfind(b"\n") + 1
        if cut:
            # Whole lines, copied once (a chunk is handed on, so it cannot share a reused buffer).
            chunk = block if cut == len(block) and not carry else b"".join((carry, memoryview(block)[:cut]))
            carry = block[cut:]
            yield Work(chunk, line, Shape.NDJSON, source)
            if count_lines:
                line += chunk.count(b"\n")
            continue
        if not block:
            break
        if not isinstance(carry, bytearray):
            carry = bytearray(carry)
        carry += block
        if len(carry) > limit:
            size, rest = len(carry), b""
            start = bytes(carry[:OVERSIZED_HEAD])
            while True:
                block = _read(stream, chunk_bytes, source)
                end = block.find(b"\n")
                if end >= 0 or not block:
                    size += end if end >= 0 else 0
                    rest = block[end + 1:] if end >= 0 else b""
                    break
                size += len(block)
            yield oversized(source, line, size, start, limit)
            line += step
            carry = rest
            if not block:
                break
    if carry.strip(JSON_WS):
        yield Work(bytes(carry), line, Shape.NDJSON, source)


class NotPayloads(Exception):
    """An input found in a tree that holds no payloads to convert: skipped (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def not_payloads(head: bytes, source: str) -> str | None:
    """Why an input found in a tree, named ``source``, starting with ``head`` (decompressed), is not
    converted (``None``: it is), as :mod:`migrate1to2.storage.payloads` tells payload files.

    Files that start like JSON are converted whatever their name, but a HAR capture or a Postman
    collection (named ``.har``, or a ``.json`` document that starts like one) never is: it would be one
    record, the whole capture moved into ``context``. An empty file is converted only when its name
    says it holds records or JSON.
    """
    named = named_framing(source)
    if named is Framing.HAR or (named is Framing.JSON and starts_like_json(head)
                                and document_framing(head).capture):
        what = "a HAR capture" if named is Framing.HAR or is_har(head) else "a Postman collection"
        return f"{what}: the events in its requests are not converted; `migrate1to2 audit` reads them"
    if starts_like_json(head) or (not head.strip(JSON_WS) and named in (Framing.RECORDS, Framing.JSON)):
        return None
    return "empty, and its name does not say it holds payloads" if not head else \
        "it does not start with a JSON object or array"


def read_units(stream: BinaryIO, source: str, settings: Settings, *, payloads_only: bool = False,
               chunk_bytes: int = CHUNK_BYTES,
               count_lines: bool = True) -> tuple[Shape, Iterator[Work | Reject]]:
    """Tell the shape of ``stream`` and cut it into units of work, in order.

    With ``payloads_only`` (an input found in a tree), an input that holds no payloads to convert
    raises :class:`NotPayloads` (see :func:`not_payloads`).
    An array comes as groups of its elements (see :class:`ArrayReader`); an object document is
    one unit, rejected without being loaded when larger than ``max_record_bytes``.
    """
    shape, head, at_eof = _start(stream, source)
    if payloads_only:
        reason = not_payloads(head, source)
        if reason is not None:
            raise NotPayloads(reason)
    if shape is Shape.NDJSON:
        units = ndjson_units(stream, head, source, limit=settings.max_record_bytes, chunk_bytes=chunk_bytes,
                             count_lines=count_lines)
        return shape, units
    if shape is Shape.ARRAY:
        # Spanning several lines, as far as the head tells (an element spanning lines is minified anyway).
        minify = b"\n" in (head.strip(JSON_WS) if at_eof else head.lstrip(JSON_WS))
        return shape, ArrayReader(stream, head, source, limit=settings.max_record_bytes,
                                  chunk_bytes=chunk_bytes).units(minify=minify)
    return shape, _document(stream, head, source, at_eof=at_eof, limit=settings.max_record_bytes)


def _document(stream: BinaryIO, head: bytes, source: str, *, at_eof: bool, limit: int) -> Iterator[Work | Reject]:
    """An object document as one unit, or, when it is larger than ``limit``, its reject (the rest is
    read only to count its size)."""
    data = head
    while not at_eof and len(data) <= limit:  # a stream may give less than asked before its end
        block = _read(stream, limit + 1 - len(data), source)
        at_eof = not block
        data += block
    if len(data) > limit:
        size = len(data)
        while block := _read(stream, CHUNK_BYTES, source):
            size += len(block)
        yield oversized(source, 1, size, data[:OVERSIZED_HEAD], limit)
        return
    yield Work(data, 1, Shape.OBJECT, source)


#: How much of an unfinished element the compiled scan reads again from its start, block after block.
_RESCAN_BYTES = 8 << 20


class _Broken(Exception):
    """The array itself (not an element) is not valid JSON here."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.position = position
        #: Its line and column, when found before the break was.
        self.where: tuple[int, int] | None = None


class ArrayReader:
    """The elements of a JSON array, read a block at a time: memory is bounded by the largest element.

    Only the array's own syntax is checked here (brackets, commas, strings); each element is
    checked when it is converted, so a broken element is one rejected record at its own line. A
    break in the array itself (a missing or extra comma, text after it, its end missing) makes
    what follows one rejected record, located there.
    """

    def __init__(self, stream: BinaryIO, head: bytes, source: str, *, limit: int, chunk_bytes: int) -> None:
        self.stream = stream
        self.source = source
        self.limit = limit
        self.chunk_bytes = chunk_bytes
        self.buf = head
        self.base = 0  # the input offset of buf[0]
        self.eof = False
        # The line and character column at input offset `counted`.
        self.counted = 0
        self.line = 1
        self.column = 1

    # --- the buffer -----------------------------------------------------------------------------

    def _more(self, keep_from: int) -> bool:
        """Read another block, dropping what is before ``keep_from`` (an input offset); False at the end."""
        if self.eof:
            return False
        self._locate(keep_from)
        self.buf = self.buf[keep_from - self.base:]
        self.base = keep_from
        block = _read(self.stream, self.chunk_bytes, self.source)
        if not block:
            self.eof = True
            return False
        self.buf += block
        return True

    def _locate(self, offset: int) -> tuple[int, int]:
        """The line and column of an input offset (at or after the last one asked for)."""
        segment = self.buf[self.counted - self.base:offset - self.base]
        newline = segment.rfind(b"\n")
        if newline >= 0:
            self.line += segment.count(b"\n")
            self.column = 1
            segment = segment[newline + 1:]
        self.column += len(segment) if segment.isascii() else len(segment.decode("utf-8", "replace"))
        self.counted = offset
        return self.line, self.column

    def _skip_ws(self, offset: int) -> int:
        """The offset of the next byte that is not whitespace (the end of the input if none)."""
        while True:
            found = skip_ws(self.buf, offset - self.base)
            if found < len(self.buf):
                return found + self.base
            offset = self.base + len(self.buf)
            if not self._more(offset):
                return offset

    def _byte(self, offset: int) -> int:
        return self.buf[offset - self.base]

    # --- elements -------------------------------------------------------------------------------

    def _element_end(self, start: int) -> tuple[int, bytes, int]:
        """Read the element at ``start``: its end, its bytes (only its first ones if it is larger than
        the limit) and its size."""
        first = self._byte(start)
        if first in b"]},:":
            raise _Broken(f"expected a value, got {chr(first)!r}", start)
        if element_end is not None:  # compiled: rescan from the start after each block, a few times
            while True:
                stop = element_end(self.buf, start - self.base)
                if stop >= 0:
                    return stop + self.base, self.buf[start - self.base:stop], stop + self.base - start
                if self.base + len(self.buf) - start > min(self.limit, _RESCAN_BYTES) or not self._more(start):
                    break  # large: read on below, where scanning resumes where it stopped
        return self._scan(start, first)

    def _scan(self, start: int, first: int) -> tuple[int, bytes, int]:
        """:meth:`_element_end` a block at a time (:func:`migrate1to2.jsontext.scan_value`), resuming where the
        last block ended (inside a string too)."""
        depth, in_string = 0, False
        scan = start  # where scanning resumes
        head = b""  # an oversized element's first bytes
        while True:
            end, at, depth, in_string = scan_value(self.buf, scan - self.base, first, depth, in_string)
            if end >= 0:
                end += self.base
                return end, head or self.buf[start - self.base:end - self.base], end - start
            scan = at + self.base
            keep = start
            if scan - start > self.limit:  # keep only its first bytes; read on to its end
                head = head or self.buf[start - self.base:start - self.base + OVERSIZED_HEAD]
                keep = scan
            if not self._more(keep):
                end = self.base + len(self.buf)
                if first in b"{[\"" and not head:
                    raise _Broken("unexpected end of input: an array element is incomplete", start)
                return end, head or self.buf[start - self.base:], end - start  # too large, or a scalar

    def units(self, *, minify: bool) -> Iterator[Work | Reject]:
        """Groups of elements of about ``chunk_bytes``, and rejects, in input order."""
        group: list[Element] = []
        size = 0
        for element in self.elements():
            if isinstance(element, Reject):
                if group:
                    yield self._part(group, minify)
                    group, size = [], 0
                yield element
                continue
            group.append(element)
            size += len(element[2])
            if size >= self.chunk_bytes or _stalled(self.stream):  # a stalled stream: out with what came
                yield self._part(group, minify)
                group, size = [], 0
        if group:
            yield self._part(group, minify)

    def elements(self) -> Iterator[Element | Reject]:
        """Each element as ``(line, column, bytes)``, in input order, or a reject: an element too large to
        load (its first bytes), or, last, what follows a break in the array."""
        try:
            yield from self._elements()
        except _Broken as broken:
            yield self._rest(broken)

    def _part(self, group: list[Element], minify: bool) -> Work:
        return Work(b"", group[0][0], Shape.ARRAY, self.source, tuple(group), minify)

    def _elements(self) -> Iterator[Element | Reject]:
        """Each element, or the reject of one too large to load; :class:`_Broken` where the array breaks."""
        position = self._skip_ws(0) + 1  # after the [ that the shape was told from
        expect_value, after_comma = True, False
        while True:
            position = self._skip_ws(position)
            if position - self.base >= len(self.buf):
                raise _Broken("unexpected end of input: the array is not closed", position)
            char = self._byte(position)
            if not expect_value and char == 0x2C:  # ,
                expect_value, after_comma = True, True
                position += 1
                continue
            if char == 0x5D and not after_comma:  # ]
                end = self._skip_ws(position + 1)
                if end - self.base < len(self.buf):
                    raise _Broken("unexpected text after the array", end)
                return
            if char == 0x5D:
                raise _Broken("trailing comma in array", position)
            if not expect_value:
                raise _Broken("expected ',' or ']' after an array element", position)
            line, column = self._locate(position)
            try:
                position, data, length = self._element_end(position)
            except _Broken as broken:
                broken.where = line, column
                raise
            if length > self.limit:
                yield oversized(self.source, line, length, data[:OVERSIZED_HEAD], self.limit)
            else:
                yield line, column, data
            expect_value, after_comma = False, False

    def _rest(self, broken: _Broken) -> Reject:
        """What follows a break in the array, as one rejected record located at the break."""
        line, column = broken.where or self._locate(broken.position)
        start = broken.position
        while self.base + len(self.buf) - start <= self.limit and self._more(start):
            pass
        rest = self.buf[start - self.base:]
        size = len(rest)
        if size > self.limit:
            while self._more(self.base + len(self.buf)):
                size += len(self.buf)
            return oversized(self.source, line, size, rest[:OVERSIZED_HEAD], self.limit)
        return Reject(self.source, line, column, f"invalid JSON: {broken.reason}", None, rest)


class Record(NamedTuple):
    """One record's bytes and the line (and column: array elements) it starts on."""

    line: int
    data: bytes
    column: int = 1


class TruncatedRecord(NamedTuple):
    """A record larger than the cap of :func:`iter_records`: its first bytes, and its full size."""

    line: int
    data: bytes
    size: int


class BrokenRecord(NamedTuple):
    """Where an array breaks (a missing comma, text after it, its end missing): what follows is not read."""

    line: int
    column: int
    reason: str


def _truncated(reject: Reject, limit: int) -> TruncatedRecord:
    """The record a reader skipped unread (its reject keeps the first bytes and the size)."""
    return TruncatedRecord(reject.line, reject.record, reject.size if reject.size is not None else limit + 1)


def iter_records(stream: BinaryIO, source: str, *,
                 limit: int) -> Iterator[Record | TruncatedRecord | BrokenRecord]:
    """Every record of a payload stream in order, whatever its shape; blank lines are not records.

    Memory stays bounded: an NDJSON line, an array element or an object document larger
    than ``limit`` bytes is not loaded (it is skipped unread) but comes as a
    :class:`TruncatedRecord`: its first bytes and its full size. Arrays are streamed
    element by element (see :class:`ArrayReader`); where an array breaks (a missing comma,
    text after it, its end missing) a :class:`BrokenRecord` says where and why, and ends it.
    """
    for item in iter_record_chunks(stream, source, limit=limit):
        if not isinstance(item, Work):
            yield item
            continue
        for number, written in enumerate(item.data.split(b"\n"), item.first_line):
            line = written.removesuffix(b"\r")
            if len(line) > limit:  # a chunk may hold a line over the limit but under the chunk size
                yield TruncatedRecord(number, line[:OVERSIZED_HEAD], len(line))
            elif line.strip(JSON_WS):
                yield Record(number, line)


def iter_record_chunks(stream: BinaryIO, source: str, *,
                       limit: int) -> Iterator[Work | Record | TruncatedRecord | BrokenRecord]:
    """:func:`iter_records`, with NDJSON given a chunk of whole lines at a time (a :class:`Work`, its lines
    numbered from ``first_line``) for a reader that splits them itself, as :func:`iter_records` does: a line
    ending in ``\\r`` loses it, a blank line is not a record, a line over ``limit`` is a :class:`TruncatedRecord`."""
    shape, data, at_eof = _start(stream, source)
    if shape is Shape.NDJSON:
        for work in ndjson_units(stream, data, source, limit=limit):
            yield _truncated(work, limit) if isinstance(work, Reject) else work
        return
    if shape is Shape.ARRAY:
        reader = ArrayReader(stream, data, source, limit=limit, chunk_bytes=CHUNK_BYTES)
        try:
            for element in reader._elements():
                if isinstance(element, Reject):  # too large to load
                    yield _truncated(element, limit)
                else:
                    number, column, text = element
                    yield Record(number, text, column)
        except _Broken as broken:
            at_line, column = broken.where or reader._locate(broken.position)
            yield BrokenRecord(at_line, column, broken.reason)
        return
    for unit in _document(stream, data, source, at_eof=at_eof, limit=limit):
        yield _truncated(unit, limit) if isinstance(unit, Reject) else Record(1, unit.data)
