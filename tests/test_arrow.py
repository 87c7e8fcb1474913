"""Arrow arrays (migrate1to2.arrow.convert_array): row for row what convert_chunk makes of each record.

The compiled path (``convert_offsets`` in migrate1to2/_speedups.c) is compared with per-row
``convert_chunk`` and ``convert_json`` and with the module's pure-Python path (the fallback where the C
code is not compiled), on generated, odd and damaged rows, nulls, slices and every string and binary type.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tracemalloc
from typing import Any

import msgspec
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate1to2 import MigrateError, Version, convert_chunk, convert_json
from migrate1to2 import arrow as arrow_module
from migrate1to2._speedups import convert_offsets
from migrate1to2.arrow import STATUSES, ArrowResult, convert_array, reason_of
from tests.conftest import ROOT
from tests.strategies import ODD_LINES, record_lines, v1_texts, v2_texts

README = (ROOT / "README.md").read_text(encoding="utf-8")
BINARY = [pa.binary(), pa.large_binary()]
TEXT = [pa.string(), pa.large_string()]
VIEWS = [pa.string_view(), pa.binary_view()]  # pyarrow >= 16 (the extras ask for it)
WS = b" \t\r\n"


def expected_row(row: bytes | None, target: Version) -> tuple[bytes | None, str | None, str | None]:
    """(output, status, reason) of one row without newlines, from convert_chunk on that one line."""
    if row is None:
        return None, None, None
    if not row.strip(WS):
        return None, "rejected", "invalid JSON: unexpected end of input: the JSON value is incomplete (column 1)"
    done = convert_chunk(row + b"\n", target)
    assert done.counts.records == 1
    if done.rejects:
        return None, "rejected", reason_of(done.rejects[0])
    status = "converted" if done.counts.converted else "unchanged"
    output = done.output[:-1]
    try:
        assert convert_json(row, target).output == output  # the per-record API agrees
    except MigrateError:  # pragma: no cover - convert_chunk accepted it, so must convert_json
        raise
    return output, status, None


def as_rows(result: ArrowResult) -> list[tuple[Any, Any, Any]]:
    return list(zip(result.output.to_pylist(), result.status.to_pylist(), result.reasons.to_pylist(), strict=True))


def encoded(value: Any) -> bytes | None:
    return value.encode("utf-8") if isinstance(value, str) else value


def test_the_accelerator_is_used() -> None:
    assert arrow_module._convert_offsets is convert_offsets


rows_strategy = st.lists(st.one_of(record_lines(), st.none(), st.sampled_from(ODD_LINES)), max_size=25)


@given(rows_strategy, st.sampled_from(BINARY), st.sampled_from([Version.V2, Version.V1]), st.data())
def test_binary_rows_as_convert_chunk(rows: list[bytes | None], kind: pa.DataType, target: Version,
                                      data: st.DataObject) -> None:
    array = pa.array(rows, kind)
    start = data.draw(st.integers(0, len(rows)))
    stop = data.draw(st.integers(start, len(rows)))
    sliced = array.slice(start, stop - start)  # an offset into the buffers, and a validity bitmap shifted
    result = convert_array(sliced, target)
    expected = [expected_row(row, target) for row in rows[start:stop]]
    assert [(encoded(o), s, r) for o, s, r in as_rows(result)] == expected
    assert result.output.type == kind and len(result.status) == len(sliced)
    assert result.output.null_count == sum(1 for o, _, _ in expected if o is None)
    python = arrow_module._convert_python(sliced, target, arrow_module.MAX_RECORD_BYTES)
    assert as_rows(python) == as_rows(result)
    result.output.validate(full=True)


@given(st.lists(st.one_of(record_lines(), st.none()), max_size=20), st.sampled_from(TEXT))
def test_text_rows_as_convert_chunk(rows: list[bytes | None], kind: pa.DataType) -> None:
    texts = [row for row in rows if row is None or _utf8(row)]
    array = pa.array([None if row is None else row.decode("utf-8") for row in texts], kind)
    result = convert_array(array, "2.0")
    assert [(encoded(o), s, r) for o, s, r in as_rows(result)] == [expected_row(row, Version.V2) for row in texts]
    result.output.validate(full=True)  # valid UTF-8 offsets and data


def _utf8(row: bytes) -> bool:
    try:
        row.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(st.one_of(v1_texts(spaces=True), v2_texts(spaces=True)))
def test_a_row_spanning_lines_is_one_record(text: str) -> None:
    """A pretty-printed value in a row: one record, converted as a JSON document, minified."""
    row = text.encode("utf-8")
    ((output, status, reason),) = as_rows(convert_array(pa.array([row], pa.binary()), "2.0"))
    done = convert_json(row, Version.V2)
    assert reason is None
    assert status == ("converted" if done.converted else "unchanged")
    expected = msgspec.json.format(done.output, indent=-1) if b"\n" in row.strip(WS) else done.output
    assert output == expected
    assert b"\n" not in output


def test_rows_spanning_lines_examples() -> None:
    rows = [b'{\n  "event_name": "a",\n  "properties": {"x": 1.50}\n}',
            b'{\n  "event_name": "a",\n  "properties": {"x": 1,}\n}',
            b'{"event_name":"a",\n"properties":{"event_name":1}}',
            b'{"event_name":"a","properties":{}}\n']  # a trailing newline: one line, the line's end
    assert as_rows(convert_array(pa.array(rows, pa.binary()), "2.0")) == [
        (b'{"event_name":"a","x":1.50,"context":{}}', "converted", None),
        (None, "rejected", "invalid JSON: trailing comma in object (line 3, column 25)"),
        (None, "rejected", "`event_name` inside `properties` would become or overwrite the root `event_name` in 2.0; "
                           "rename or remove it before converting @ $.properties.event_name"),
        (b'{"event_name":"a","context":{}}', "converted", None),
    ]


def test_nulls_blank_rows_and_statuses() -> None:
    array = pa.array(['{"event_name":"a","properties":{}}', None, "", "  ", '{"context":{}}', "[1]"], pa.string())
    result = convert_array(array, "2.0")
    assert result.status.to_pylist() == ["converted", None, "rejected", "rejected", "unchanged", "rejected"]
    assert result.output.to_pylist()[1:4] == [None, None, None]
    assert result.reasons.to_pylist()[:2] == [None, None]
    assert result.reasons[5].as_py() == "a payload must be a JSON object, got an array @ $"
    assert pa.types.is_dictionary(result.status.type)
    assert set(result.status.dictionary.to_pylist()) >= set(STATUSES)


def test_invalid_utf8_in_a_string_array_is_rejected() -> None:
    """A producer that did not validate its strings: the row is rejected, the output stays valid."""
    data = b'{"a":"\xff"}{"event_name":"b","properties":{}}'
    offsets = pa.array([0, 9, len(data)], pa.int32()).buffers()[1]
    array = pa.Array.from_buffers(pa.string(), 2, [None, offsets, pa.py_buffer(data)])
    result = convert_array(array, "2.0")
    assert result.status.to_pylist() == ["rejected", "converted"]
    assert "invalid UTF-8" in result.reasons[0].as_py()
    result.output.validate(full=True)
    assert as_rows(arrow_module._convert_python(array, Version.V2, 1 << 20)) == as_rows(result)


def test_without_the_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the C code is not compiled, convert_array takes the Python path, with the same results."""
    array = pa.array(['{"event_name":"a","properties":{"x":1}}', None, "{bad", '{"context":{}}', "{\n}"]).slice(1)
    compiled = as_rows(convert_array(array, "2.0"))
    monkeypatch.setattr(arrow_module, "_convert_offsets", None)
    assert as_rows(convert_array(array, "2.0")) == compiled


def test_chunked_arrays_keep_their_chunks() -> None:
    chunked = pa.chunked_array([pa.array(['{"properties":{}}', None]), pa.array([], pa.string()), pa.array(["{bad"])])
    result = convert_array(chunked, "2.0")
    assert isinstance(result.output, pa.ChunkedArray)
    assert [len(chunk) for chunk in result.output.chunks] == [2, 0, 1]
    assert result.status.to_pylist() == ["converted", None, "rejected"]
    assert result.output.to_pylist() == ['{"context":{}}', None, None]
    empty = convert_array(pa.chunked_array([], pa.large_binary()), "2.0")
    assert len(empty.output) == 0 and empty.output.type == pa.large_binary()
    struct = result.as_struct()
    assert struct.to_pylist()[0] == {"payload": '{"context":{}}', "status": "converted", "reason": None}


@pytest.mark.parametrize("kind", VIEWS, ids=str)
def test_view_types_are_cast(kind: pa.DataType) -> None:
    values = ['{"event_name":"a","properties":{"x":1}}', None, '{"context":{}}']
    array = pa.array([v if v is None or "string" in str(kind) else v.encode() for v in values], kind)
    result = convert_array(array, "2.0")
    assert result.output.type in (pa.large_string(), pa.large_binary())
    assert result.status.to_pylist() == ["converted", None, "unchanged"]


def test_other_types_are_refused() -> None:
    with pytest.raises(TypeError, match="strings or binaries"):
        convert_array(pa.array([1, 2]), "2.0")


def test_bad_offsets_are_an_error_not_a_crash() -> None:
    data = pa.py_buffer(b'{"a":1}')
    too_far = pa.array([0, 7, 99], pa.int32()).buffers()[1]
    with pytest.raises(ValueError, match="outside the data"):
        convert_offsets(data, too_far, False, 0, 2, None, True, 1 << 20, lambda *_: (3, None))
    backwards = pa.array([0, 7, 3, 7], pa.int32()).buffers()[1]
    with pytest.raises(ValueError, match="row 1"):
        convert_offsets(data, backwards, False, 0, 3, None, True, 1 << 20, lambda *_: (3, None))
    with pytest.raises(ValueError, match="too short"):
        convert_offsets(data, too_far, False, 0, 5, None, True, 1 << 20, lambda *_: (3, None))


def test_oversized_rows_are_rejected() -> None:
    big = '{"event_name":"a","properties":{"x":"' + "y" * 200 + '"}}'
    result = convert_array(pa.array([big, '{"properties":{}}']), "2.0", max_record_bytes=100)
    assert result.status.to_pylist() == ["rejected", "converted"]
    assert "larger than --max-record-bytes (100)" in result.reasons[0].as_py()


def test_no_copy_of_the_input() -> None:
    """The data buffer is read in place: memory grows by the output, not by a copy of the input too."""
    line = '{"event_name":"page","properties":{"a":"' + "x" * 400 + '"},"user":{"id":1}}'
    array = pa.array([line] * 20000, pa.large_string())
    size = array.buffers()[2].size
    tracemalloc.start()
    try:
        result = convert_array(array, "2.0")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status.to_pylist()[-1] == "converted"
    assert peak < 1.6 * size, (peak, size)  # the output is ~1.03x the input; a copy would add 1x


def _readme_example(name: str) -> str:
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```python\n(.*?)```", README, re.DOTALL)
    assert match, f"README example {name}"
    return match.group(1)


@pytest.mark.parametrize("name", ["polars", "duckdb", "pandas"])
def test_readme_examples_run(name: str) -> None:
    code = _readme_example(name)
    assert "convert_array" in code
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_objects_pyarrow_reads() -> None:
    """A Polars Series (the Arrow C stream interface) or a pandas Series is read as a chunked array."""
    import pandas as pd
    import polars as pl

    for column in (pl.Series(['{"properties":{}}', None]), pd.Series(['{"properties":{}}', None], dtype="string[pyarrow]")):
        result = convert_array(column, "2.0")
        assert result.status.to_pylist() == ["converted", None]
        assert result.output.to_pylist() == ['{"context":{}}', None]
