"""Large inputs: run time grows with the input (not its square) and memory stays bounded.

The generated inputs would take many seconds (or gigabytes) with quadratic code; the tests
assert on what is found, never on time.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrate1to2.audit import audit_paths, walk
from migrate1to2.convert.read import BrokenRecord, Record, TruncatedRecord, iter_records
from tests.audit.helpers import FIXTURES, as_tuples

PAYLOADS = FIXTURES / "payloads"


@pytest.mark.parametrize("name", [pytest.param("url", id="generic-name"),
                                  pytest.param("collectUrl", id="specific-name")])
def test_a_network_log_with_thousands_of_collect_urls(tmp_path: Path, name: str) -> None:
    """2,000 collect URLs each assigned to the same name: each is read once (not once per other one)."""
    entries = [{name: f"https://collect.commander1.com/events?tc_s=1&token=Tk{i:06d}Ab3Cd5Ef7Gh9", "status": 200}
               for i in range(2000)]
    log = tmp_path / "network.json"
    log.write_text(json.dumps({"requests": entries}, indent=1))
    report = audit_paths([str(log)], limit=0)
    # Each entry takes 4 lines (after the 2 opening ones): `{`, the URL, the status, `}`.
    assert as_tuples(report) == [("source-key", 4 + 4 * i, 60 + len(name), None) for i in range(2000)]


def test_a_har_capture_on_one_line(tmp_path: Path) -> None:
    """2,000 requests on a single 4 MB line: each body's column is counted once, from the previous one."""
    entries = [{"request": {"method": "POST", "url": "https://collect.commander1.com/events?tc_s=1",
                            "postData": {"text": json.dumps({"event_name": f"e{i}", "event_timestamp": 1700000000,
                                                             "properties": {}})}},
                "response": {"status": 200, "content": {"text": "é" * 2000}}} for i in range(2000)]
    text = json.dumps({"log": {"entries": entries}}, ensure_ascii=False)
    capture = tmp_path / "one-line.har"
    capture.write_text(text, encoding="utf-8")
    prefix = '"postData": {"text": '
    columns, at = [], 0
    for _ in entries:
        at = text.index(prefix, at) + len(prefix)
        columns.append(at + 1)  # characters, not bytes: the padding is not ASCII
    report = audit_paths([str(capture)], limit=0)
    assert as_tuples(report) == [("payload-1.0", 1, None, "1.0"),
                                 *(("timestamp-not-ms", 1, column, None) for column in columns)]
    assert report.payloads[0].versions["1.0"] == 2000


MEMORY_PROBE = """
import gzip, resource, sys
from migrate1to2.audit import audit_paths
with gzip.open(sys.argv[1], "wb", compresslevel=1) as out:
    out.write(b'{"event_name":"a","context":{},"blob":"')
    block = b"x" * (1 << 20)
    for _ in range(100):
        out.write(block)
    out.write(b'"}\\n{"event_name":"b","properties":{}}\\n')
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = audit_paths([sys.argv[1]])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print([(f.rule, f.line) for f in report.findings], report.payloads[0].versions, (after - before) * 1024)
"""


def test_a_giant_line_is_not_loaded(tmp_path: Path) -> None:
    """A 100 MB line (0.5 MB compressed) is skipped unread: reported too-large from its size, in bounded memory."""
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(tmp_path / "giant.ndjson.gz")],
                          capture_output=True, text=True, check=True)
    findings, versions, growth = done.stdout.rsplit(" ", 1)[0], None, int(done.stdout.rsplit(" ", 1)[1])
    del versions
    assert findings == ("[('too-large', 1), ('payload-1.0', 2)] "
                        "{'1.0': 1, '2.0': 0, 'either': 0, 'invalid': 1}")
    assert growth < 60_000_000, f"the process grew by {growth} bytes for a 100 MB line"


def test_a_record_over_the_cap_is_reported_from_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(walk, "MAX_RECORD_BYTES", 4096)
    text = json.dumps({"event_name": "a", "context": {}, "blob": "x" * 70_000}, indent=1) + "\n"
    (tmp_path / "big.json").write_text(text)
    report = audit_paths([str(tmp_path)])
    assert as_tuples(report) == [("too-large", 1, None, None)]
    assert report.findings[0].message == (f"the record is {len(text)} bytes, not read (over 4096 bytes); 2.0 "
                                          "accepts at most 32768 bytes (32 KB) per event")
    assert report.payloads[0].versions == {"1.0": 0, "2.0": 0, "either": 0, "invalid": 1}


@pytest.mark.parametrize(("name", "note"), [
    pytest.param("checkout.har", "skipped {path}: a HAR capture larger than 2048 bytes is not read", id="har"),
    pytest.param("collect.postman_collection.json",
                 "skipped {path}: a Postman collection larger than 2048 bytes is not read", id="postman"),
])
def test_documents_over_the_cap_are_not_read(monkeypatch: pytest.MonkeyPatch, name: str, note: str) -> None:
    monkeypatch.setattr(walk, "MAX_DOCUMENT_BYTES", 2048)
    path = str(PAYLOADS / name)
    report = audit_paths([path])
    assert (report.findings, report.payloads, report.files) == ([], [], 0)
    assert report.notes == [note.format(path=path)]


BIG_LINE = b'{"event_name":"a","blob":"' + b"x" * (3 << 20) + b'"}'


@pytest.mark.parametrize(("data", "limit", "expected"), [
    pytest.param(b'{"a":1}\n\n{"b":2}\r\n', 100, [Record(1, b'{"a":1}'), Record(3, b'{"b":2}')], id="ndjson"),
    pytest.param(b'{"a":1}\n{"b":"' + b"x" * 100 + b'"}\r\n{"c":3}\n', 50,
                 [Record(1, b'{"a":1}'), TruncatedRecord(2, b'{"b":"' + b"x" * 100 + b'"}', 108),
                  Record(3, b'{"c":3}')], id="ndjson-line-over-the-cap-in-a-chunk"),
    pytest.param(BIG_LINE + b'\n{"c":3}\n', 1 << 20,
                 [TruncatedRecord(1, BIG_LINE[:1024], len(BIG_LINE)), Record(2, b'{"c":3}')],
                 id="ndjson-giant-line-skipped-unread"),
    pytest.param(b'{\n "event_name": "a",\n "blob": "' + b"x" * 200 + b'"\n}\n', 100,
                 [TruncatedRecord(1, b'{\n "event_name": "a",\n "blob": "' + b"x" * 200 + b'"\n}\n', 236)],
                 id="object-over-the-cap"),
    pytest.param(b'[{"a":1},\n {"b":2}]', 100, [Record(1, b'{"a":1}', 2), Record(2, b'{"b":2}', 2)], id="array"),
    pytest.param(b'[{"a":1}, {"b":"' + b"x" * 100 + b'"},\n{"c":3}]', 50,
                 [Record(1, b'{"a":1}', 2), TruncatedRecord(1, b'{"b":"' + b"x" * 100 + b'"}', 108),
                  Record(2, b'{"c":3}', 1)], id="array-element-over-the-cap"),
    pytest.param(b'[{"a":1},\n {"b":2} {"c":3}]', 100,
                 [Record(1, b'{"a":1}', 2), Record(2, b'{"b":2}', 2),
                  BrokenRecord(2, 10, "expected ',' or ']' after an array element")], id="array-missing-comma"),
    pytest.param(b'[{"a":1},\n {"b":2', 100,
                 [Record(1, b'{"a":1}', 2),
                  BrokenRecord(2, 2, "unexpected end of input: an array element is incomplete")],
                 id="array-element-not-closed"),
    pytest.param(b'[{"a":1}]\n{"b":2}\n', 100,
                 [Record(1, b'{"a":1}', 2), BrokenRecord(2, 1, "unexpected text after the array")],
                 id="text-after-the-array"),
])
def test_iter_records_caps_records(data: bytes, limit: int,
                                   expected: list[Record | TruncatedRecord | BrokenRecord]) -> None:
    assert list(iter_records(io.BytesIO(data), "test", limit=limit)) == expected


def test_a_large_array_is_streamed_element_by_element(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON array is not read whole: each element is a record, one over the cap is reported too-large
    from its size, and the findings of the others are located in the file."""
    monkeypatch.setattr(walk, "MAX_RECORD_BYTES", 4096)
    monkeypatch.setattr(walk, "MAX_DOCUMENT_BYTES", 1024)  # the cap on captures: arrays are not read whole
    path = tmp_path / "events.json"
    big = {"event_name": "a", "event_id": "b", "properties": {"blob": "x" * 10000}}
    small = {"event_name": "page_view", "event_id": "c", "properties": {"user": "u"}}
    path.write_text("[" + ",\n".join([json.dumps(small)] * 1000 + [json.dumps(big)] + [json.dumps(small)]) + "]")
    report = audit_paths([str(path)], limit=0)
    assert report.notes == []
    assert [finding for finding in as_tuples(report) if finding[0] != "user-not-object"] == [
        ("payload-1.0", 1, None, "1.0"), ("too-large", 1001, None, None)]
    # Each element's findings are located in the file: the first element starts at column 2.
    assert [finding for finding in as_tuples(report) if finding[0] == "user-not-object"][:2] == [
        ("user-not-object", 1, 2 + json.dumps(small).index('"user"'), None),
        ("user-not-object", 2, 1 + json.dumps(small).index('"user"'), None)]
    assert report.payloads[0].versions == {"1.0": 1001, "2.0": 0, "either": 0, "invalid": 1}


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param('[{"event_name":"a","properties":{}}]\n{"event_name":"b","properties":{}}\n',
                 ("invalid-json", 2, 1, "invalid JSON: unexpected text after the array"), id="text-after"),
    pytest.param('[{"event_name":"a","properties":{}} {"event_name":"b","properties":{}}',
                 ("invalid-json", 1, 37, "invalid JSON: expected ',' or ']' after an array element"),
                 id="missing-comma"),
    pytest.param('[{"event_name":"a","properties":{}}]\n[{"event_name":"b","properties":{}}]\n',
                 ("invalid-json", 2, 1, "invalid JSON: unexpected text after the array"), id="two-arrays-joined"),
])
def test_a_broken_array_is_invalid_where_it_breaks(tmp_path: Path, text: str,
                                                   expected: tuple[str, int, int, str]) -> None:
    """The elements before the break are audited; the break is one invalid record, located and explained as
    `convert` explains it; what follows is not read as records."""
    path = tmp_path / "broken.json"
    path.write_text(text)
    report = audit_paths([str(path)], limit=0)
    assert [(f.rule, f.line, f.column, f.message) for f in report.findings if f.rule == "invalid-json"] == [expected]
    assert report.payloads[0].versions == {"1.0": 1, "2.0": 0, "either": 0, "invalid": 1}


def test_a_gzip_stream_is_capped_too(tmp_path: Path) -> None:
    archive = tmp_path / "events.ndjson.gz"
    archive.write_bytes(gzip.compress(b'{"event_name":"a","properties":{}}\n' + BIG_LINE + b"\n"))
    with gzip.open(archive) as stream:
        records = list(iter_records(stream, "events", limit=1 << 20))  # type: ignore[arg-type]
    assert [(type(r).__name__, r.line) for r in records] == [("Record", 1), ("TruncatedRecord", 2)]
