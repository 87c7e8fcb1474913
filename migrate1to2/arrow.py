"""Arrow arrays of payloads converted in place: one record per row (extra ``arrow``: pyarrow).

:func:`convert_array` takes a column of JSON texts (``string``, ``large_string``, ``binary``,
``large_binary``; ``string_view`` and ``binary_view`` are cast to the large types first) and returns
three arrays aligned with it, row for row: the converted text, a status and a reason. The compiled
path reads the array's own data, offsets and validity buffers (no copy on the way in) and writes the
output's buffers directly; rows it leaves aside (not plain and compact, or wrong) are converted or
rejected here, one at a time, exactly as the command line would.

A row is one record, whatever it holds: a row holding newlines (a pretty-printed value) is
converted like a JSON document by the command line, its output minified on one line; so no output
row holds a newline, and the rows can be written out as NDJSON as they are. An empty or blank row
is rejected (there is no JSON value in it). Nulls stay null (their status is null too).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

import msgspec

try:
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError as error:  # pragma: no cover - the test extra installs it
    raise ImportError("migrate1to2.arrow needs pyarrow: pip install 'migrate1to2[arrow]'") from error

from .chunks import target_version
from .convert.records import MAX_RECORD_BYTES, OVERSIZED_HEAD, Reject, Settings, convert_each, oversized
from .envelope import convert_at
from .errors import MigrateError
from .jsontext import JSON_WS
from .version import Version

_OFFSET = struct.Struct("<i")  # an offset of a string array

_Offsets = Callable[[object, object, bool, int, int, object, bool, int,
                    Callable[[int, int, int], tuple[int, bytes | None]]], tuple[bytes, bytes, bytes, bytes]]
_convert_offsets: _Offsets | None
try:
    from ._speedups import convert_offsets as _convert_offsets
except ImportError:  # not compiled: the same conversion, a row at a time in Python
    _convert_offsets = None

__all__ = ["STATUSES", "ArrowResult", "convert_array"]

Column = Union[pa.Array, pa.ChunkedArray]  # noqa: UP007 (pyarrow types at run time)

#: The values of the status column (a dictionary array: ``status.cast(pa.string())`` for plain strings).
STATUSES = ("converted", "unchanged", "rejected")
_DICTIONARY = pa.array(["", *STATUSES], pa.string())  # code 0 (null rows) is masked
_NULL, _CONVERTED, _UNCHANGED, _REJECTED = 0, 1, 2, 3
_VIEWS = {"string_view": pa.large_string(), "binary_view": pa.large_binary()}


@dataclass(frozen=True)
class ArrowResult:
    """What :func:`convert_array` made of an array; each array has the input's length and kind
    (an ``Array`` for an ``Array``, a ``ChunkedArray`` with the same chunks for a ``ChunkedArray``).

    - ``output``: the converted or unchanged record, of the input's type (a ``string_view`` input
      gives ``large_string``; a ``string`` input whose output outgrows 32-bit offsets gives
      ``large_string``); null for a null or rejected row.
    - ``status``: ``"converted"``, ``"unchanged"`` or ``"rejected"`` (dictionary-encoded strings),
      null for a null row. ``converted + unchanged + rejected`` is the number of non-null rows.
    - ``reasons``: for a rejected row, the reason, with its JSON path (``... @ $.properties.x``) or
      where in the row the text is invalid (``(column 12)``, with the line for a row spanning lines);
      null otherwise.
    """

    output: Column
    status: Column
    reasons: Column

    def as_struct(self, names: tuple[str, str, str] = ("payload", "status", "reason")) -> Column:
        """The three as one struct array (``status`` as plain strings), chunked as the input was:
        what a Polars ``map_batches``, a DuckDB Arrow UDF or a Spark ``mapInArrow`` returns."""
        if isinstance(self.output, pa.ChunkedArray):
            kind = pa.struct([(names[0], self.output.type), (names[1], pa.string()), (names[2], pa.string())])
            chunks = zip(self.output.chunks, self.status.chunks, self.reasons.chunks, strict=True)
            return pa.chunked_array([pa.StructArray.from_arrays([output, status.cast(pa.string()), reasons],
                                                                list(names)) for output, status, reasons in chunks],
                                    kind)
        return pa.StructArray.from_arrays([self.output, self.status.cast(pa.string()), self.reasons], list(names))


def convert_array(array: Any, target: Version | str, *, max_record_bytes: int = MAX_RECORD_BYTES) -> ArrowResult:
    """Convert every row of ``array`` (a ``pyarrow.Array`` or ``ChunkedArray`` of JSON texts, or
    anything ``pyarrow`` reads as one) to ``target`` (``"2.0"`` upgrades, ``"1.0"`` downgrades).

    The rules and reasons are the command line's (values moved, never rewritten; a row that
    cannot be converted exactly is rejected, with its reason); a row over ``max_record_bytes`` is
    rejected as oversized.
    """
    version = target_version(target)
    if not isinstance(array, pa.Array | pa.ChunkedArray):
        array = pa.chunked_array(array) if hasattr(array, "__arrow_c_stream__") else pa.array(array)
    if isinstance(array, pa.ChunkedArray):
        kind = _input_type(array.type)
        parts = [_convert(chunk, version, max_record_bytes) for chunk in array.chunks]
        if not parts:
            empty = pa.array([], kind)
            parts = [_convert(empty, version, max_record_bytes)]
        return ArrowResult(pa.chunked_array([p.output for p in parts]), pa.chunked_array([p.status for p in parts]),
                           pa.chunked_array([p.reasons for p in parts]))
    return _convert(array, version, max_record_bytes)


def _input_type(kind: pa.DataType) -> pa.DataType:
    if str(kind) in _VIEWS:
        return _VIEWS[str(kind)]
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
        raise TypeError(f"convert_array takes an array of strings or binaries (JSON texts), not {kind}")
    return kind


def _convert(array: pa.Array, version: Version, limit: int) -> ArrowResult:
    kind = _input_type(array.type)
    if kind != array.type:  # a view type: cast (a copy)
        array = array.cast(kind)
    if _convert_offsets is None:
        return _convert_python(array, version, limit)
    validity, offsets, data = array.buffers()
    wide = pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
    if data is None:  # no row has a byte
        data = pa.py_buffer(b"")
    if offsets is None:  # allowed for an empty array (as the C data interface may import one)
        offsets = pa.py_buffer(bytes(8 if wide else 4))
    reasons: dict[int, str] = {}
    row = _row_converter(version, limit)

    def odd(index: int, start: int, end: int) -> tuple[int, bytes | None]:
        code, output, reason = row(view[start:end].tobytes())
        if reason is not None:
            reasons[index] = reason
        return code, output

    view = memoryview(data)
    try:
        out_data, out_offsets, out_validity, status = _convert_offsets(
            data, offsets, wide, array.offset, len(array), validity if array.null_count else None,
            version is Version.V2, limit, odd)
    except OverflowError:  # the output does not fit 32-bit offsets
        wider = pa.large_string() if pa.types.is_string(kind) else pa.large_binary()
        return _convert(array.cast(wider), version, limit)
    finally:
        view.release()
    output = pa.Array.from_buffers(kind, len(array), [pa.py_buffer(out_validity), pa.py_buffer(out_offsets),
                                                     pa.py_buffer(out_data)])
    return ArrowResult(output, _status(status, len(array), array.null_count), _reasons(reasons, len(array)))


def _status(codes: bytes, length: int, nulls: int) -> pa.Array:
    codes_buffer = pa.py_buffer(codes)
    indices = pa.Array.from_buffers(pa.int8(), length, [None, codes_buffer])
    if nulls:  # null where the code is 0: the bitmap of code != 0, as the validity
        valid = pc.not_equal(indices, _NULL).buffers()[1]
        indices = pa.Array.from_buffers(pa.int8(), length, [valid, codes_buffer])
    return pa.DictionaryArray.from_arrays(indices, _DICTIONARY)


def _reasons(reasons: dict[int, str], length: int) -> pa.Array:
    if not reasons:
        return pa.nulls(length, pa.string())
    # Built as its buffers: a few reasons among many rows (the usual case) cost a few runs of repeated
    # offsets, not a Python list as long as the array (which took about as long as converting it).
    validity = bytearray((length + 7) // 8)
    offsets, data = bytearray(), bytearray()
    start = 0  # the first row whose offset is not written yet
    for index in sorted(reasons):
        offsets += _OFFSET.pack(len(data)) * (index + 1 - start)
        data += reasons[index].encode("utf-8")
        validity[index >> 3] |= 1 << (index & 7)
        start = index + 1
    offsets += _OFFSET.pack(len(data)) * (length + 1 - start)
    return pa.Array.from_buffers(pa.string(), length, [pa.py_buffer(validity), pa.py_buffer(offsets),
                                                       pa.py_buffer(data)], null_count=length - len(reasons))


def _convert_python(array: pa.Array, version: Version, limit: int) -> ArrowResult:
    """:func:`convert_array` without the accelerator: every row in Python (the reference, and the
    fallback where the C code is not compiled)."""
    row = _row_converter(version, limit)
    outputs: list[bytes | None] = []
    codes = bytearray()
    reasons: dict[int, str] = {}
    kind = array.type
    wide = pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
    values = array.cast(pa.large_binary() if wide else pa.binary())  # the bytes, even invalid UTF-8
    for index, value in enumerate(values):
        text = value.as_py()
        if text is None:
            outputs.append(None)
            codes.append(_NULL)
            continue
        code, output, reason = row(text)
        outputs.append(output)
        codes.append(code)
        if reason is not None:
            reasons[index] = reason
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        column = pa.array([None if o is None else o.decode("utf-8") for o in outputs], kind)
    else:
        column = pa.array(outputs, kind)
    return ArrowResult(column, _status(bytes(codes), len(array), array.null_count), _reasons(reasons, len(array)))


RowConverter = Callable[[bytes], tuple[int, bytes | None, str | None]]


def _row_converter(version: Version, limit: int) -> RowConverter:
    """One row to ``(status, output or None, reason or None)``, as the command line would convert it."""
    settings = Settings(version, stop_at_reject=False, max_record_bytes=limit)

    def row(text: bytes) -> tuple[int, bytes | None, str | None]:
        if b"\n" in text.rstrip(JSON_WS):
            return _document(text, version, limit)
        if not text.strip(JSON_WS):  # a blank row: not a record in NDJSON, but a row must have a status
            return _rejected(Reject.from_error(_blank_error(text), "", 1, text), spans_lines=False)
        # one line: exactly as a line of an NDJSON file (a trailing CR or LF is the line's end)
        done = convert_each(text.rstrip(b"\n"), 1, "", settings)
        if done.rejects:
            return _rejected(done.rejects[0], spans_lines=False)
        return (_CONVERTED if done.counts.converted else _UNCHANGED), done.output[:-1], None

    return row


def _blank_error(text: bytes) -> MigrateError:
    try:
        convert_at(text, (), Version.V2)
    except MigrateError as error:
        return error
    raise AssertionError("a blank row converted")  # pragma: no cover


def _document(text: bytes, version: Version, limit: int) -> tuple[int, bytes | None, str | None]:
    """A row spanning lines: one record, as the command line converts a JSON document (minified)."""
    if len(text) > limit:
        return _rejected(oversized("", 1, len(text), text[:OVERSIZED_HEAD], limit), spans_lines=True)
    try:
        done = convert_at(text, (), version)
    except MigrateError as error:
        return _rejected(Reject.from_error(error, "", 1, text), spans_lines=True)
    return (_CONVERTED if done.converted else _UNCHANGED), msgspec.json.format(done.output, indent=-1), None


def _rejected(reject: Reject, *, spans_lines: bool) -> tuple[int, None, str]:
    return _REJECTED, None, reason_of(reject, spans_lines=spans_lines)


def reason_of(reject: Reject, *, spans_lines: bool = False) -> str:
    """The ``reasons`` entry of a rejected row: the reason, its JSON path or its place in the row."""
    reason = reject.reason
    if reject.path:
        reason += f" @ {reject.path}"
    if reject.column is not None:
        reason += f" (line {reject.line}, column {reject.column})" if spans_lines else f" (column {reject.column})"
    return reason
