"""JSON arrays are streamed: read a block at a time, each element a record of its own."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import migrate1to2.convert.pool
from bench.generate import events
from migrate1to2 import MigrateError, Version, convert_json, rawjson
from migrate1to2.cli import main
from migrate1to2.convert import read, run
from migrate1to2.convert.read import do_work, read_units
from migrate1to2.convert.records import Reject, Settings, Shape, array_close, array_open, array_separator
from tests.strategies import v1_texts, v2_texts

ELEMENTS = st.one_of(v1_texts(), v2_texts(), st.sampled_from(['{"event_name":"x","properties":{"event_name":"y"}}',
                                                             '{"a":1,}', "3", '"s"', "[1, 2]", '{"a":"]"}']))


def streamed(data: bytes, settings: Settings, chunk_bytes: int) -> tuple[bytes, list[tuple[int, int | None, str]]]:
    """The output and the rejects (line, column, reason) of converting the array ``data``."""
    shape, units = read_units(io.BytesIO(data), "x", settings, chunk_bytes=chunk_bytes)
    assert shape is Shape.ARRAY
    parts: list[bytes] = []
    rejects: list[Reject] = []
    for unit in units:
        if isinstance(unit, Reject):
            rejects.append(unit)
            continue
        done = do_work(unit, settings)
        if done.output:
            parts.append(done.output)
        rejects.extend(done.rejects)
    pretty = settings.pretty
    output = (array_open(pretty) + array_separator(pretty).join(parts) + array_close(pretty, False) if parts
              else array_close(pretty, True))
    return output, [(reject.line, reject.column, reject.reason) for reject in rejects]


@pytest.mark.parametrize("converter", ["compiled", "python"])
@given(st.lists(ELEMENTS, max_size=8), st.sampled_from(["", " ", "\n", "\n  "]), st.booleans(),
       st.integers(1, 64))
def test_elements_convert_as_records_whatever_the_blocks(converter: str, texts: list[str], space: str, pretty: bool,
                                                         chunk_bytes: int) -> None:
    """Each element converts as convert_json converts it, at its own line, however the input is cut into blocks
    (with the C accelerator, and with the Python code used where it is not compiled)."""
    python = converter == "python"
    with mock.patch.object(read, "element_end", None if python else read.element_end), \
            mock.patch.object(rawjson, "_compiled", None if python else rawjson._compiled):
        check_elements(texts, space, pretty, chunk_bytes)


def check_elements(texts: list[str], space: str, pretty: bool, chunk_bytes: int) -> None:
    data = b"[" + space.encode()
    expected, lines = [], []
    for index, text in enumerate(texts):
        if index:
            data += b"," + space.encode()
        line = 1 + data.count(b"\n")
        data += text.encode("utf-8")
        try:
            expected.append(convert_json(text, Version.V2).output)
        except MigrateError:
            lines.append(line)
    data += space.encode() + b"]"
    if b"\n" in data:  # a multi-line array is written on one line
        expected = [msgspec.json.format(output, indent=-1) for output in expected]
    whole = b"[" + b",".join(expected) + b"]"
    settings = Settings(Version.V2, stop_at_reject=False, pretty=pretty)
    output, rejects = streamed(data, settings, chunk_bytes)
    assert output == (msgspec.json.format(whole, indent=2) if pretty else whole) + b"\n"
    assert [line for line, _, _ in rejects] == lines
    assert (output, rejects) == streamed(data, settings, 1 << 20)
    # Joined with other inputs into NDJSON: the same elements, a line each.
    joined = Settings(Version.V2, stop_at_reject=False, arrays_as_lines=True)
    _, units = read_units(io.BytesIO(data), "x", joined, chunk_bytes=chunk_bytes)
    outputs = [do_work(unit, joined).output for unit in units if not isinstance(unit, Reject)]
    assert b"".join(outputs) == b"".join(output + b"\n" for output in expected)


def big_array(path: Path, records: int) -> list[str]:
    stream = events(7)
    texts = [next(stream) for _ in range(records)]
    path.write_text("[\n" + ",\n".join(texts) + "\n]\n")
    return texts


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_a_large_array_converts_like_its_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool: str) -> None:
    monkeypatch.setattr(run, "POOL_BYTES", 0)
    monkeypatch.setattr(migrate1to2.convert.pool, "THREADS", pool == "threads")
    source = tmp_path / "big.json"
    texts = big_array(source, 3000)
    expected = b"[" + b",".join(convert_json(text, Version.V2).output for text in texts) + b"]\n"
    assert source.stat().st_size > 2 << 20  # several blocks
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}.json"
        assert main(["convert", str(source), "-o", str(out), "-q", "-j", jobs]) == 0
        assert out.read_bytes() == expected


def test_an_element_over_the_limit_is_rejected_unread(tmp_path: Path) -> None:
    source, out, rejects = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "r.ndjson"
    giant = '{"properties":{"x":"' + "y" * 300_000 + '"}}'
    source.write_text('[{"properties":{}},\n' + giant + ',\n{"event_name":"e"}]')
    assert main(["convert", str(source), "-o", str(out), "--rejects", str(rejects), "-q",
                 "--max-record-bytes", "64K"]) == 1
    assert out.read_bytes() == b'[{"context":{}},{"event_name":"e"}]\n'
    [entry] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert (entry["line"], entry["record_truncated"], len(entry["record"])) == (2, True, 1024)


def test_memory_stays_flat_on_a_large_array(tmp_path: Path) -> None:
    """A 60 MB array is converted in a process whose memory grows by far less than the array."""
    source = tmp_path / "big.json"
    stream = events(3)
    with source.open("w") as out:
        out.write("[")
        for index in range(60_000):
            out.write(("," if index else "") + next(stream))
        out.write("]")
    assert source.stat().st_size > 50 << 20
    code = ("import resource, sys; from migrate1to2.cli import main; before = resource.getrusage("
            "resource.RUSAGE_SELF).ru_maxrss; code = main(sys.argv[1:]); print(code, resource.getrusage("
            "resource.RUSAGE_SELF).ru_maxrss - before)")
    done = subprocess.run([sys.executable, "-c", code, "convert", str(source), "-o", str(tmp_path / "out.json"), "-q",
                           "-j", "1"], capture_output=True, text=True, check=True)
    exit_code, grown_kb = map(int, done.stdout.split())
    print(f"memory grew by {grown_kb} KB")
    assert exit_code == 0
    assert grown_kb < 25 << 10, f"memory grew by {grown_kb} KB"


TRICKY = {
    "nul after a scalar": b'[1\x00,{"properties":{}}]',
    "nul as an element": b'[\x00,{"properties":{}}]',
    "escaped quotes and backslashes": b'[{"properties":{"a":"\\\\\\"]}"}},"\\\\"]',
    "a newline late in a one-line array": b"[" + b'{"properties":{"p":"' + b"x" * 70_000 + b'"}},'
                                          + b'{"properties":{"a":[1,\n 2]}}]',
    "a one-line array after a blank line": b"\n[" + b'{"properties":{"p":"' + b"x" * 70_000 + b'"}},'
                                           + b'{"properties":{"a":[1, 2]}}]',
}


@pytest.mark.parametrize("data", list(TRICKY.values()), ids=list(TRICKY))
def test_compiled_and_python_agree(data: bytes) -> None:
    settings = Settings(Version.V2, stop_at_reject=False)
    compiled = streamed(data, settings, 4096)
    with mock.patch.object(read, "element_end", None), mock.patch.object(rawjson, "_compiled", None):
        assert streamed(data, settings, 4096) == compiled
    assert b"\n" not in compiled[0][:-1]  # one line, whatever the input


def test_the_blank_line_before_a_one_line_array_does_not_minify_it() -> None:
    output, _ = streamed(TRICKY["a one-line array after a blank line"], Settings(Version.V2), 4096)
    assert output.endswith(b'{"a":[1, 2],"context":{}}]\n')


@pytest.mark.parametrize("compiled", [True, False])
def test_a_long_string_over_the_limit_is_read_in_bounded_memory(compiled: bool) -> None:
    """An element over the limit is skipped a block at a time, also when a long string spans the blocks."""
    data = b'[{"properties":{"x":"' + b"y" * 200_000 + b'"}},{"properties":{}}]'
    sizes: list[int] = []
    more = read.ArrayReader._more

    def recording(self: read.ArrayReader, keep_from: int) -> bool:
        sizes.append(len(self.buf))
        return more(self, keep_from)

    settings = Settings(Version.V2, stop_at_reject=False, max_record_bytes=8192)
    with mock.patch.object(read.ArrayReader, "_more", recording), \
            mock.patch.object(read, "element_end", read.element_end if compiled else None):
        output, rejects = streamed(data, settings, 1024)
    assert output == b'[{"context":{}}]\n'
    assert [(line, reason[:9]) for line, _, reason in rejects] == [(1, "record of")]
    assert max(sizes) < 8192 + 3 * 1024 + (1 << 16)  # the limit, a few blocks, and the 64 KB head
