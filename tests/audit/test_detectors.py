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
