"""Converting one input stream: detect its shape, split it into records, convert, write.

The single place where a payload stream is read; the records themselves are
converted by the pure functions of :mod:`migrate1to2.records`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

import msgspec

from .errors import InputError
from .records import (
    BOM,
    Converted,
    Counts,
    Reject,
    Shape,
    convert_document,
    convert_lines,
    detect_shape,
    list_of_raw,
    locate_elements,
)
from .version import Version

__all__ = ["CHUNK_BYTES", "Record", "StreamResult", "convert_stream", "iter_records", "ndjson_chunks"]

#: How much NDJSON is converted at a time (whole lines).
CHUNK_BYTES = 1 << 20
#: How much is read to tell an input's shape.
HEAD_BYTES = 1 << 16


@dataclass
class StreamResult:
    """What converting one stream did."""

    shape: Shape
    counts: Counts = field(default_factory=Counts)
    #: The reject that stopped the run (only when stopping at the first reject).
    stopped_at: Reject | None = None


def _read(stream: BinaryIO, size: int, source: str) -> bytes:
    try:
        return stream.read(size)
    except OSError as error:
        raise InputError(f"cannot read {source}: {error}") from None


def ndjson_chunks(stream: BinaryIO, head: bytes, source: str,
                  chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[int, bytes]]:
    """Split a stream into chunks of whole lines: ``(number of the first line, bytes)``."""
    line = 1
    buffer = bytearray(head)
    while True:
        block = _read(stream, chunk_bytes, source)
        if not block:
            break
        buffer += block
        cut = buffer.rfind(b"\n") + 1
        if cut and len(buffer) >= chunk_bytes:
            chunk = bytes(buffer[:cut])
            del buffer[:cut]
            yield line, chunk
            line += chunk.count(b"\n")
    if buffer:
        yield line, bytes(buffer)


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


class Record(NamedTuple):
    """One record's bytes and the line it starts on."""

    line: int
    data: bytes


def iter_records(stream: BinaryIO, source: str) -> Iterator[Record]:
    """Every record of a payload stream in order, whatever its shape; blank lines are not records.

    An array or object document that is not valid JSON is one record (the whole text):
    its records cannot be told apart.
    """
    shape, data, at_eof = _start(stream, source)
    if shape is Shape.NDJSON:
        for first, chunk in ndjson_chunks(stream, data, source):
            for number, line in enumerate(chunk.split(b"\n"), first):
                if line.strip(b" \t\r\n"):
                    yield Record(number, line[:-1] if line.endswith(b"\r") else line)
        return
    if not at_eof:
        data += _read(stream, -1, source)
    if shape is Shape.ARRAY:
        try:
            data.decode("utf-8")
            elements = list_of_raw(data)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            yield Record(1, data)
            return
        for start, element in locate_elements(data, elements):
            yield Record(start, element)
    else:
        yield Record(1, data)


def convert_stream(stream: BinaryIO, write: Callable[[bytes], object], target: Version, source: str, *,
                   on_reject: Callable[[Reject], object] | None = None, stop_at_reject: bool = False,
                   pretty: bool = False) -> StreamResult:
    """Convert every record of ``stream`` to ``target``, writing the output with ``write``.

    The output keeps the input's shape. Each rejected record goes to ``on_reject``;
    with ``stop_at_reject`` the first one ends the conversion.
    """
    shape, data, at_eof = _start(stream, source)
    result = StreamResult(shape)
    parts: Iterator[Converted]
    if result.shape is Shape.NDJSON:
        parts = (convert_lines(chunk, first, target, source, stop_at_reject=stop_at_reject)
                 for first, chunk in ndjson_chunks(stream, data, source))
    else:
        if not at_eof:
            data += _read(stream, -1, source)
        parts = iter([convert_document(data, result.shape, target, source,
                                       stop_at_reject=stop_at_reject, pretty=pretty)])
    for part in parts:
        write(part.output)
        result.counts.add(part.counts)
        if on_reject is not None:
            for reject in part.rejects:
                on_reject(reject)
        if part.stopped:
            result.stopped_at = part.rejects[-1]
            break
    return result
