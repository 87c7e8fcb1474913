"""`migrate1to2 audit` on the command line: exit codes, usage errors, and the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audit.conftest import Cli
from tests.audit.helpers import FIXTURES, ROOT

CLEAN_2_0 = '{"event_name":"a","context":{"event_id":"1","event_timestamp":1700000000000}}\n'
WARNING_ONLY = '{"event_name":"a","context":{"event_id":"1","event_timestamp":1700000000}}\n'
INFO_ONLY = 'fetch("https://collect.commander1.com/events", {body: {event_name: "a", context: {}}});\n'


@pytest.mark.parametrize(("files", "options", "code"), [
    pytest.param({"ok.ndjson": CLEAN_2_0}, [], 0, id="nothing-found"),
    pytest.param({"w.ndjson": WARNING_ONLY}, [], 0, id="warnings-alone-pass"),
    pytest.param({"w.ndjson": WARNING_ONLY}, ["--fail-on", "warning"], 1, id="fail-on-warning"),
    pytest.param({"w.ndjson": WARNING_ONLY}, ["--fail-on", "ERROR"], 0, id="fail-on-error-case-insensitive"),
    pytest.param({"i.js": INFO_ONLY}, ["--fail-on", "warning"], 0, id="info-below-warning"),
    pytest.param({"i.js": INFO_ONLY}, ["--fail-on", "info"], 1, id="fail-on-info"),
    pytest.param({"v1.ndjson": '{"event_name":"a","properties":{}}\n'}, [], 1, id="1.0-payloads"),
    pytest.param({"Podfile": "pod 'TCServerSide', '5.2.1'\n"}, [], 1, id="1.0-sdk"),
    pytest.param({"schema.json": '{"$schema": "x", "properties": {"event_name": {}, "context": {}}}\n'}, [], 0,
                 id="json-schema-of-the-event-is-no-payload"),
])
def test_exit_codes(tmp_path: Path, audit_cli: Cli, files: dict[str, str], options: list[str], code: int) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    assert audit_cli(tmp_path, *options).code == code


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["nowhere"], "migrate1to2: error: nowhere: no such file or directory\n", id="missing-path"),
    pytest.param([".", "--limit", "-1"], "migrate1to2: error: --limit must be 0 (no limit) or more\n",
                 id="negative-limit"),
])
def test_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, audit_cli: Cli, args: list[str],
                      message: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert audit_cli(*args) == (2, "", message)


@pytest.mark.parametrize("args", [
    pytest.param(["--format", "xml", "."], id="unknown-format"),
    pytest.param(["--fail-on", "fatal", "."], id="unknown-severity"),
    pytest.param(["--bogus"], id="unknown-option"),
])
def test_bad_options_exit_2(audit_cli: Cli, args: list[str]) -> None:
    code, out, err = audit_cli(*args)
    assert (code, out) == (2, "")
    assert "Usage: migrate1to2 audit" in err


def test_unreadable_file_exits_2_after_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  audit_cli: Cli) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v1.ndjson").write_text('{"event_name":"a","properties":{}}\n')
    (tmp_path / "lost.ndjson").symlink_to("lost.ndjson")  # a link loop (a dangling link is only a note)
    code, out, err = audit_cli(".")
    assert code == 2
    assert out.startswith("v1.ndjson:1: payload-1.0: ")
    assert err == "migrate1to2: error: cannot read lost.ndjson: too many levels of symbolic links\n"


def test_default_path_is_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, audit_cli: Cli) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v1.ndjson").write_text('{"event_name":"a","properties":{}}\n')
    assert audit_cli().out.startswith("v1.ndjson:1: payload-1.0: ")


def test_help_documents_severities_and_exit_codes(audit_cli: Cli) -> None:
    code, out, _ = audit_cli("--help")
    assert code == 0
    for text in ("info < warning < error", "Exit codes: 0", "--baseline", "--write-baseline", "--fail-on",
                 "--include-vendored", "--format", "sarif"):
        assert text in " ".join(out.split()), text


def test_real_console_script(tmp_path: Path) -> None:
    """The installed `migrate1to2` script, as CI runs it: JSON on stdout, exit 1 for the 1.0 fixtures."""
    script = Path(sys.executable).with_name("migrate1to2")
    done = subprocess.run([str(script), "audit", "fixtures/audit/code/python", "--format", "json"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (1, "")
    report = json.loads(done.stdout)
    assert [(f["path"], f["rule"], f["line"]) for f in report["findings"]] == [
        ("fixtures/audit/code/python/collect_v1.py", "call-site-1.0", 18),
        ("fixtures/audit/code/python/collect_v2.py", "source-key", 5),
        ("fixtures/audit/code/python/collect_v2.py", "call-site-2.0", 11),
    ]


def test_python_dash_m(tmp_path: Path) -> None:
    (tmp_path / "ok.ndjson").write_text(CLEAN_2_0)
    done = subprocess.run([sys.executable, "-m", "migrate1to2", "audit", str(tmp_path)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.endswith("1 file audited: no findings; nothing shows 1.0 being produced.\n")


def test_fixtures_folder_as_a_whole(audit_cli: Cli) -> None:
    """Every fixture at once: 1.0 is produced, nothing is unreadable, every rule but one is shown."""
    code, out, err = audit_cli(FIXTURES, "--format", "json", "--limit", "0")
    assert (code, err) == (1, "")
    summary = json.loads(out)["summary"]
    assert summary["errors"] == []
    assert set(summary["by_rule"]) == {
        "payload-1.0", "legacy-shape", "invalid-json", "not-an-object", "ambiguous-version", "collision",
        "duplicate-key", "too-large", "timestamp-not-ms", "user-not-object", "missing-event-name", "call-site-1.0",
        "call-site-2.0", "web-container-1.0", "web-container-2.0", "sdk-1.0", "sdk-2.0", "sdk-version-unresolved",
        "source-key",
    }


@pytest.mark.parametrize(("name", "content", "code"), [
    pytest.param("events.log", '{"event_name":"a","properties":{}}\n', 1, id="1.0-ndjson-named-log"),
    pytest.param("events.log", '{"event_name":"a","context":{}}\n', 0, id="2.0-ndjson-named-log"),
])
def test_a_named_file_is_audited(tmp_path: Path, audit_cli: Cli, name: str, content: str, code: int) -> None:
    (tmp_path / name).write_text(content)
    result = audit_cli(tmp_path / name)
    assert (result.code, result.err) == (code, "")


def test_auditing_the_tool_itself_finds_no_1_0(audit_cli: Cli) -> None:
    """Its own docstrings name the retired draft endpoint and every key form: none of that is a call site."""
    code, out, err = audit_cli(ROOT / "migrate1to2", "--format", "json", "--limit", "0")
    report = json.loads(out)
    assert (code, err) == (0, "")
    assert [f for f in report["findings"] if f["version"] == "1.0"] == []
