"""Baselines: known findings are suppressed by fingerprint, so CI fails only on new ones."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from migrate1to2.audit import audit_paths
from migrate1to2.audit.baseline import BaselineError, dump_baseline, parse_baseline
from tests.audit.conftest import Cli

V1_SENDER = '''import requests

COLLECT_URL = "https://collect.commander1.com/events?tc_s=1234&token=Wq3Er5Ty7Ui9Op1As3Df5Gh"


def send(name, props):
    body = {"event_name": name, "event_id": "1", "properties": props}
    requests.post(COLLECT_URL, json=body, timeout=5)
'''
SECOND_SENDER = '''

def send_again(name, props):
    payload = {"event_name": name, "event_id": "2", "properties": props}
    requests.post("https://collect.commander1.com/events?tc_s=1234", json=payload, timeout=5)
'''


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "send.py").write_text(V1_SENDER)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_write_baseline_then_only_new_findings_fail(repo: Path, audit_cli: Cli) -> None:
    code, out, err = audit_cli("--write-baseline", "known.json")
    assert code == 0
    assert err == "migrate1to2: wrote 2 known findings to known.json\n"
    assert "call-site-1.0" in out  # the report is still printed
    assert audit_cli("--baseline", "known.json", "-f", "json").code == 0

    # Lines move (a header is added) and a second 1.0 sender appears: only that one is new.
    (repo / "send.py").write_text("# Sales exports.\n\n" + V1_SENDER + SECOND_SENDER)
    code, out, _ = audit_cli("--baseline", "known.json", "-f", "json")
    report = json.loads(out)
    assert code == 1
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [("call-site-1.0", 15)]
    assert report["summary"]["suppressed"] == 2


def test_each_baseline_entry_suppresses_as_many_findings_as_it_counts(repo: Path) -> None:
    seen = audit_paths(["."]).seen
    (repo / "send.py").write_text(V1_SENDER + V1_SENDER.replace("def send(", "def send2("))
    report = audit_paths(["send.py"], baseline=seen)
    # The second copy's key and call site are new, though their fingerprints are known once.
    assert [(f.rule, f.line) for f in report.findings] == [("source-key", 11), ("call-site-1.0", 16)]


def test_baseline_file_holds_fingerprints_and_counts_only(repo: Path, audit_cli: Cli) -> None:
    audit_cli("--write-baseline", "known.json")
    document = json.loads((repo / "known.json").read_text())
    assert document["tool"] == "migrate1to2 audit" and document["format"] == 1
    assert sorted(document["fingerprints"].values()) == [1, 1]
    assert "Wq3Er5Ty7Ui9Op1As3Df5Gh" not in (repo / "known.json").read_text()


@pytest.mark.parametrize(("content", "message"), [
    pytest.param(b"{", "known.json is not a baseline file (invalid JSON: ", id="invalid-json"),
    pytest.param(b'{"fingerprints": {}}', "known.json is not a baseline file written by", id="not-ours"),
    pytest.param(b'{"tool": "migrate1to2 audit", "format": 9, "fingerprints": {}}', "known.json is a baseline of format 9",
                 id="other-format"),
])
def test_a_bad_baseline_is_a_usage_error(repo: Path, audit_cli: Cli, content: bytes, message: str) -> None:
    (repo / "known.json").write_bytes(content)
    code, out, err = audit_cli("--baseline", "known.json")
    assert (code, out) == (2, "")
    assert err.startswith(f"migrate1to2: error: {message}")


def test_a_missing_baseline_is_a_usage_error(repo: Path, audit_cli: Cli) -> None:
    assert audit_cli("--baseline", "nowhere.json") == (2, "", "migrate1to2: error: cannot read nowhere.json: "
                                                              "no such file or directory\n")


def test_dump_and_parse_round_trip() -> None:
    seen = Counter({"b" * 32: 2, "a" * 32: 1})
    assert parse_baseline(dump_baseline(seen), "x") == seen
    with pytest.raises(BaselineError):
        parse_baseline(b'{"tool": "migrate1to2 audit", "format": 1, "fingerprints": {"a": 0}}', "x")


def test_fingerprints_ignore_line_numbers_but_not_paths(repo: Path) -> None:
    before = {f.fingerprint for f in audit_paths(["send.py"]).findings}
    (repo / "send.py").write_text("\n\n\n" + V1_SENDER)
    assert {f.fingerprint for f in audit_paths(["send.py"]).findings} == before
    (repo / "other.py").write_text(V1_SENDER)
    assert {f.fingerprint for f in audit_paths(["other.py"]).findings}.isdisjoint(before)
