"""The public chunk API (migrate1to2.convert_chunk): any buffer, the command line's exact semantics."""

from __future__ import annotations

import json
import mmap
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given

import migrate1to2
from migrate1to2 import ChunkResult, Counts, Reject, Version, convert_chunk
from migrate1to2.convert.records import Settings, convert_lines
from tests.conftest import ROOT
from tests.strategies import mixed_chunks

INVALID = ROOT / "fixtures" / "invalid"
README = (ROOT / "README.md").read_text(encoding="utf-8")
MIXED = (b'{"event_name":"a","properties":{"x":1.50},"user":{"id":"7"}}\n'
         b"{bad\r\n"
         b"\n"
         b'{"event_name":"b","context":{}}\r\n'
         b'{"properties":{"context":1}}\n'
         b'{"event_name":"\xe9"}\n'
         b'{ "event_name" : "spaced", "properties" : {} }')


def _console_script() -> str:
    return str(Path(sys.executable).parent / "migrate1to2")


def test_exported_and_typed() -> None:
    for name in ("convert_chunk", "ChunkResult", "Counts", "Reject"):
        assert name in migrate1to2.__all__
        assert f"`{name}" in README
    result = convert_chunk(b"", "2.0")
    assert result == ChunkResult(b"", Counts(), [])


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, pa.py_buffer, lambda data: memoryview(data)[0:]],
                         ids=["bytes", "bytearray", "memoryview", "pyarrow.Buffer", "slice"])
def test_any_buffer(wrap: object) -> None:
    expected = convert_lines(MIXED, 5, "t/1", Settings(Version.V2, stop_at_reject=False))
    result = convert_chunk(wrap(MIXED), Version.V2, first_line=5, source="t/1")  # type: ignore[operator]
    assert (result.output, result.counts, result.rejects) == (expected.output, expected.counts, expected.rejects)
    assert result.counts == Counts(records=6, converted=2, unchanged=1, rejected=3)
    assert [(r.line, r.column) for r in result.rejects] == [(6, 2), (9, None), (10, 16)]
    assert result.rejects[1].path == "$.properties.context"
    assert result.rejects[2].record == b'{"event_name":"\xe9"}'
    assert result.output.count(b"\n") == 3 and b"\r" not in result.output


def test_mmap(tmp_path: Path) -> None:
    path = tmp_path / "chunk.ndjson"
    path.write_bytes(MIXED)
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        assert convert_chunk(mapped, "2.0") == convert_chunk(MIXED, "2.0")


def test_target_spellings() -> None:
    assert convert_chunk(MIXED, "2") == convert_chunk(MIXED, Version.V2)
    down = convert_chunk(b'{"event_name":"a","x":1,"context":{"u":2}}\n', "1.0")
    assert down.output == b'{"event_name":"a","u":2,"properties":{"x":1}}\n'
    with pytest.raises(ValueError, match=r"unknown target version '3\.0'"):
        convert_chunk(MIXED, "3.0")


@pytest.mark.parametrize("fixture", ["bad-records.v1.ndjson", "collisions.v1.ndjson"])
def test_same_as_the_command_line(fixture: str, tmp_path: Path) -> None:
    """Output bytes, counts and the rejects file, as the real command writes them."""
    source = INVALID / fixture
    out, rejects = tmp_path / "out.ndjson", tmp_path / "rejects.ndjson"
    done = subprocess.run([_console_script(), "convert", str(source), "-o", str(out), "--rejects", str(rejects)],
                          capture_output=True, check=False)
    assert done.returncode == 1
    result = convert_chunk(source.read_bytes(), "2.0", source=str(source))
    assert result.output == out.read_bytes()
    assert [r.to_json() for r in result.rejects] == rejects.read_bytes().splitlines()
    counts = result.counts
    summary = re.search(rb"(\d+) records: (\d+) converted, (\d+) unchanged .*?(\d+) rejected", done.stderr)
    assert summary, done.stderr
    assert [int(x) for x in summary.groups()] == [counts.records, counts.converted, counts.unchanged, counts.rejected]
    assert counts.rejected >= 2  # every reject is collected, not only the first


@given(mixed_chunks(max_lines=20))
def test_every_record_accounted_for(chunk: bytes) -> None:
    result = convert_chunk(chunk, "2.0", first_line=100)
    counts = result.counts
    assert counts.records == counts.converted + counts.unchanged + counts.rejected
    assert counts.rejected == len(result.rejects)
    assert result.output.count(b"\n") == counts.converted + counts.unchanged
    lines = chunk.split(b"\n")
    for reject in result.rejects:
        assert reject.record == lines[reject.line - 100].removesuffix(b"\r")
    assert counts.records == sum(1 for line in lines if line.strip(b" \t\r"))


def test_reject_entries_are_the_cli_format() -> None:
    (reject,) = convert_chunk(b'{"event_name":"x","properties":{"event_name":1}}', "2.0", source="events/0",
                              first_line=41).rejects
    assert isinstance(reject, Reject)
    assert reject.message().startswith("events/0:41: `event_name` inside `properties`")
    assert json.loads(reject.to_json())["path"] == "$.properties.event_name"


def test_import_stays_light() -> None:
    code = ("import sys, migrate1to2; migrate1to2.convert_chunk(b'{}', '2.0'); "
            "heavy = {'pyarrow', 'pyspark', 'typer', 'fsspec', 'polars', 'pandas', 'duckdb'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def _readme_example(name: str) -> str:
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```python\n(.*?)```", README, re.DOTALL)
    assert match, f"README example {name}"
    return match.group(1)


def test_readme_kafka_example_runs() -> None:
    """The consumer example: a plain list of messages, no broker."""
    code = _readme_example("kafka")
    assert "convert_chunk" in code and "first_line=first" in code
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
