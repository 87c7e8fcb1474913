"""The one payload detector (storage.payloads): what names and first bytes say, and that convert and audit
read the same files as payload files through it."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from migrate1to2 import upgrade_json
from migrate1to2.audit import audit_paths
from migrate1to2.storage.payloads import Framing, document_framing, file_framing, named_framing, starts_like_json
from tests.conftest import FIXTURES
from tests.helpers import Cli, Run

V1 = b'{"event_name":"a","properties":{}}\n'
HAR = FIXTURES / "audit" / "payloads" / "checkout.har"
POSTMAN = FIXTURES / "audit" / "payloads" / "collect.postman_collection.json"


@pytest.mark.parametrize(("name", "named", "compressed", "plain"), [
    pytest.param("x.ndjson", Framing.RECORDS, Framing.RECORDS, Framing.RECORDS, id="ndjson"),
    pytest.param("x.jsonl", Framing.RECORDS, Framing.RECORDS, Framing.RECORDS, id="jsonl"),
    pytest.param("x.jsonlines", Framing.RECORDS, Framing.RECORDS, Framing.RECORDS, id="jsonlines"),
    pytest.param("X.JSONLINES.GZ", Framing.RECORDS, Framing.RECORDS, None, id="upper-case-compressed"),
    pytest.param("x.json", Framing.JSON, Framing.JSON, Framing.JSON, id="json"),
    pytest.param("x.json.zst", Framing.JSON, Framing.JSON, None, id="json-zstd"),
    pytest.param("capture.har", Framing.HAR, Framing.HAR, Framing.HAR, id="har"),
    pytest.param("capture.har.xz", Framing.HAR, Framing.HAR, None, id="har-xz"),
    pytest.param("events.gz", None, Framing.RECORDS, None, id="compressed-without-extension"),
    pytest.param("events.log", None, None, None, id="log"),
    pytest.param("backup.tar.gz", None, None, None, id="tarball"),
    pytest.param(".ndjson", None, Framing.RECORDS, None, id="a-dot-name-is-no-suffix"),
])
def test_names(name: str, named: Framing | None, compressed: Framing | None, plain: Framing | None) -> None:
    assert (named_framing(name), file_framing(name, compressed=True), file_framing(name, compressed=False)) == (
        named, compressed, plain)


@pytest.mark.parametrize(("head", "json_start", "document"), [
    pytest.param(b'{"event_name":"a"}', True, Framing.JSON, id="object"),
    pytest.param(b'\xef\xbb\xbf \n[{"event_name":"a"}]', True, Framing.JSON, id="bom-array"),
    pytest.param(b'{\n  "log": {"version": "1.2"', True, Framing.HAR, id="har"),
    pytest.param(b'{"info":{"_postman_id":"x"}}', True, Framing.POSTMAN, id="postman"),
    pytest.param(b'{"event_name":"a","log":{}}', True, Framing.JSON, id="log-not-first"),
    pytest.param(b"event_name=a", False, Framing.JSON, id="text"),
    pytest.param(b"", False, Framing.JSON, id="empty"),
])
def test_first_bytes(head: bytes, json_start: bool, document: Framing) -> None:
    assert (starts_like_json(head), document_framing(head)) == (json_start, document)


def test_every_framing_of_the_detector_is_known_to_both() -> None:
    assert [framing.value for framing in Framing] == ["records", "json", "har", "postman"]
    assert [framing for framing in Framing if framing.capture] == [Framing.HAR, Framing.POSTMAN]


def payload_tree(root: Path) -> Path:
    source = root / "src"
    source.mkdir()
    (source / "a.ndjson").write_bytes(V1)
    (source / "b.jsonlines").write_bytes(V1)
    (source / "c.jsonl.gz").write_bytes(gzip.compress(V1))
    (source / "d.json").write_bytes(b"[" + V1.strip() + b"]")
    shutil.copy(HAR, source / "checkout.har")
    shutil.copy(HAR, source / "renamed-capture.json")
    shutil.copy(POSTMAN, source / "collect.postman_collection.json")
    return source


def test_convert_skips_captures_in_a_tree_and_says_why(cli: Cli, tmp_path: Path) -> None:
    """A HAR capture or a Postman collection found in a tree is not converted (it used to be one 1.0 record,
    the whole capture moved into `context`); `.jsonlines` files are, as before."""
    source, dest = payload_tree(tmp_path), tmp_path / "dest"
    stats = tmp_path / "stats.json"
    result = cli("convert", source, "-o", dest, "--stats", stats, "-j", "1")
    reason = "not a payload file ({}: the events in its requests are not converted; `migrate1to2 audit` reads them)"
    assert result == Run(0, b"", (
        f"migrate1to2: skipped {source}/checkout.har: {reason.format('a HAR capture')}\n"
        f"migrate1to2: skipped {source}/collect.postman_collection.json: {reason.format('a Postman collection')}\n"
        f"migrate1to2: skipped {source}/renamed-capture.json: {reason.format('a HAR capture')}\n"
        "migrate1to2: 4 records in 4 files: 4 converted, 0 unchanged (already 2.0 or the same in both), 0 "
        "rejected\n"))
    assert sorted(path.name for path in dest.iterdir()) == ["a.ndjson", "b.jsonlines", "c.jsonl.gz", "d.json"]
    assert (dest / "b.jsonlines").read_bytes() == upgrade_json(V1.strip()) + b"\n"
    files = {Path(entry["input"]).name: entry["status"] for entry in json.loads(stats.read_text())["files"]}
    assert files["checkout.har"] == files["renamed-capture.json"] == "skipped: not a payload file"


def test_convert_still_converts_a_capture_named_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    """Files named on the command line are always converted (what the user asked for, as before)."""
    result = cli("convert", HAR, "-q")
    assert result.code == 0
    assert json.loads(result.out) == {"context": json.loads(HAR.read_bytes())}


def test_audit_reads_jsonlines_and_the_same_captures(tmp_path: Path) -> None:
    """Every file convert takes as payloads the audit reads as records, and what convert skips as a capture
    the audit reads as one (`.jsonlines` used to be skipped by the audit)."""
    source = payload_tree(tmp_path)
    kinds = {Path(stats.path).name: stats.kind for stats in audit_paths([str(source)]).payloads}
    assert kinds == {"a.ndjson": "records", "b.jsonlines": "records", "c.jsonl.gz": "records", "d.json": "records",
                     "checkout.har": "har", "renamed-capture.json": "har", "collect.postman_collection.json": "postman"}
    report = audit_paths([str(source / "b.jsonlines")])
    assert [(f.rule, f.path) for f in report.findings] == [("payload-1.0", f"{source}/b.jsonlines")]
