"""Records in a stream of payloads: splitting NDJSON, JSON documents and arrays,
converting them, and accounting for every one (converted, unchanged or rejected).

Pure functions on bytes: no file handles here (see :mod:`migrate1to2.storage.files`).
Every record keeps its location: the line it starts on in its source.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

import msgspec
from msgspec import Raw

from ..accelerator import MixedChunk
from ..accelerator import convert_mixed as mixed_chunk
from ..envelope import convert_at
from ..errors import ConversionError, InvalidJSONError, MigrateError
from ..jsontext import JSON_WS, check_utf8
from ..rawjson import fast_chunk
from ..rawjson import fast_convert as fast_record
from ..version import Version

__all__ = [
    "MAX_RECORD_BYTES",
    "Converted",
    "Counts",
    "Element",
    "Reject",
    "Settings",
    "Shape",
    "array_close",
    "array_open",
    "array_separator",
    "convert_document",
    "convert_each",
    "convert_elements",
    "convert_lines",
    "detect_shape",
]

_encode = msgspec.json.Encoder().encode
_RAW_LIST = msgspec.json.Decoder(list[Raw])
BOM = b"\xef\xbb\xbf"


class Shape(str, Enum):
    """How records are laid out in an input, and so in its output."""

    NDJSON = "ndjson"
    OBJECT = "object"
    ARRAY = "array"


#: Added to the reason of a record that holds several records separated by a lone CR (old Mac line ends).
CR_LINE_ENDS = ("; the file seems to use CR line ends (old Mac style), but records must end with LF or CRLF: "
                "convert its line ends first (e.g. tr '\\r' '\\n' < FILE > FILE.lf)")


def _cr_line_ends(record: bytes) -> bool:
    """Whether ``record``, with trailing characters after its value, looks like several records ended by a
    lone CR: a CR inside, no LF."""
    body = record.rstrip(JSON_WS)
    return b"\r" in body and b"\n" not in body


@dataclass(frozen=True)
class Reject:
    """A record that could not be converted, with its location and original bytes."""

    source: str
    line: int
    column: int | None
    reason: str
    path: str | None
    record: bytes
    #: Only the start of the record is kept (it was larger than --max-record-bytes) ...
    truncated: bool = False
    #: ... and this was its size.
    size: int | None = None

    @classmethod
    def from_error(cls, error: MigrateError, source: str, line: int, record: bytes, column: int = 1) -> Reject:
        """Locate ``error``, raised for the text ``record`` that starts on ``line`` (at ``column``) of ``source``.

        Invalid JSON is located at the error; other errors at the line where the value starts.
        """
        if isinstance(error, InvalidJSONError):
            colno = error.colno + column - 1 if error.lineno == 1 else error.colno
            reason = f"invalid JSON: {error.reason}"
            if error.reason == "trailing characters" and _cr_line_ends(record):
                reason += CR_LINE_ENDS
            return cls(source, line + error.lineno - 1, colno, reason, None, record)
        line += record[: len(record) - len(record.lstrip(JSON_WS))].count(b"\n")
        if isinstance(error, ConversionError):
            return cls(source, line, None, error.reason, error.path, record)
        return cls(source, line, None, str(error), None, record)

    @property
    def location(self) -> str:
        """``source:line[:column]``, as compilers print it."""
        column = f":{self.column}" if self.column is not None else ""
        return f"{self.source}:{self.line}{column}"

    def message(self) -> str:
        """``source:line[:column]: reason[ @ path]``."""
        where = f" @ {self.path}" if self.path else ""
        return f"{self.location}: {self.reason}{where}"

    def to_json(self) -> bytes:
        """One line of the rejects file (NDJSON, without the newline)."""
        entry: dict[str, object] = {
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
            "path": self.path,
        }
        try:
            entry["record"] = self.record.decode("utf-8")
        except UnicodeDecodeError:
            entry["record_base64"] = base64.b64encode(self.record).decode("ascii")
        if self.truncated:
            entry["record_truncated"] = True
        return _encode(entry)


#: Default for ``--max-record-bytes``: far above the API's 32 KB per event and 500 KB per batch,
#: small enough that one giant line cannot exhaust memory.
MAX_RECORD_BYTES = 16 << 20


@dataclass(frozen=True)
class Settings:
    """How records are converted (picklable: sent along with work to other processes)."""

    target: Version
    stop_at_reject: bool = True
    pretty: bool = False
    #: The JSON Pointer tokens of the payload inside each record (``()``: the record is the payload).
    payload_path: tuple[str, ...] = ()
    max_record_bytes: int = MAX_RECORD_BYTES
    #: Several inputs joined into one NDJSON output: an array's elements are written as lines.
    arrays_as_lines: bool = False


def oversized(source: str, line: int, size: int, head: bytes, limit: int) -> Reject:
    """The reject for a record larger than ``limit``: only its first bytes are kept."""
    return Reject(source, line, None, f"record of {size} bytes is larger than --max-record-bytes ({limit}); "
                  f"only its first {len(head)} bytes are kept here", None, head, truncated=True, size=size)


@dataclass
class Counts:
    """Records in == converted + unchanged + rejected, always."""

    records: int = 0
    converted: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, other: Counts) -> None:
        self.records += other.records
        self.converted += other.converted
        self.unchanged += other.unchanged
        self.rejected += other.rejected


@dataclass
class Converted:
    """The outcome of converting some records: output bytes, counts and rejects.

    ``stopped`` is true when conversion stopped at the first reject (then ``output``
    holds only the records before it).
    """

    output: bytes = b""
    counts: Counts = field(default_factory=Counts)
    rejects: list[Reject] = field(default_factory=list)
    stopped: bool = False
    #: From a worker converting a region of a file: the lines it covered (its lines count from 1).
    lines: int = 0


class _Oversized(Exception):
    """A line longer than ``max_record_bytes``."""


#: How much of an oversized record the rejects file keeps.
OVERSIZED_HEAD = 1024


def convert_lines(chunk: bytes, first_line: int, source: str, settings: Settings) -> Converted:
    """Convert the NDJSON records of ``chunk`` (whole lines; its first line is ``first_line``).

    The output has one compact line per record, in input order; blank lines are
    not records. This is the unit of work that can run in another process.
    """
    target = settings.target
    pointer = settings.payload_path
    if pointer:
        return convert_each(chunk, first_line, source, settings)
    if mixed_chunk is not None:
        return _convert_mixed(mixed_chunk, bytes(chunk), first_line, source, settings)
    if not chunk.strip(JSON_WS):  # blank lines only: nothing to look at line by line
        return Converted(lines=chunk.count(b"\n"))
    if len(chunk) <= settings.max_record_bytes:
        done = fast_chunk(chunk, target)
        if done is not None:
            return Converted(done[0], Counts(records=done[1], converted=done[1]), lines=done[2])
    return convert_each(chunk, first_line, source, settings)


def _convert_mixed(mixed: MixedChunk, chunk: bytes, first_line: int, source: str, settings: Settings) -> Converted:
    """:func:`convert_lines` in C, but for the records it leaves to Python: only those go one by one.

    The C code converts or passes through every plain, compact record (without the GIL) and hands
    each other one, alone, to :func:`convert_each` (as it would be converted in a chunk of its own),
    writing its output in its place.
    """
    rejects: list[Reject] = []
    python = Counts()  # the records done here
    stopped = False

    def odd(line: int, start: int, end: int, converted_before: int, unchanged_before: int) -> bytes | None:
        nonlocal stopped
        part = convert_each(chunk[start:end], first_line + line, source, settings)
        python.add(part.counts)
        rejects.extend(part.rejects)
        if part.stopped:  # only what came before the reject counts
            stopped = True
            python.records += converted_before + unchanged_before
            python.converted += converted_before
            python.unchanged += unchanged_before
            return None
        return part.output

    output, converted, unchanged, newlines, _ = mixed(chunk, settings.target is Version.V2,
                                                      settings.max_record_bytes, odd)
    if stopped:
        return Converted(output, python, rejects, stopped=True, lines=newlines)
    counts = Counts(records=converted + unchanged, converted=converted, unchanged=unchanged)
    counts.add(python)
    return Converted(output, counts, rejects, lines=newlines)


def convert_each(chunk: bytes, first_line: int, source: str, settings: Settings) -> Converted:
    """:func:`convert_lines` one line at a time: whatever is in the chunk, each record is accounted for."""
    target = settings.target
    pointer = settings.payload_path
    limit = settings.max_record_bytes
    outputs: list[bytes] = []
    append = outputs.append
    counts = Counts()
    rejects: list[Reject] = []
    stopped = False
    converted = 0
    lines = chunk.split(b"\n")
    if b"\r" in chunk:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    long_lines = len(chunk) > limit
    ascii_only = chunk.isascii()
    for number, line in enumerate(lines, first_line):
        try:
            if long_lines and len(line) > limit:
                raise _Oversized
            if not ascii_only:
                check_utf8(line)
            if not pointer:
                output = fast_record(line, target, utf8_checked=True)
                if output is not None:
                    append(output)
                    converted += 1
                    continue
            if not line.strip(JSON_WS):
                continue
            result = convert_at(line, pointer, target, utf8_checked=True)
        except (MigrateError, _Oversized) as error:
            if isinstance(error, _Oversized):
                rejects.append(oversized(source, number, len(line), line[:OVERSIZED_HEAD], limit))
            else:
                rejects.append(Reject.from_error(error, source, number, line))
            if settings.stop_at_reject:
                stopped = True
                break
            continue
        append(result.output)
        converted += result.converted
    counts.records = len(outputs) + len(rejects)
    counts.converted = converted
    counts.unchanged = len(outputs) - converted
    counts.rejected = len(rejects)
    output = b"\n".join(outputs) + b"\n" if outputs else b""
    return Converted(output, counts, rejects, stopped, lines=len(lines) - 1)


def detect_shape(head: bytes, at_eof: bool) -> Shape:
    """Tell the layout of an input from its first bytes (``head``, BOM already removed).

    ``[`` first: an array. A single line holding the whole input, or a first line
    that is a complete JSON value, or a second line that starts a new object: NDJSON.
    Otherwise (a pretty-printed or broken multi-line object): one JSON document.
    """
    start = head.lstrip(JSON_WS)
    if start.startswith(b"["):
        return Shape.ARRAY
    lines = [line for line in head.split(b"\n") if line.strip(JSON_WS)]
    if at_eof and len(lines) <= 1:
        return Shape.OBJECT if start.startswith(b"{") else Shape.NDJSON
    if not start.startswith(b"{") or len(lines) < 2:
        return Shape.NDJSON
    try:
        msgspec.json.decode(lines[0], type=Raw)
        return Shape.NDJSON
    except RecursionError:
        return Shape.NDJSON  # a complete (if too deeply nested) value on the first line
    except msgspec.DecodeError:
        pass
    return Shape.NDJSON if lines[1].startswith(b"{") else Shape.OBJECT


def convert_document(text: bytes, source: str, settings: Settings) -> Converted:
    """Convert a whole JSON document holding one object (arrays: :func:`convert_elements`).

    The output is compact on one line (a multi-line document is minified; a one-line document keeps
    its bytes) or indented with ``pretty``. A document that is not valid JSON is one rejected record,
    located at the error.
    """
    if len(text) > settings.max_record_bytes:
        reject = oversized(source, 1, len(text), text[:OVERSIZED_HEAD], settings.max_record_bytes)
        return Converted(b"", Counts(records=1, rejected=1), [reject], stopped=settings.stop_at_reject)
    try:
        converted = convert_at(text, settings.payload_path, settings.target)
    except MigrateError as error:
        reject = Reject.from_error(error, source, 1, text)
        return Converted(b"", Counts(records=1, rejected=1), [reject], stopped=settings.stop_at_reject)
    counts = Counts(records=1, converted=int(converted.converted), unchanged=int(not converted.converted))
    return Converted(_layout(converted.output, settings.pretty, b"\n" in text.strip(JSON_WS)) + b"\n", counts)


def _layout(text: bytes, pretty: bool, minify: bool) -> bytes:
    if pretty:
        return msgspec.json.format(text, indent=2)
    if minify:  # a multi-line document becomes one line, its whitespace dropped
        return msgspec.json.format(text, indent=-1)
    return text


#: An element of a JSON array: the line and column it starts at, and its bytes.
Element = tuple[int, int, bytes]


def convert_elements(elements: Iterable[Element], source: str, settings: Settings, *, minify: bool) -> Converted:
    """Convert elements of a JSON array; the output is the converted elements joined by
    :func:`array_separator` (the caller writes :func:`array_open` and :func:`array_close` around them),
    or with ``arrays_as_lines``, one NDJSON line each.

    Each element is a record: converted, unchanged or rejected on its own, at its own line.
    ``minify``: the array spans several lines, and its elements are written on one (an element
    that spans lines is, whatever the array does).
    """
    elements = list(elements)
    if not settings.payload_path:  # the common case: every element converts, all at once
        done = fast_chunk(b"\n".join(record for _, _, record in elements), settings.target)
        if done is not None and done[1] == len(elements):
            if settings.arrays_as_lines:
                output = done[0]
                if minify:
                    output = b"".join(msgspec.json.format(line, indent=-1) + b"\n" for line in output.split(b"\n")[:-1])
                return Converted(output, Counts(records=done[1], converted=done[1]))
            body = b"[" + done[0][:-1].replace(b"\n", b",") + b"]"
            if settings.pretty or minify:
                body = msgspec.json.format(body, indent=2 if settings.pretty else -1)
            output = body[2:-2] if settings.pretty else body[1:-1]  # without the brackets (and their newlines)
            return Converted(output, Counts(records=done[1], converted=done[1]))
    outputs: list[bytes] = []
    result = Converted()
    indent = b"\n" + b" " * 2
    for line, column, record in elements:
        try:
            converted = convert_at(record, settings.payload_path, settings.target)
        except MigrateError as error:
            result.rejects.append(Reject.from_error(error, source, line, record, column))
            if settings.stop_at_reject:
                result.stopped = True
                break
            continue
        output = _layout(converted.output, settings.pretty, minify or b"\n" in record)
        outputs.append(b"  " + output.replace(b"\n", indent) if settings.pretty else output)
        result.counts.converted += converted.converted
    result.counts.records = len(outputs) + len(result.rejects)
    result.counts.unchanged = len(outputs) - result.counts.converted
    result.counts.rejected = len(result.rejects)
    if settings.arrays_as_lines:
        result.output = b"".join(output + b"\n" for output in outputs)
    else:
        result.output = array_separator(settings.pretty).join(outputs)
    return result


def array_open(pretty: bool) -> bytes:
    """What starts a converted array that has elements."""
    return b"[\n" if pretty else b"["


def array_separator(pretty: bool) -> bytes:
    return b",\n" if pretty else b","


def array_close(pretty: bool, empty: bool) -> bytes:
    """What ends a converted array (all of it, when it has no elements)."""
    if empty:
        return b"[]\n"
    return b"\n]\n" if pretty else b"]\n"


def list_of_raw(text: bytes) -> list[Raw]:
    """The elements of a JSON array, each as its raw bytes (``msgspec`` errors if it is not one)."""
    return _RAW_LIST.decode(text)

