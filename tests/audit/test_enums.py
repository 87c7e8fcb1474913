"""Versions cross the audit's modules as enums (RecordVersion for records, Version for rules and findings),
equal to the strings they replace; the reports still write the strings."""

from __future__ import annotations

import json
import re
from pathlib import Path

from migrate1to2 import Version
from migrate1to2.audit import audit_paths, check_event
from migrate1to2.audit.census import quick_record
from migrate1to2.audit.kinds import RecordVersion
from migrate1to2.audit.payload import audit_record
from migrate1to2.audit.report import OutputFormat, render
from migrate1to2.audit.rules import RULES


def test_record_versions_are_enums_equal_to_their_text() -> None:
    assert [audit.version for audit in audit_record(b'{"event_name":"a","properties":{}}')] == [RecordVersion.V1]
    assert audit_record(b'{"event_name":"a","context":{}}')[0].version is RecordVersion.V2
    assert check_event({"event_name": "a"}).version is RecordVersion.EITHER
    assert check_event({"event_name": "a", "properties": {}, "context": {}}).version is RecordVersion.INVALID
    assert audit_record(b"[1,")[0].version is RecordVersion.INVALID
    quick = quick_record(b'{"event_name":"a","properties":{}}')
    assert quick is not None and quick[0] is RecordVersion.V1
    assert RecordVersion.V1 == "1.0" and str(RecordVersion.INVALID) == "invalid"
    assert {RecordVersion.V1: 1}["1.0"] == 1  # counts keyed either way are the same counts


def test_rule_and_finding_versions_are_the_core_enum() -> None:
    assert {rule.version for rule in RULES.values()} == {Version.V1, Version.V2, None}
    finding = audit_record(b'{"event_name":"a","properties":{"event_name":"b"}}')[0].findings[0]
    assert finding.rule == "collision" and finding.version is None
    assert RULES["payload-1.0"].version is Version.V1


def test_reports_write_the_strings(tmp_path: Path) -> None:
    (tmp_path / "v1.ndjson").write_text('{"event_name":"a","properties":{}}\n{"event_name":"b","context":{}}\n'
                                        "not json\n")
    report = audit_paths([str(tmp_path)])
    payload = json.loads(render(report, OutputFormat.JSON, tool_version="0"))
    assert payload["findings"][0]["version"] == "1.0"
    assert payload["payloads"][0]["versions"] == {"1.0": 1, "2.0": 1, "either": 0, "invalid": 1}
    sarif = json.loads(render(report, OutputFormat.SARIF, tool_version="0"))
    versions = {rule["id"]: rule["properties"]["version"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert versions["payload-1.0"] == "1.0" and versions["call-site-2.0"] == "2.0" and versions["collision"] is None
    text = render(report, OutputFormat.TEXT, tool_version="0")
    assert re.search(r"^payload-1\.0 +error +1\.0 +1$", text, re.M) and "Version." not in text
