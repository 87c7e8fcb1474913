"""The documentation is checked by running what it shows."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import typer

import migrate1to2
from migrate1to2.cli import app
from tests.conftest import ROOT
from tests.helpers import Cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def first_code_block() -> list[str]:
    match = re.search(r"^```sh\n(.*?)^```$", README, re.MULTILINE | re.DOTALL)
    assert match, "the README starts with a sh code block"
    return match.group(1).strip().splitlines()


def test_first_screen_has_exactly_two_commands() -> None:
    commands = first_code_block()
    assert len(commands) == 2
    run_job, run_tests = commands
    assert "migrate1to2 convert fixtures/" in run_job
    assert "pip install" in run_job and "pip install" in run_tests
    assert "pytest" in run_tests
    assert README.index("```sh") < 1200, "the two commands are on the first screen"


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in script and "sed -n 2p" in script
    extracted = subprocess.run(
        ["bash", "-c", "awk '/^```sh$/ {inside=1; next} inside && /^```$/ {exit} inside {print}' README.md | sed -n 2p"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert extracted == first_code_block()[1]


def test_the_main_job_fixture_exists() -> None:
    job = first_code_block()[0]
    fixture = re.search(r"convert (\S+)", job)
    assert fixture and (ROOT / fixture.group(1)).is_file()


def _example(name: str) -> str:
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```json\n(.*?)```", README, re.DOTALL)
    assert match, f"README example {name}"
    return match.group(1)


def test_before_and_after_example() -> None:
    before, after = _example("1.0"), _example("2.0")
    assert migrate1to2.upgrade_json(before) == after.strip().encode()
    assert migrate1to2.upgrade(json.loads(before)) == json.loads(after)


def test_audit_example_output(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    command = re.search(r"<!-- example: audit -->\n```sh\n(.*?)\n```", README, re.DOTALL)
    output = re.search(r"<!-- output: audit -->\n```\n(.*?)```", README, re.DOTALL)
    assert command
    assert output
    monkeypatch.chdir(ROOT)
    result = cli(*command.group(1).split()[1:])
    assert result.code == 1
    assert result.out.decode() == output.group(1)


def test_library_example_runs() -> None:
    match = re.search(r"## Library\n\n```python\n(.*?)```", README, re.DOTALL)
    assert match
    subprocess.run([sys.executable, "-c", match.group(1)], check=True)


COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_and_is_documented(name: str) -> None:
    assert COMMANDS[name].help, f"{name} has help text"
    assert f"migrate1to2 {name}" in README
    for option in COMMANDS[name].params:
        assert option.help or option.param_type_name == "argument", f"{name} {option.name} has help text"


def test_public_api_is_documented_and_exported() -> None:
    for name in ("upgrade", "downgrade", "detect_version", "upgrade_json", "downgrade_json", "MigrateError",
                 "ConversionError", "InvalidJSONError"):
        assert name in migrate1to2.__all__
        assert f"`{name}" in README
    assert (ROOT / "migrate1to2" / "py.typed").exists()


def test_changelog_is_keep_a_changelog() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.startswith("# Changelog\n")
    assert "keepachangelog.com" in changelog
    assert "\n## [Unreleased]\n" in changelog
    sections = re.findall(r"^### (\w+)", changelog, re.MULTILINE)
    assert sections and set(sections) <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
