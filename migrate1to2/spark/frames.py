"""DataFrame mode: a column of JSON payloads converted in place (``mapInArrow`` and
:func:`migrate1to2.arrow.convert_array`), and NDJSON trees read as rows of lines.

Why not ``spark.read.text``: its default line separator also splits on a bare ``\\r`` (which JSON
allows between the tokens of a record), it decodes every line as UTF-8 (invalid bytes become U+FFFD:
the record is silently changed, where it should be rejected with its original bytes), and it tells
compression by the file name (a gzip file not named ``.gz`` comes through as compressed bytes, and an
``.xz`` or a misnamed file is read as text). :func:`read_lines` lists the files on the driver and reads
each in a task through the project's own I/O layer: compression told by magic bytes, lines split on
``\\n`` only, a BOM at the start of a file removed, values kept as bytes, line numbers kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..chunks import target_version
from ..convert.records import BOM, MAX_RECORD_BYTES, Shape, detect_shape
from ..errors import InputError
from ..storage.compression import Reader
from ..storage.files import STDIO, display_name, open_reader_for
from ..storage.plan import make_plan
from ..version import Version

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["LINES_SCHEMA", "convert_column", "read_lines"]

#: The rows of :func:`read_lines`: the file (as rejects name it), the line's number, its bytes.
LINES_SCHEMA = "source string, line long, value binary"

#: Bytes of lines per Arrow batch of :func:`read_lines` (about).
BLOCK_BYTES = 4 << 20
_JSON_WS = b" \t\r\n"


def convert_column(df: DataFrame, column: str, target: Version | str = "2.0", *, into: str | None = None,
                   status: str = "status", reason: str = "reason",
                   max_record_bytes: int = MAX_RECORD_BYTES) -> DataFrame:
    """``df`` with three more columns: ``into`` (default ``COLUMN_v2``, or ``COLUMN_v1`` downgrading), the
    converted record of ``column`` (a string or binary column of JSON texts; the new column has its type),
    ``status`` (``converted``, ``unchanged`` or ``rejected``) and ``reason`` (why a row is rejected, with
    its JSON path or column). Nulls stay null; a rejected row's output is null.

    Rows are converted in Arrow batches by :func:`migrate1to2.arrow.convert_array` on the executors
    (``mapInArrow``): the rules, reasons and bytes are the command line's.
    """
    from pyspark.sql.types import BinaryType, StringType, StructField, StructType

    version = target_version(target)
    name = into or f"{column}_{'v2' if version is Version.V2 else 'v1'}"
    kind = df.schema[column].dataType
    if not isinstance(kind, StringType | BinaryType):
        raise TypeError(f"convert_column takes a string or binary column of JSON texts, not {kind.simpleString()}")
    for taken in (name, status, reason):
        if taken in df.columns:
            raise ValueError(f"{taken!r} is already a column: choose another name (into=, status=, reason=)")
    schema = StructType([*df.schema.fields, StructField(name, kind), StructField(status, StringType()),
                         StructField(reason, StringType())])

    def convert(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from ..arrow import convert_array

        for batch in batches:
            values = batch.column(column)
            done = convert_array(values, version, max_record_bytes=max_record_bytes)
            text = pa.large_string() if pa.types.is_large_string(values.type) else pa.string()
            yield pa.RecordBatch.from_arrays(
                [*batch.columns, done.output.cast(values.type), done.status.cast(text), done.reasons.cast(text)],
                names=[*batch.schema.names, name, status, reason])

    return df.mapInArrow(convert, schema)


def read_lines(spark: SparkSession, src: str | Sequence[str], *, include: Sequence[str] = (),
               exclude: Sequence[str] = ()) -> DataFrame:
    """The NDJSON files and trees ``src`` as a DataFrame of lines: ``source`` (the file, as the command
    line's rejects name it), ``line`` (its number, from 1) and ``value`` (its bytes: no newline, no CR
    of a CRLF, no BOM). Blank lines are left out, as the command line leaves them out.

    Files are listed on the driver (the command line's walk: ``include``/``exclude`` globs, temporary
    files and links outside the tree left out) and each is read by one task through the project's I/O
    layer (gzip, zstd, bzip2, xz told by their magic bytes). A file found in a tree that does not start
    with ``{`` is not a payload file and gives no rows, as the command line skips it; a JSON array or a
    pretty-printed document is refused (convert those in files mode). Relative names are taken in the
    driver's working directory (on a cluster, give absolute paths or URLs).
    """
    inputs = [src] if isinstance(src, str) else list(src)
    if STDIO in inputs:
        raise InputError("read_lines reads files, not stdin")
    plan = make_plan(inputs, STDIO, include=include, exclude=exclude, in_place=True)
    files = spark.sparkContext.broadcast([(task.input, task.discovered) for task in plan.tasks])
    cwd = os.getcwd()
    # One row per file (its index), one partition each: each task reads its files.
    indexes = spark.range(len(plan.tasks), numPartitions=max(1, len(plan.tasks)))
    return indexes.mapInArrow(lambda batches: _read_files(batches, files.value, cwd), LINES_SCHEMA)


def _read_files(batches: Iterator[pa.RecordBatch], files: list[tuple[str, bool]], cwd: str) -> Iterator[pa.RecordBatch]:
    """The task of :func:`read_lines`: each file of the batches (indexes into ``files``), as batches of lines
    (relative names in the driver's working directory ``cwd``)."""
    from .files import in_directory

    for batch in batches:
        for index in batch.column(0).to_pylist():
            path, discovered = files[index]
            with in_directory(cwd):
                reader = open_reader_for(path)  # opened there; read wherever the generator is resumed
            yield from _file_lines(reader, display_name(path), discovered)


def _file_lines(reader: Reader, source: str, discovered: bool) -> Iterator[pa.RecordBatch]:
    line = 1
    with reader.stream as stream:
        block = b""
        while not block.lstrip(_JSON_WS) and (more := stream.read(BLOCK_BYTES)):
            block += more
        block = block.removeprefix(BOM)
        start = block.lstrip(_JSON_WS)[:1]
        if start != b"{" and discovered:
            return  # not a payload file: skipped, as the command line skips it
        if detect_shape(block, at_eof=False) is not Shape.NDJSON:
            raise InputError(f"{source}: a JSON array or a document on several lines, not NDJSON: "
                             "convert it with migrate1to2.spark.convert_files")
        rest = b""
        while block:
            data = rest + block
            cut = data.rfind(b"\n") + 1
            data, rest = data[:cut], data[cut:]
            if data:
                batch, lines = _lines_batch(source, data, line)
                line += lines
                if batch.num_rows:
                    yield batch
            block = stream.read(BLOCK_BYTES)
        if rest:
            batch, _ = _lines_batch(source, rest, line)
            if batch.num_rows:
                yield batch


def _lines_batch(source: str, data: bytes, first_line: int) -> tuple[pa.RecordBatch, int]:
    """The lines of ``data`` (whole lines; the last may lack its newline) as a batch, blank lines left out,
    the CR of a CRLF removed; and the number of lines it held. Vectorised: one pass of numpy over the bytes."""
    import numpy as np
    import pyarrow as pa

    text = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(text == 10)
    if data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    stops = ends - ((ends > starts) & (text[np.maximum(ends - 1, 0)] == 13))  # the CR of a CRLF
    keep = stops > starts
    spaced = np.flatnonzero(keep & np.isin(text[np.minimum(starts, len(data) - 1)], (9, 13, 32)))
    for index in spaced:  # a line that starts with a blank may be blank (rare: looked at one by one)
        if not data[starts[index]:stops[index]].strip(_JSON_WS):
            keep[index] = False
    starts, stops = starts[keep], stops[keep]
    lengths = stops - starts
    wanted = np.zeros(len(data) + 1, np.int8)  # +1 at each line's start, -1 after its end: a running sum
    np.add.at(wanted, starts, 1)
    np.add.at(wanted, stops, -1)
    values = text[np.cumsum(wanted[:-1]) > 0]
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    numbers = np.flatnonzero(keep) + first_line
    value = pa.Array.from_buffers(pa.binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(values)])
    batch = pa.RecordBatch.from_arrays(
        [pa.repeat(pa.scalar(source, pa.string()), len(lengths)), pa.array(numbers, pa.int64()), value],
        names=["source", "line", "value"])
    return batch, len(ends)
