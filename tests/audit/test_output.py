"""The three output formats: exact text, the JSON shape, SARIF 2.1.0 checked against its schema, and no key leaks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from migrate1to2.audit.masking import mask
from migrate1to2.audit.rules import RULES
from tests.audit.conftest import Cli
from tests.audit.helpers import FIXTURES, PLANTED_KEYS, SARIF_SCHEMA

SEND_PY = '''import requests

COLLECT_URL = "https://collect.commander1.com/events?tc_s=1234"


def send(name, props):
    body = {"event_name": name, "event_id": "1", "properties": props}
    requests.post(COLLECT_URL, json=body, timeout=5)
'''
EVENTS = (b'{"event_name":"search","event_id":"1","event_timestamp":1639044446,"properties":{"search_term":"t"}}\n'
          b'{"event_name":"search","context":{"event_id":"2","event_timestamp":1639044446636}}\n'
          b'{"event_name":"page_view" "context":{}}\n')

TEXT = """\
archive/events.ndjson:1: payload-1.0: 1 of 3 records are in format 1.0 (first at line 1); convert stored payloads \
with `migrate1to2 convert` and fix what produces them
archive/events.ndjson:1:39: timestamp-not-ms: `event_timestamp` 1639044446 is epoch seconds, not milliseconds; \
send epoch milliseconds
archive/events.ndjson:3:27: invalid-json: invalid JSON: expected ',' or '}'
src/send.py:8:19: call-site-1.0: sends a 1.0 payload to the collect endpoint (via `COLLECT_URL`, line 3): the body \
is built with `properties` (line 7); build the 2.0 body with `context` instead

payload file           kind     records  1.0  2.0  either  invalid
archive/events.ndjson  records        3    1    1       0        1

rule              severity  version  findings
payload-1.0       error     1.0             1
invalid-json      error     -               1
timestamp-not-ms  warning   -               1
call-site-1.0     error     1.0             1

2 files audited: 4 findings (3 error, 1 warning, 0 info); 1.0 is still produced (2 findings show it).
"""


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "send.py").write_text(SEND_PY)
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "events.ndjson").write_bytes(EVENTS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_report(demo: Path, audit_cli: Cli) -> None:
    assert audit_cli() == (1, TEXT, "")


def test_text_report_without_findings(tmp_path: Path, audit_cli: Cli) -> None:
    (tmp_path / "ok.ndjson").write_text('{"event_name":"a","context":{"event_id":"1"}}\n')
    code, out, err = audit_cli(tmp_path / "ok.ndjson")
    assert (code, err) == (0, "")
    assert out.endswith("\n1 file audited: no findings; nothing shows 1.0 being produced.\n")


def test_json_report(demo: Path, audit_cli: Cli) -> None:
    code, out, err = audit_cli("--format", "json")
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert list(report) == ["findings", "payloads", "summary"]
    first = report["findings"][0]
    assert set(first) == {"rule", "severity", "path", "line", "column", "message", "version", "json_path",
                          "fingerprint"}
    assert [(f["rule"], f["path"], f["line"], f["column"], f["version"], f["severity"]) for f in report["findings"]] == [
        ("payload-1.0", "archive/events.ndjson", 1, None, "1.0", "error"),
        ("timestamp-not-ms", "archive/events.ndjson", 1, 39, None, "warning"),
        ("invalid-json", "archive/events.ndjson", 3, 27, None, "error"),
        ("call-site-1.0", "src/send.py", 8, 19, "1.0", "error"),
    ]
    assert report["payloads"] == [{"path": "archive/events.ndjson", "kind": "records", "records": 3,
                                   "versions": {"1.0": 1, "2.0": 1, "either": 0, "invalid": 1},
                                   "events": {"search": 2}}]  # the invalid record is not counted by name
    summary = report["summary"]
    assert summary["findings"] == 4
    assert summary["by_severity"] == {"error": 3, "warning": 1, "info": 0}
    assert summary["by_rule"] == {"payload-1.0": 1, "invalid-json": 1, "timestamp-not-ms": 1, "call-site-1.0": 1}
    assert (summary["showing_1_0"], summary["produces_1_0"], summary["errors"]) == (2, True, [])


def _sarif(audit_cli: Cli, *args: str | Path) -> dict[str, Any]:
    code, out, _ = audit_cli("--format", "sarif", *args)
    assert code in (0, 1)
    document: dict[str, Any] = json.loads(out)
    return document


def _validate(document: dict[str, Any]) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_sarif_report_is_valid_sarif_2_1_0(demo: Path, audit_cli: Cli) -> None:
    document = _sarif(audit_cli)
    _validate(document)
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(RULES)
    assert all(rule["help"]["text"] and rule["shortDescription"]["text"] for rule in rules)
    results = run["results"]
    assert [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]) for r in results] == [
        ("payload-1.0", "error", "archive/events.ndjson", {"startLine": 1}),
        ("timestamp-not-ms", "warning", "archive/events.ndjson", {"startLine": 1, "startColumn": 39}),
        ("invalid-json", "error", "archive/events.ndjson", {"startLine": 3, "startColumn": 27}),
        ("call-site-1.0", "error", "src/send.py", {"startLine": 8, "startColumn": 19}),
    ]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["partialFingerprints"]["migrate1to2/v1"]
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]


def test_sarif_of_every_fixture_is_valid(audit_cli: Cli) -> None:
    """Every rule that fixtures trigger, info notes and captures included, validates."""
    document = _sarif(audit_cli, FIXTURES, "--limit", "0")
    _validate(document)
    levels = {r["level"] for r in document["runs"][0]["results"]}
    assert levels == {"error", "warning", "note"}


def test_no_output_shows_a_planted_key(tmp_path: Path, audit_cli: Cli) -> None:
    for where, key in PLANTED_KEYS.items():
        assert key in (FIXTURES / where.split(" ")[0]).read_text(encoding="utf-8"), f"{key} is planted in {where}"
    baseline = tmp_path / "baseline.json"
    outputs = {fmt: audit_cli("--format", fmt, "--limit", "0", FIXTURES).out for fmt in ("text", "json", "sarif")}
    audit_cli("--write-baseline", baseline, FIXTURES)
    outputs["baseline"] = baseline.read_text(encoding="utf-8")
    for name, output in outputs.items():
        for key in PLANTED_KEYS.values():
            assert key not in output, f"the {name} output shows {key}"
            assert key[4:12] not in output, f"the {name} output shows part of {key}"
            if name != "baseline":
                assert mask(key) in output, f"the {name} output reports {key} (masked)"
