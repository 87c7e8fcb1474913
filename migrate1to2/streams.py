"""Reading one input stream: tell its shape, cut it into units of work, and read its records.

The single place where a payload stream is read. Units (:class:`Work`) are plain data that
:func:`do_work` converts with the pure functions of :mod:`migrate1to2.records`, here or in
another process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

import msgspec

from .errors import InputError, os_reason
from .records import (
    BOM,
    OVERSIZED_HEAD,
    Converted,
    Counts,
    Reject,
    Settings,
    Shape,
    convert_document,
    convert_lines,
    detect_shape,
    list_of_raw,
    locate_elements,
    oversized,
)

__all__ = [
    "CHUNK_BYTES",
    "Record",
    "Work",
    "do_work",
    "is_payload",
    "iter_records",
    "named_like_payloads",
    "ndjson_units",
    "read_units",
]

#: How much NDJSON is converted at a time (whole lines).
CHUNK_BYTES = 1 << 20
#: How much is read to tell an input's shape.
HEAD_BYTES = 1 << 16
_JSON_WS = b" \t\r\n"


@dataclass(frozen=True)
class Work:
    """A piece of one input to convert: whole NDJSON lines, or a whole JSON document."""

    data: bytes
    first_line: int
    shape: Shape
    source: str


def do_work(work: Work, settings: Settings) -> Converted:
    """Convert one unit of work (a pure function of its arguments)."""
    if work.shape is Shape.NDJSON:
        return convert_lines(work.data, work.first_line, work.source, settings)
    return convert_document(work.data, work.shape, work.source, settings)


def rejected(reject: Reject, settings: Settings) -> Converted:
    """The outcome of a record rejected while reading (too large to load): one line."""
    return Converted(b"", Counts(records=1, rejected=1), [reject], stopped=settings.stop_at_reject, lines=1)


def _read(stream: BinaryIO, size: int, source: str) -> bytes:
    try:
        return stream.read(size)
    except OSError as error:
        raise InputError(f"cannot read {source}: {os_reason(error)}") from None


def _start(stream: BinaryIO, source: str) -> tuple[Shape, bytes, bool]:
    """Read the head of a stream and tell its shape: ``(shape, head without BOM, whether that was all)``."""
    head = bytearray()
    while len(head) < HEAD_BYTES:
        block = _read(stream, HEAD_BYTES - len(head), source)
        if not block:
            break
        head += block
    at_eof = len(head) < HEAD_BYTES
    data = bytes(head[3:] if head.startswith(BOM) else head)
    return detect_shape(data, at_eof), data, at_eof


def is_payload(head: bytes) -> bool:
    """Whether an input's first bytes (decompressed) look like payloads: JSON objects or an array."""
    return head.lstrip(_JSON_WS)[:1] in (b"{", b"[")


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
    if carry.strip(_JSON_WS):
        yield Work(bytes(carry), line, Shape.NDJSON, source)


#: File names that say "payloads" (after any compression suffix is removed).
PAYLOAD_SUFFIXES = (".json", ".ndjson", ".jsonl", ".jsonlines")


def named_like_payloads(name: str) -> bool:
    """Whether a file name says it holds payloads (``x.ndjson``, ``x.json.gz``, ...)."""
    lowered = name.lower()
    for suffix in (".gz", ".gzip", ".bz2", ".xz", ".zst", ".zstd"):
        lowered = lowered.removesuffix(suffix)
    return lowered.endswith(PAYLOAD_SUFFIXES)


def read_units(stream: BinaryIO, source: str, settings: Settings, *, payloads_only: bool = False,
               chunk_bytes: int = CHUNK_BYTES,
               count_lines: bool = True) -> tuple[Shape | None, Iterator[Work | Reject]]:
    """Tell the shape of ``stream`` and cut it into units of work, in order.

    With ``payloads_only``, an input that does not start like JSON payloads gives ``(None, [])``;
    so does an empty one, unless its name says it holds payloads.
    A whole document (object or array) is one unit; an object larger than ``max_record_bytes``
    is rejected without being loaded.
    """
    shape, head, at_eof = _start(stream, source)
    if payloads_only and not is_payload(head) and (head.strip(_JSON_WS) or not named_like_payloads(source)):
        return None, iter(())
    if shape is Shape.NDJSON:
        units = ndjson_units(stream, head, source, limit=settings.max_record_bytes, chunk_bytes=chunk_bytes,
                             count_lines=count_lines)
        return shape, units
    return shape, _document(stream, head, source, shape=shape, at_eof=at_eof, settings=settings)


def _document(stream: BinaryIO, head: bytes, source: str, *, shape: Shape, at_eof: bool,
              settings: Settings) -> Iterator[Work | Reject]:
    data = head
    if not at_eof:
        cap = -1 if shape is Shape.ARRAY else settings.max_record_bytes + 1 - len(head)
        data += _read(stream, cap, source)
        if shape is Shape.OBJECT and len(data) > settings.max_record_bytes:
            size = len(data)
            while block := _read(stream, CHUNK_BYTES, source):
                size += len(block)
            yield oversized(source, 1, size, data[:OVERSIZED_HEAD], settings.max_record_bytes)
            return
    yield Work(data, 1, shape, source)


class Record(NamedTuple):
    """One record's bytes and the line it starts on."""

    line: int
    data: bytes


class TruncatedRecord(NamedTuple):
    """A record larger than the cap of :func:`iter_records`: its first bytes, and its full size."""

    line: int
    data: bytes
    size: int


def _truncated(reject: Reject, limit: int) -> TruncatedRecord:
    """The record :func:`ndjson_units` skipped unread."""
    return TruncatedRecord(reject.line, reject.record, reject.size if reject.size is not None else limit + 1)


def iter_records(stream: BinaryIO, source: str, *, limit: int,
                 document_limit: int | None = None) -> Iterator[Record | TruncatedRecord]:
    """Every record of a payload stream in order, whatever its shape; blank lines are not records.

    Memory stays bounded: an NDJSON line or an object document larger than ``limit``
    bytes is not loaded (a giant line is skipped unread by :func:`ndjson_units`) but
    comes as a :class:`TruncatedRecord`: its first bytes and its full size. An array
    document is read whole up to ``document_limit`` bytes (default ``limit``); a larger
    one comes as one :class:`TruncatedRecord` at line 1. An array or object document
    that is not valid JSON is one record (the whole text): its records cannot be told apart.
    """
    shape, data, at_eof = _start(stream, source)
    if shape is Shape.NDJSON:
        for work in ndjson_units(stream, data, source, limit=limit):
            if isinstance(work, Reject):
                yield _truncated(work, limit)
                continue
            for number, written in enumerate(work.data.split(b"\n"), work.first_line):
                line = written.removesuffix(b"\r")
                if len(line) > limit:  # a chunk may hold a line over the limit but under the chunk size
                    yield TruncatedRecord(number, line[:OVERSIZED_HEAD], len(line))
                elif line.strip(_JSON_WS):
                    yield Record(number, line)
        return
    cap = limit if shape is Shape.OBJECT else (limit if document_limit is None else document_limit)
    if not at_eof and len(data) <= cap:
        data += _read(stream, cap + 1 - len(data), source)
    if len(data) > cap:
        size = len(data)
        while block := _read(stream, CHUNK_BYTES, source):
            size += len(block)
        yield TruncatedRecord(1, data[:OVERSIZED_HEAD], size)
        return
    if shape is Shape.ARRAY:
        try:
            data.decode("utf-8")
            elements = list_of_raw(data)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
            yield Record(1, data)
            return
        for start, element in locate_elements(data, elements):
            yield Record(start, element)
    else:
        yield Record(1, data)
