"""The census's common-case path gives exactly what auditing every record the slow way gives."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate1to2.audit import audit_paths
from migrate1to2.audit.census import quick_record, quick_spaced
from migrate1to2.audit.model import Finding
from migrate1to2.audit.payload import audit_record
from migrate1to2.audit.walk import MAX_EVENT_NAMES

from ..strategies import v1_texts, v2_texts

_WS = b" \t\r\n"


def _slow(data: bytes, display: str) -> tuple[list[Finding], Counter[str], dict[str, int], int]:
    """What the audit said before the census: every NDJSON line through :func:`audit_record`."""
    found: list[Finding] = []
    versions: Counter[str] = Counter()
    events: dict[str, int] = {}
    records = 0
    for number, written in enumerate(data.split(b"\n"), 1):
        line = written.removesuffix(b"\r")
        if not line.strip(_WS):
            continue
        for audit in audit_record(line):
            records += 1
            versions[audit.version] += 1
            name = audit.event_name
            if name is not None:
                if name not in events and len(events) >= MAX_EVENT_NAMES:
                    name = "(other)"
                events[name] = events.get(name, 0) + 1
            found += [item.at(display, number + item.line - 1, item.column) for item in audit.findings]
    return found, versions, events, records


def _order(item: Finding) -> tuple[int, int, str, str]:
    return item.line, item.column or 0, item.rule, item.message


def _check_same(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "records.ndjson"
    path.write_bytes(data)
    report = audit_paths(str(path), limit=0)
    expected, versions, events, records = _slow(data, str(path).replace("\\", "/"))
    got = [f for f in report.findings if f.rule != "payload-1.0"]
    assert sorted(got, key=_order) == sorted(expected, key=_order)
    (stats,) = report.payloads
    assert stats.records == records
    assert {k: v for k, v in stats.versions.items() if v} == dict(versions)
    assert stats.events == events


COMMON = [
    # The common case, 1.0 and 2.0, with the findings it handles itself.
    b'{"event_name":"a","event_id":"1","properties":{"x":1},"event_timestamp":1672531202653}',
    b'{"event_name":"a","x":1,"context":{"event_id":"1","event_timestamp":1672531202653}}',
    b'{"event_name":"a","properties":{"user":"{waiting_for_consent}"},"event_timestamp":"1672531202653"}',
    b'{"event_name":"caf\xc3\xa9","properties":{"q":"\xc3\xa9t\xc3\xa9","user":7},"event_timestamp":1672531202}',
    b'{"event_name":"a","user":[1],"context":{"d":"\xf0\x9f\x8e\xa7","event_timestamp":"2023-01-01T00:00:00Z"}}',
    b'{"event_name":"a","user":"{{user}}","context":{"event_timestamp":"${ts}"}}',
    b'{"event_name":"a","context":{"event_timestamp":1672531202653.5}}',
    b'{"event_name":"a","context":{"event_timestamp":null},"event_timestamp":true}',
    b'{"event_name":"only"}',
    b'{"event_name":"a","page":{"title":"t"}}',
    b'{"event_name":"a","properties":{},"device":{}}',
    b'{"event_name":"\\u00e9","properties":{"k":"\\ud83c\\udfa7"}}',
    b'{"event_name":"a","properties":{},"device":"userAgent"}',
    b'{"event_name":"a","properties":{"x":1e400}}',
]
SLOW = [
    # What it leaves to the slow path.
    b'{"event_name": "a", "properties": {"user": 1}, "event_timestamp": "1"}',
    b'{"event_name":"a","properties":{"x":1,"x":2}}',
    b'{"event_name":"a","event_name":"b","properties":{}}',
    b'{"event_name":"a","properties":{"event_name":"b"}}',
    b'{"event_name":"a","properties":{"context":{}}}',
    b'{"event_name":"a","properties":{},"context":{}}',
    b'{"event_name":"a","properties":[]}',
    b'{"event_name":"a","context":"x"}',
    b'{"event_name":"","properties":{}}',
    b'{"event_name":1,"properties":{}}',
    b'{"properties":{"a":1},"event_id":"1"}',
    b'{"event":"a","eventId":"1","properties":{},"version":1}',
    b'{"event_name":"a","properties":{},"device":{"userAgent":"x","cookies":"y"}}',
    b'{"event_name":"a","context":{"device":{"userAgent":"x"}}}',
    b'{"event_name":"a","properties":{"x":"\\ud800"}}',
    b'{"event_name":"a","properties":{"x":tru}}',
    b'{"event_name":"a","properties":{"x":1}',
    b'{"ev\\u0065nt_name":"a","properties":{}}',
    b'{"event_name":"a","properties":{"\\u0075ser":1}}',
    b'{"batch":[{"event_name":"a","context":{}},{"event_name":"b","context":{"event_timestamp":"1"}}]}',
    b'[1,2]',
    b'"text"',
    b'{"event_name":"a","properties":{"big":"' + b"x" * 40000 + b'"}}',
    b'  {"event_name":"a","properties":{}}',
    b'{"event_name":"a","properties":{}}\r',
    b"",
    b"   ",
]
LINES = COMMON + SLOW


@pytest.mark.parametrize("line", LINES, ids=range(len(LINES)))
def test_each_shape_gives_what_the_slow_path_gives(line: bytes, tmp_path: Path) -> None:
    _check_same(b'{"event_name":"first","properties":{}}\n' + line + b"\n", tmp_path)


def test_all_shapes_in_one_chunk(tmp_path: Path) -> None:
    _check_same(b"\n".join(LINES) + b"\n", tmp_path)


def test_invalid_utf8_in_a_chunk_is_audited_line_by_line(tmp_path: Path) -> None:
    _check_same(b"\n".join([*LINES[:4], b'{"event_name":"a","properties":{"x":"\xff"}}', *LINES[4:8]]), tmp_path)


def test_common_case_is_taken_for_compact_records() -> None:
    """The fast path is really used (a census that always fell back would pass the equality tests)."""
    assert quick_record(LINES[0]) == ("1.0", "a", [])
    assert quick_record(LINES[1]) == ("2.0", "a", [])
    assert quick_record(LINES[8]) == ("either", "only", [])
    version, name, found = quick_record(LINES[2]) or ("", "", [])
    assert (version, name) == ("1.0", "a")
    assert [(f.rule, f.build().json_path, offset) for f, offset in found] == [
        ("user-not-object", "$.properties.user", LINES[2].index(b'"user"')),
        ("timestamp-not-ms", "$.event_timestamp", LINES[2].index(b'"event_timestamp"'))]
    for slow in SLOW:
        assert quick_record(slow) is None, slow


def test_event_names_over_the_cap_count_as_other_as_before(tmp_path: Path) -> None:
    lines = [json.dumps({"event_name": f"e{i}", "properties": {}}, separators=(",", ":")).encode() for i in range(1005)]
    lines.insert(500, b'{"event_name": "slow one", "properties": {}}')
    _check_same(b"\n".join(lines) + b"\n", tmp_path)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.one_of(v1_texts(), v2_texts()), min_size=1, max_size=8))
def test_generated_records_give_what_the_slow_path_gives(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    """Property: any mix of generated 1.0 and 2.0 records, compact or not, escaped or not, audits the same."""
    data = "\n".join(['{"event_name":"first","properties":{}}', *texts]).encode("utf-8") + b"\n"
    _check_same(data, tmp_path_factory.mktemp("census"))


def test_a_compact_chunk_with_records_left_to_the_slow_path(tmp_path: Path) -> None:
    """A chunk judged at once, where some records (too large, not judged) sit between records with findings:
    every finding stays on its own record."""
    big = b'{"event_name":"big","properties":{"items":"' + b"x" * 20000 + b'"},"event_timestamp":"1"}'
    lines = [COMMON[0], COMMON[2], big, COMMON[3], COMMON[1], big, COMMON[4], COMMON[8], COMMON[2]]
    data = b"\n".join(lines) + b"\n"
    assert b"\n\n" not in data
    _check_same(data, tmp_path)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.one_of(v1_texts(spaces=False), v2_texts(spaces=False), st.sampled_from(LINES[:20])),
                      min_size=1, max_size=12))
def test_generated_compact_chunks_give_what_the_slow_path_gives(texts: list[str | bytes],
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    """Property: compact records (the chunk judged at once), with the shapes above mixed in, audit the same."""
    lines = [text if isinstance(text, bytes) else text.encode("utf-8") for text in texts]
    data = b"\n".join([b'{"event_name":"first","properties":{}}', *lines]) + b"\n"
    _check_same(data, tmp_path_factory.mktemp("census"))


def test_findings_past_the_limit_and_in_the_baseline_are_counted_as_before(tmp_path: Path) -> None:
    """The census counts findings it does not list (past --limit, or known to the baseline) without
    building them: totals, seen fingerprints and suppressed counts stay those of listing every one."""
    path = tmp_path / "many.ndjson"
    path.write_bytes(b"\n".join([COMMON[2]] * 30 + [COMMON[4]] * 5) + b"\n")
    full = audit_paths(str(path), limit=0)
    limited = audit_paths(str(path), limit=3)
    assert (limited.totals, limited.seen) == (full.totals, full.seen)
    assert len(limited.findings) == 3 * (len(full.totals) - 1) + 1  # payload-1.0 is one finding
    assert limited.unlisted == len(full.findings) - len(limited.findings)
    known = Counter(full.seen)
    baselined = audit_paths(str(path), baseline=known)
    assert (baselined.findings, baselined.suppressed, baselined.seen) == ([], len(full.findings), full.seen)


SPACED = [
    b'{"event_name": "a", "properties": {"x": 1}, "event_timestamp": 1672531202653}',
    b'{"event_name": "a", "page": {"user": 1, "note": "\\"user\\" and \\"event_timestamp\\""}, '
    b'"properties": {"q": "\\"user\\"", "user": "{waiting_for_consent}"}, "event_timestamp": "1672531202653"}',
    b'{"event_name": "caf\xc3\xa9", "x": "\xc3\xa9t\xc3\xa9", "user": 7, "context": {"event_timestamp": "2023-01-01"}}',
    b'{ "event_name" : "b" , "context" : { "event_timestamp" : 1672531202 } }',
    b'{"event_name": "a", "properties": {"x": 1, "x": 2}}',
    b'{"event_name": "a", "properties": {"event_name": "b"}}',
]


def test_records_written_with_spaces_give_what_the_slow_path_gives(tmp_path: Path) -> None:
    """`json.dumps`' default separators: minified to be judged, findings located in the text as written."""
    _check_same(b"\n".join(SPACED * 3) + b"\n", tmp_path)


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.one_of(v1_texts(spaces=True), v2_texts(spaces=True), st.sampled_from(SPACED)),
                      min_size=1, max_size=10))
def test_generated_spaced_chunks_give_what_the_slow_path_gives(texts: list[str | bytes],
                                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    """Property: records with whitespace between tokens audit the same through the census."""
    lines = [text if isinstance(text, bytes) else text.encode("utf-8") for text in texts]
    data = b"\n".join([b'{"event_name": "first", "properties": {}}', *lines]) + b"\n"
    _check_same(data, tmp_path_factory.mktemp("census"))


def test_spaced_records_are_judged_and_their_keys_found_as_written() -> None:
    judged = quick_spaced(SPACED)
    assert judged is not None
    assert [None if quick is None else quick[:2] for quick in judged] == [
        ("1.0", "a"), ("1.0", "a"), ("2.0", "café"), ("2.0", "b"), None, None]
    _, _, found = judged[1] or ("", "", [])
    assert [(problem.rule, offset) for problem, offset in found] == [
        ("user-not-object", SPACED[1].index(b'"user": "{')),
        ("timestamp-not-ms", SPACED[1].rindex(b'"event_timestamp"'))]
