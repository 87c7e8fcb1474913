"""Records in streams: a chunk of NDJSON converts exactly as its records do one by one."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate1to2 import MigrateError, Version, convert_json, rawjson
from migrate1to2.convert.records import Settings, Shape, convert_lines, detect_shape
from tests.strategies import v1_texts, v2_texts

BAD_LINES = [b'{"event_name":"x","properties":{"event_name":"y"}}', b'{"a":1,', b'[1]', b"", b"   ",
             b'{"event_name":"x","properties":{"a":1,"a":2}}', b'{"a":"\xff"}', b'{"a":"\\u001F","properties":{}}',
             b'{"properties":{"k\\u0001":1}}', b'{"properties":{}}', b'{"properties":{}} ']


def one_line(text: str) -> bytes:
    # Raw newlines only occur between tokens (inside strings they are escaped).
    return text.replace("\r", " ").replace("\n", " ").encode("utf-8")


@pytest.mark.parametrize("converter", ["compiled", "python"])
@given(st.lists(st.one_of(v1_texts(spaces=False), v2_texts(spaces=False), v1_texts(), v2_texts(),
                          st.sampled_from(BAD_LINES)), min_size=1, max_size=12),
       st.sampled_from([Version.V2, Version.V1]))
def test_chunk_equals_records_one_by_one(converter: str, texts: list[str | bytes], target: Version) -> None:
    """convert_lines gives the outputs, counts and rejected lines that convert_json gives each line
    (with the C accelerator, and with the Python converter used where it is not compiled)."""
    with mock.patch.object(rawjson, "_compiled", rawjson._compiled if converter == "compiled" else None):
        check_chunk(texts, target)


def check_chunk(texts: list[str | bytes], target: Version) -> None:
    lines = [text if isinstance(text, bytes) else one_line(text) for text in texts]
    expected_out, rejected, converted = [], [], 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            result = convert_json(line, target)
        except MigrateError:
            rejected.append(number)
            continue
        expected_out.append(result.output + b"\n")
        converted += result.converted
    done = convert_lines(b"\n".join(lines) + b"\n", 1, "x", Settings(target, stop_at_reject=False))
    assert done.output == b"".join(expected_out)
    assert [reject.line for reject in done.rejects] == rejected
    assert (done.counts.converted, done.counts.rejected) == (converted, len(rejected))
    assert done.counts.records == done.counts.converted + done.counts.unchanged + done.counts.rejected


@pytest.mark.parametrize(("head", "at_eof", "shape"), [
    pytest.param(b'{"a":1}\n{"b":2}\n', True, Shape.NDJSON, id="ndjson"),
    pytest.param(b'{"a":1}\n', True, Shape.OBJECT, id="single-line-object"),
    pytest.param(b'{\n  "a": 1\n}\n', True, Shape.OBJECT, id="pretty-object"),
    pytest.param(b'  [\n{"a":1}]', True, Shape.ARRAY, id="array"),
    pytest.param(b'{"a":1,\n{"b":2}\n', True, Shape.NDJSON, id="broken-first-line-then-records"),
    pytest.param(b'{\n  "a": 1\n  "b": 2\n}\n', True, Shape.OBJECT, id="broken-pretty-object"),
    pytest.param(b'not json\nat all\n', True, Shape.NDJSON, id="garbage-is-ndjson-records"),
    pytest.param(b'', True, Shape.NDJSON, id="empty"),
])
def test_detect_shape(head: bytes, at_eof: bool, shape: Shape) -> None:
    assert detect_shape(head, at_eof) is shape
