"""The detector registry: every code rule has its detector, a rule or a language is added in one place."""

from __future__ import annotations

import pytest

from migrate1to2.audit import RULES
from migrate1to2.audit.detectors import DETECTORS, SourceFile, detector, scan
from migrate1to2.audit.languages import LANGUAGES, Language
from migrate1to2.audit.syntax import available

CODE_RULES = {"call-site-1.0", "call-site-2.0", "web-container-1.0", "web-container-2.0", "source-key"}


def test_every_code_rule_has_a_registered_detector() -> None:
    scan(SourceFile("", LANGUAGES[".js"]))  # registers them
    registered = {rule for item in DETECTORS for rule in item.rules}
    assert registered == CODE_RULES
    assert registered <= set(RULES)
    assert [item.name for item in DETECTORS] == ["web-container", "call-site", "source-key"]


def test_a_detector_must_name_known_rules() -> None:
    with pytest.raises(ValueError, match="unknown rule ids"):
        detector("typo", "web-container-3.0")


def test_configuration_files_run_only_the_key_detectors() -> None:
    text = 'var k = {sourceKey: "Ab12Cd34Ef56Gh78"}; tC.trigger = function (o) { var e = {event: 1, version: 1}; };'
    rules = [f.rule for f in scan(SourceFile(text, LANGUAGES[".js"], config=True), keys_only=True)]
    assert rules == ["source-key"]


def test_web_detector_reads_only_web_languages() -> None:
    text = "tC.trigger = function (o) { var e = {event: o.event, version: 1}; };\n"
    assert [f.rule for f in scan(SourceFile(text, LANGUAGES[".ts"]))] == ["web-container-1.0"]
    assert scan(SourceFile(text, LANGUAGES[".kt"])) == []


def test_every_language_row_names_a_bundled_grammar_or_none() -> None:
    """The grammars named in the table exist in the parser (the `test` extra installs it: no skip)."""
    assert available()
    from migrate1to2.audit.syntax import parse
    for suffix, language in LANGUAGES.items():
        assert isinstance(language, Language)
        if language.grammar is not None:
            assert parse("x", language.grammar) is not None, suffix


def test_the_audit_works_without_the_parser_installed() -> None:
    """Without ast-grep-py (the `audit` extra not installed) the regular-expression reading gives the same
    findings on the web and key fixtures, except the SDK call whose first argument nests two calls."""
    import json
    import subprocess
    import sys

    from tests.audit.helpers import FIXTURES
    code = ("import sys, json; sys.modules['ast_grep_py'] = None\n"
            "from migrate1to2.audit import audit_paths\n"
            "from migrate1to2.audit.syntax import available\n"
            "assert not available()\n"
            f"report = audit_paths([{str(FIXTURES / 'web')!r}, {str(FIXTURES / 'code' / 'keys')!r}], limit=0)\n"
            "print(json.dumps([[f.rule, f.path, f.line, f.column] for f in report.findings]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    without = json.loads(done.stdout)
    from migrate1to2.audit import audit_paths
    with_parser = [[f.rule, f.path, f.line, f.column] for f in audit_paths(
        [str(FIXTURES / "web"), str(FIXTURES / "code" / "keys")], limit=0).findings]
    missing = [item for item in with_parser if item not in without]
    assert [(item[1].rsplit("/", 1)[-1], item[2]) for item in missing] == [("Analytics.kt", 23)]
    assert [item for item in without if item not in with_parser] == []
