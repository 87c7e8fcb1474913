"""Payload files: a mixed archive with each anomaly (in every compression), arrays, HAR captures, Postman."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from migrate1to2.audit import audit_paths
from migrate1to2.audit.classify import is_payload_root, root_keys
from tests.audit.helpers import FIXTURES, as_tuples, findings_in

PAYLOADS = FIXTURES / "payloads"
MIXED = PAYLOADS / "mixed.ndjson"

MIXED_FINDINGS = [
    ("payload-1.0", 2, None, "1.0"),
    ("invalid-json", 3, 29, None),  # missing comma
    ("collision", 4, 60, None),  # properties.event_name (the Android "hidden_event" case)
    ("too-large", 5, 1, None),
    ("timestamp-not-ms", 6, 54, None),  # seconds, in context
    ("timestamp-not-ms", 7, 39, None),  # ISO-8601 string
    ("timestamp-not-ms", 8, 51, None),  # numeric string
    ("legacy-shape", 9, 2, "1.0"),  # pre-1.0 draft: event, eventId, eventTimestamp, device.userAgent/cookies
    ("legacy-shape", 9, 22, "1.0"),
    ("legacy-shape", 9, 48, "1.0"),
    ("legacy-shape", 9, 98, "1.0"),
    ("legacy-shape", 9, 124, "1.0"),
    ("legacy-shape", 10, 2, "1.0"),  # 1.0 web container: event, eventId, version: 1
    ("legacy-shape", 10, 21, "1.0"),
    ("legacy-shape", 10, 37, "1.0"),
    ("user-not-object", 11, 27, None),  # "{waiting_for_consent}"
    ("missing-event-name", 12, 1, None),
    ("ambiguous-version", 13, 45, None),  # properties and context
    ("not-an-object", 15, 1, None),
    ("duplicate-key", 17, 60, None),
    ("timestamp-not-ms", 18, 108, None),  # seconds, in the 1.0 event of a batch
    ("timestamp-not-ms", 20, 55, None),  # microseconds
]
MIXED_STATS = {
    "kind": "records", "records": 20, "versions": {"1.0": 7, "2.0": 9, "either": 1, "invalid": 3},
    "events": {"add_to_cart": 1, "heartbeat": 1, "hidden_event": 1, "login": 1, "logout": 1, "page_view": 4,
               "purchase": 4, "refund": 1, "search": 2, "view_item": 1},
}


def test_mixed_archive_findings() -> None:
    assert findings_in(MIXED) == MIXED_FINDINGS


def test_mixed_archive_counts() -> None:
    (stats,) = audit_paths([str(MIXED)]).payloads
    assert {k: v for k, v in stats.to_dict().items() if k != "path"} == MIXED_STATS


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": zstandard.ZstdCompressor().compress,
}


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_compressed_archives_give_the_same_findings(suffix: str, tmp_path: Path) -> None:
    archive = tmp_path / f"mixed.ndjson{suffix}"
    archive.write_bytes(COMPRESSORS[suffix](MIXED.read_bytes()))
    report = audit_paths([str(tmp_path)], limit=0)
    assert as_tuples(report) == MIXED_FINDINGS
    assert report.payloads[0].path == f"{tmp_path}/mixed.ndjson{suffix}"
    assert report.payloads[0].records == MIXED_STATS["records"]


def test_compressed_file_without_inner_extension_is_read_as_payloads(tmp_path: Path) -> None:
    (tmp_path / "events-2023-11-14.gz").write_bytes(gzip.compress(b'{"event_name":"a","properties":{}}\n'))
    (tmp_path / "sources.tar.gz").write_bytes(gzip.compress(b"not payloads"))
    report = audit_paths([str(tmp_path)])
    assert [(p.path.rsplit("/", 1)[1], p.versions["1.0"]) for p in report.payloads] == [("events-2023-11-14.gz", 1)]


def test_corrupt_archive_is_an_error_naming_the_file(tmp_path: Path) -> None:
    data = gzip.compress(MIXED.read_bytes())
    (tmp_path / "broken.ndjson.gz").write_bytes(data[: len(data) // 2])
    report = audit_paths([str(tmp_path)])
    assert len(report.errors) == 1
    assert f"{tmp_path}/broken.ndjson.gz" in report.errors[0]


def test_json_array_lines_and_columns() -> None:
    report = audit_paths([str(PAYLOADS / "array.json")])
    # A finding about the whole record has no column; one inside it is located in the file.
    assert as_tuples(report) == [("payload-1.0", 7, None, "1.0"), ("user-not-object", 11, 7, None)]
    assert report.payloads[0].versions == {"1.0": 1, "2.0": 1, "either": 1, "invalid": 0}


def test_json_lines_that_are_not_payloads_are_skipped_unless_named(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text('{"text": "hello", "label": 1}\n')
    assert (audit_paths([str(tmp_path)]).payloads, audit_paths([str(tmp_path)]).files) == ([], 0)
    named = audit_paths([str(tmp_path / "train.jsonl")])
    assert (named.findings, named.payloads, named.files) == ([], [], 1)
    assert named.notes == [f"{tmp_path}/train.jsonl: no record in its first 64 KB is an event (none has `event_name` "
                           "at its root): audited for source keys only"]


def test_json_that_is_not_payloads_is_not_counted() -> None:
    report = audit_paths([str(PAYLOADS / "package.json")])
    assert (report.findings, report.payloads, report.files) == ([], [], 1)


def _gzipped(name: str, tmp_path: Path) -> Path:
    target = tmp_path / f"{name}.gz"
    target.write_bytes(gzip.compress((PAYLOADS / name).read_bytes()))
    return target


@pytest.mark.parametrize(("name", "make"), [
    pytest.param("event.schema.json", None, id="json-schema-of-the-2.0-event"),
    pytest.param("tracking-plan.json", None, id="tracking-plan"),
    pytest.param("segment-export.ndjson", _gzipped, id="gzipped-segment-export"),
])
@pytest.mark.parametrize("named", [pytest.param(False, id="in-a-folder"), pytest.param(True, id="named")])
def test_json_with_event_keys_below_the_root_is_not_payloads(
        tmp_path: Path, name: str, make: Callable[[str, Path], Path] | None, named: bool) -> None:
    """`event_name` / `event` + `properties` nested in a schema, a plan or another vendor's export: no payload."""
    path = make(name, tmp_path) if make else Path(shutil.copy(PAYLOADS / name, tmp_path / name))
    report = audit_paths([str(path if named else tmp_path)], limit=0)
    assert (as_tuples(report), report.payloads) == ([], [])


@pytest.mark.parametrize(("head", "roots"), [
    pytest.param(b'{"event_name":"a","properties":{"event_id":"x"}}\n{"context":{},"b":1}\n',
                 [{b"event_name", b"properties"}, {b"context", b"b"}], id="ndjson"),
    pytest.param(b'[\n {"event":"a","eventId":"1"},\n {"x":{"event_name":"y"}}\n]',
                 [{b"event", b"eventId"}, {b"x"}], id="array"),
    pytest.param(b'{"batch":[{"event_name":"a","context":{}},{"event_name":"b"}]}',
                 [{b"batch"}, {b"event_name", b"context"}, {b"event_name"}], id="batch"),
    pytest.param(b'{"a":"{\\"event_name\\":1}","b":[{"event_name":1}]}', [{b"a", b"b"}], id="keys-in-strings"),
    pytest.param(b'{"event_name":"a" "broken":\n{"event_name":"b"}\n', [{b"event_name", b"broken"}, {b"event_name"}],
                 id="broken-line-then-a-record"),
])
def test_root_keys(head: bytes, roots: list[set[bytes]]) -> None:
    assert root_keys(head) == roots


@pytest.mark.parametrize(("keys", "payload"), [
    pytest.param({b"event_name"}, True, id="event-name"),
    pytest.param({b"event_id", b"properties"}, True, id="event-id-and-container"),
    pytest.param({b"event", b"eventId", b"properties"}, True, id="1.0-web-container"),
    pytest.param({b"event", b"eventTimestamp", b"device"}, True, id="pre-1.0-draft"),
    pytest.param({b"event", b"properties", b"type", b"messageId"}, False, id="segment"),
    pytest.param({b"$schema", b"properties"}, False, id="json-schema"),
    pytest.param({b"event_id"}, False, id="event-id-alone"),
])
def test_payload_roots(keys: set[bytes], payload: bool) -> None:
    assert is_payload_root(keys) is payload


def test_a_file_mixing_payloads_and_other_records_is_a_payload_file(tmp_path: Path) -> None:
    """One payload among the first records makes a payload file; its other records are audited as records."""
    (tmp_path / "log.ndjson").write_text('{"level":"info","msg":"started"}\n{"event_name":"a","context":{}}\n')
    report = audit_paths([str(tmp_path)], limit=0)
    assert as_tuples(report) == [("payload-1.0", 1, None, "1.0"), ("missing-event-name", 1, 1, None)]
    assert report.payloads[0].versions == {"1.0": 1, "2.0": 1, "either": 0, "invalid": 0}


def test_har_capture() -> None:
    report = audit_paths([str(PAYLOADS / "checkout.har")], limit=0)
    assert as_tuples(report) == [
        ("source-key", 22, 18, None),  # token= in the collect URL
        ("payload-1.0", 36, None, "1.0"),
        ("timestamp-not-ms", 36, 21, None),  # at the body's string
        ("source-key", 75, 24, None),  # Authorization: Bearer
        ("invalid-json", 203, 21, None),  # the first-party /cdp/events body has a trailing comma
    ]
    (stats,) = report.payloads
    assert (stats.kind, stats.records, stats.versions) == ("har", 4, {"1.0": 1, "2.0": 2, "either": 0, "invalid": 1})
    assert stats.events == {"page_view": 1, "purchase": 1, "search": 1}  # Google Analytics' body is not counted
    invalid = report.findings[-1]
    assert invalid.message == ("invalid JSON: trailing comma in object (in the request body, at its line 1, "
                               "column 57)")


def test_postman_collection() -> None:
    report = audit_paths([str(PAYLOADS / "collect.postman_collection.json")], limit=0)
    # {{$timestamp}} is an unknown variable: a placeholder, not judged; {{source_key}} is not a key.
    assert as_tuples(report) == [
        ("payload-1.0", 23, None, "1.0"),
        ("source-key", 60, 28, None),  # bearer auth
        ("user-not-object", 73, 22, None),
    ]
    (stats,) = report.payloads
    assert (stats.kind, stats.records, stats.events) == ("postman", 2, {"page_view": 1, "purchase": 1})


def test_postman_collection_with_the_host_in_an_environment() -> None:
    """`{{collect_host}}/events?tc_s=...` is a collect request; the key in `variable` is reported; a variable's
    value quoted in a message is masked."""
    report = audit_paths([str(PAYLOADS / "collect-env.postman_collection.json")], limit=0)
    assert as_tuples(report) == [
        ("payload-1.0", 15, None, "1.0"),
        ("user-not-object", 15, 18, None),
        ("source-key", 30, 36, None),  # the collection's `source_key` variable
    ]
    (stats,) = report.payloads
    assert (stats.records, stats.events) == (1, {"purchase": 1})  # {{crm_host}}/events is another API
    assert report.findings[1].message == '`user` is a string ("Zq8R…(32)"), not an object'


@pytest.mark.parametrize(("url", "collect"), [
    pytest.param("{{collect_host}}/events?tc_s=1", True, id="collect-variable"),
    pytest.param("https://{{host}}/events/batch?tc_s=1", True, id="site-parameter"),
    pytest.param("{{tc_host}}/cdp/events", True, id="tc-variable-first-party"),
    pytest.param("{{host}}/events", False, id="any-host"),
    pytest.param("{{fetch_host}}/events", False, id="tc-inside-a-word"),
    pytest.param("{{collect_host}}/v1/track", False, id="other-path"),
])
def test_postman_urls_with_a_variable_host(tmp_path: Path, url: str, collect: bool) -> None:
    collection = {"info": {"_postman_id": "1"}, "item": [{"name": "x", "request": {
        "method": "POST", "url": url, "body": {"mode": "raw", "raw": '{"event_name": "a", "properties": {}}'}}}]}
    (tmp_path / "c.json").write_text(json.dumps(collection))
    (stats,) = audit_paths([str(tmp_path)]).payloads
    assert stats.records == (1 if collect else 0)


def test_postman_is_told_by_content_not_name(tmp_path: Path) -> None:
    shutil.copy(PAYLOADS / "collect.postman_collection.json", tmp_path / "api.json")
    (stats,) = audit_paths([str(tmp_path)]).payloads
    assert stats.kind == "postman"


def test_invalid_har_is_one_finding(tmp_path: Path) -> None:
    (tmp_path / "broken.har").write_text('{"log": {"entries": [}\n')
    report = audit_paths([str(tmp_path)])
    assert as_tuples(report) == [("invalid-json", 1, 22, None)]


def test_limit_lists_the_first_findings_of_each_rule_and_counts_all(tmp_path: Path) -> None:
    line = b'{"event_name":"a","context":{"event_timestamp":1700000000}}\n'
    (tmp_path / "seconds.ndjson").write_bytes(line * 250)
    report = audit_paths([str(tmp_path)], limit=10)
    assert [f.line for f in report.findings] == list(range(1, 11))
    assert (report.totals["timestamp-not-ms"], report.unlisted) == (250, 240)


MEMORY_PROBE = """
import resource, sys
from migrate1to2.audit import audit_paths
from migrate1to2.audit.classify import is_payload_root, root_keys
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = audit_paths([sys.argv[1]])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(report.payloads[0].records, report.totals["timestamp-not-ms"], (after - before) * 1024)
"""


def test_large_ndjson_archive_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    """Auditing a 60 MB archive grows the process by far less than the archive: records are streamed."""
    record = (b'{"event_name":"page_view","event_id":"%d","event_timestamp":1700000000,'
              b'"properties":{"page":"%s"}}\n')
    archive = tmp_path / "big.ndjson.gz"
    block = b"".join(record % (i, b"x" * 1500) for i in range(1000))
    with gzip.open(archive, "wb", compresslevel=1) as out:
        for _ in range(40):
            out.write(block)
    size = 40 * len(block)
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(archive)], capture_output=True, text=True,
                          check=True)
    records, listed_rule_total, growth = map(int, done.stdout.split())
    assert (records, listed_rule_total) == (40_000, 40_000)
    assert size > 60_000_000
    assert growth < 25_000_000, f"the process grew by {growth} bytes for a {size}-byte archive"
