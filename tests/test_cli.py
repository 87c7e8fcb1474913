"""The command line: exact stdout, stderr and exit codes, rejects, shapes, atomic output, real subprocess runs."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from migrate1to2 import downgrade_json, upgrade_json
from tests.conftest import FIXTURES, ROOT
from tests.helpers import Cli, Run, summary

BAD = FIXTURES / "invalid" / "bad-records.v1.ndjson"
ARCHIVE = FIXTURES / "archive" / "events-2023.v1.ndjson"
WEB_V1 = FIXTURES / "pairs" / "web-search.v1.json"
WEB_V2 = FIXTURES / "pairs" / "web-search.v2.json"
STOP_HINT = "Use --rejects FILE to set such records aside and convert the rest."


def parse(data: bytes) -> object:
    return json.loads(data)


# --- golden pairs through the CLI ----------------------------------------------------------------

@pytest.mark.parametrize("v1_path", sorted(FIXTURES.glob("pairs/*.v1.json")), ids=lambda path: path.stem)
def test_golden_pairs_both_ways(cli: Cli, v1_path: Path) -> None:
    v2_path = v1_path.with_name(v1_path.name.replace(".v1.", ".v2."))
    up = cli("convert", v1_path)
    assert up.code == 0
    assert parse(up.out) == parse(v2_path.read_bytes())
    assert up.out.endswith(b"}\n") and up.out.count(b"\n") == 1
    assert up.err == summary(1, 1, 0, 0)
    down = cli("downgrade", v2_path)
    assert (down.code, down.err) == (0, summary(1, 1, 0, 0, already="1.0"))
    assert parse(down.out) == parse(v1_path.read_bytes())


def test_ndjson_output_equals_per_record_conversion(cli: Cli) -> None:
    """The CLI over an NDJSON file gives, line for line, what upgrade_json gives each record."""
    lines = ARCHIVE.read_bytes().splitlines()
    result = cli("convert", ARCHIVE, "--quiet")
    assert (result.code, result.err) == (0, "")
    assert result.out == b"".join(upgrade_json(line) + b"\n" for line in lines)
    back = cli("downgrade", "-q", stdin=result.out)
    assert back.out == b"".join(downgrade_json(upgrade_json(line)) + b"\n" for line in lines)


def test_gzip_input_is_read_by_content(cli: Cli, tmp_path: Path) -> None:
    plain = cli("convert", "-q", ARCHIVE)
    packed = cli("convert", "-q", ARCHIVE.with_name(ARCHIVE.name + ".gz"))
    assert packed == plain
    disguised = tmp_path / "archive.ndjson"  # gzip bytes under a plain name
    disguised.write_bytes(gzip.compress(ARCHIVE.read_bytes()))
    assert cli("convert", "-q", disguised) == plain


# --- rejects and stopping ------------------------------------------------------------------------

def test_rejects_file_keeps_every_bad_record(cli: Cli, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.ndjson"
    result = cli("convert", BAD, "--rejects", rejects)
    assert result.code == 1
    assert result.out == (b'{"event_name":"page_view","user":{"id":"1"},"context":{"event_id":"1"}}\n'
                          b'{"event_name":"page_view","context":{"event_id":"8"}}\n')
    assert result.err == summary(8, 1, 1, 6, see=str(rejects))
    entries = [json.loads(line) for line in rejects.read_text().splitlines()]
    source = str(BAD)
    assert entries == [
        {"source": source, "line": 2, "column": 24, "reason": "invalid JSON: expected ',' or '}'", "path": None,
         "record": '{"event_name":"search" "properties":{}}'},
        {"source": source, "line": 3, "column": None, "reason": "a payload must be a JSON object, got an array",
         "path": "$", "record": '["event_name","search"]'},
        {"source": source, "line": 4, "column": 19,
         "reason": "invalid JSON: invalid UTF-8 (byte 0xe9); the text must be UTF-8", "path": None,
         "record_base64": "eyJldmVudF9uYW1lIjoiY2Fm6SIsInByb3BlcnRpZXMiOnt9fQ=="},
        {"source": source, "line": 5, "column": 46, "reason": "invalid JSON: unexpected character 'N'", "path": None,
         "record": '{"event_name":"search","properties":{"value":NaN}}'},
        {"source": source, "line": 6, "column": None,
         "reason": "`event_name` inside `properties` would become or overwrite the root `event_name` in 2.0; "
                   "rename or remove it before converting",
         "path": "$.properties.event_name", "record": '{"event_name":"search","properties":{"event_name":"x"}}'},
        {"source": source, "line": 7, "column": 40, "reason": "invalid JSON: trailing comma in object", "path": None,
         "record": '{"event_name":"search","properties":{},}'},
    ]
    # The original bytes come back exactly.
    original = BAD.read_bytes().split(b"\n")
    import base64
    for entry in entries:
        raw = entry["record"].encode() if "record" in entry else base64.b64decode(entry["record_base64"])
        assert raw == original[entry["line"] - 1]


def test_every_record_is_accounted_for(cli: Cli, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.ndjson"
    mixed.write_bytes(ARCHIVE.read_bytes() + BAD.read_bytes() + (FIXTURES / "invalid/collisions.v1.ndjson").read_bytes())
    rejects = tmp_path / "rejects.ndjson"
    result = cli("convert", mixed, "--rejects", rejects, "-o", tmp_path / "out.ndjson")
    lines_in = [line for line in mixed.read_bytes().split(b"\n") if line.strip()]
    lines_out = (tmp_path / "out.ndjson").read_bytes().splitlines()
    rejected = rejects.read_bytes().splitlines()
    assert len(lines_in) == len(lines_out) + len(rejected) == 300 + 8 + 7
    assert result.err == summary(315, 301, 1, 13, see=str(rejects))
    assert result.out == b""


@pytest.mark.parametrize(("path", "message"), [
    pytest.param(BAD, f"{BAD}:2:24: invalid JSON: expected ',' or '}}'", id="invalid-json"),
    pytest.param(FIXTURES / "invalid/collisions.v1.ndjson",
                 f"{FIXTURES}/invalid/collisions.v1.ndjson:1: `event_name` inside `properties` would become or "
                 "overwrite the root `event_name` in 2.0; rename or remove it before converting @ $.properties.event_name",
                 id="collision"),
    pytest.param(FIXTURES / "invalid/doc-missing-comma.v1.json",
                 f"{FIXTURES}/invalid/doc-missing-comma.v1.json:4:3: invalid JSON: expected ',' or '}}'",
                 id="pretty-document"),
    pytest.param(FIXTURES / "invalid/doc-trailing-comma.v1.json",
                 f"{FIXTURES}/invalid/doc-trailing-comma.v1.json:6:3: invalid JSON: trailing comma in object",
                 id="trailing-comma-document"),
])
def test_first_bad_record_stops_the_run(cli: Cli, tmp_path: Path, path: Path, message: str) -> None:
    output = tmp_path / "out.ndjson"
    result = cli("convert", path, "-o", output)
    assert result.code == 1
    assert result.out == b""
    assert result.err == (f"{message}\nmigrate1to2: stopped at the first record that cannot be converted; "
                          f"{output} was not written. {STOP_HINT}\n")
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file left


def test_stop_on_stdout_keeps_the_records_before(cli: Cli) -> None:
    result = cli("convert", BAD)
    assert result.code == 1
    assert result.out == b'{"event_name":"page_view","user":{"id":"1"},"context":{"event_id":"1"}}\n'
    assert result.err == (f"{BAD}:2:24: invalid JSON: expected ',' or '}}'\nmigrate1to2: stopped at the first record "
                          f"that cannot be converted; the 1 record before it went to stdout. {STOP_HINT}\n")


@pytest.mark.parametrize(("fixture", "reasons"), [
    pytest.param("collisions.v2.ndjson", ["$.context", "$.context.event_name", "$.context.properties",
                                          "$.context.context", "$.context.event_id"], id="2.0-collisions"),
])
def test_downgrade_collisions(cli: Cli, tmp_path: Path, fixture: str, reasons: list[str]) -> None:
    rejects = tmp_path / "r.ndjson"
    result = cli("downgrade", FIXTURES / "invalid" / fixture, "--rejects", rejects, "-q")
    assert (result.code, result.out, result.err) == (1, b"", "")
    assert [json.loads(line)["path"] for line in rejects.read_text().splitlines()] == reasons


# --- shapes --------------------------------------------------------------------------------------

def test_array_keeps_its_shape(cli: Cli) -> None:
    stdin = b'[\n  {"event_name": "a", "properties": {"x": 16.00}},\n  {"event_name": "b", "context": {"y": 1}}\n]\n'
    result = cli("convert", stdin=stdin)
    assert result.code == 0
    assert result.out == b'[{"event_name":"a","x":16.00,"context":{}},{"event_name":"b","context":{"y":1}}]\n'
    assert result.err == summary(2, 1, 1, 0)
    pretty = cli("convert", "--pretty", "-q", stdin=stdin)
    assert pretty.out == (b'[\n  {\n    "event_name": "a",\n    "x": 16.00,\n    "context": {}\n  },\n'
                          b'  {\n    "event_name": "b",\n    "context": {\n      "y": 1\n    }\n  }\n]\n')


def test_array_rejects_elements_with_their_line(cli: Cli, tmp_path: Path) -> None:
    rejects = tmp_path / "r.ndjson"
    stdin = b'[\n  {"event_name": "a", "properties": {}},\n  {"properties": {"event_name": 1}},\n  3\n]'
    result = cli("convert", "--rejects", rejects, stdin=stdin)
    assert result.code == 1
    assert result.out == b'[{"event_name":"a","context":{}}]\n'
    entries = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(e["source"], e["line"], e["path"], e["record"]) for e in entries] == [
        ("<stdin>", 3, "$.properties.event_name", '{"properties": {"event_name": 1}}'),
        ("<stdin>", 4, "$", "3"),
    ]


def test_an_invalid_element_is_rejected_on_its_own(cli: Cli, tmp_path: Path) -> None:
    rejects = tmp_path / "r.ndjson"
    stdin = b'[\n  {"event_name": "a"},\n  {"event_name": "b",}\n]\n'
    result = cli("convert", "--rejects", rejects, stdin=stdin)
    assert (result.code, result.out) == (1, b'[{"event_name":"a"}]\n')
    assert result.err == summary(2, 0, 1, 1, see=str(rejects))
    [entry] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert (entry["line"], entry["column"], entry["reason"]) == (3, 22, "invalid JSON: trailing comma in object")
    assert entry["record"] == '{"event_name": "b",}'


@pytest.mark.parametrize(("stdin", "expected"), [
    pytest.param(b'[{"a":1}\n {"b":2}]', (b'[{"context":{"a":1}}]\n', (2, 2),
                 "expected ',' or ']' after an array element", '{"b":2}]'), id="missing-comma"),
    pytest.param(b'[{"a":1},\n]', (b'[{"context":{"a":1}}]\n', (2, 1), "trailing comma in array", "]"),
                 id="trailing-comma"),
    pytest.param(b'[{"a":1},{"b":', (b'[{"context":{"a":1}}]\n', (1, 10),
                 "unexpected end of input: an array element is incomplete", '{"b":'), id="cut-in-an-element"),
    pytest.param(b'[{"a":1}\n', (b'[{"context":{"a":1}}]\n', (2, 1),
                 "unexpected end of input: the array is not closed", ""), id="not-closed"),
    pytest.param(b'[{"a":1}] [', (b'[{"context":{"a":1}}]\n', (1, 11), "unexpected text after the array", "["),
                 id="text-after"),
    pytest.param(b'[,{"a":1}]', (b"[]\n", (1, 2), "expected a value, got ','", ',{"a":1}]'), id="no-value"),
])
def test_a_break_in_the_array_rejects_what_follows(cli: Cli, tmp_path: Path, stdin: bytes,
                                                   expected: tuple[bytes, tuple[int, int], str, str]) -> None:
    """The elements before the break are converted; what follows it is one rejected record, located there."""
    out, where, reason, record = expected
    rejects = tmp_path / "r.ndjson"
    result = cli("convert", "--rejects", rejects, "-q", stdin=stdin)
    assert (result.code, result.out) == (1, out)
    [entry] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert ((entry["line"], entry["column"]), entry["reason"], entry["record"]) == (where, f"invalid JSON: {reason}",
                                                                                   record)


def test_several_inputs_join_into_ndjson_arrays_included(cli: Cli, tmp_path: Path) -> None:
    first, second, third = tmp_path / "a.ndjson", tmp_path / "b.json", tmp_path / "c.json"
    first.write_bytes(b'{"event_name":"a","properties":{}}\n')
    second.write_bytes(b'[\n  {"event_name": "b", "properties": {"x": [1, 2]}},\n  {"event_name": "c", "context": {}}\n]\n')
    third.write_bytes(b'{"event_name":"d","properties":{}}')
    expected = (b'{"event_name":"a","context":{}}\n{"event_name":"b","x":[1,2],"context":{}}\n'
                b'{"event_name":"c","context":{}}\n{"event_name":"d","context":{}}\n')
    assert cli("convert", first, second, third, "-q") == Run(0, expected, "")
    out = tmp_path / "all.ndjson"
    assert cli("convert", second, first, "-o", out, "-q").code == 0
    assert out.read_bytes() == (b'{"event_name":"b","x":[1,2],"context":{}}\n{"event_name":"c","context":{}}\n'
                                b'{"event_name":"a","context":{}}\n')


def test_a_stopped_array_on_stdout_is_closed(cli: Cli) -> None:
    stdin = b'[{"event_name":"a","properties":{}},{"properties":{"context":1}},{"properties":{}}]'
    result = cli("convert", stdin=stdin)
    assert (result.code, result.out) == (1, b'[{"event_name":"a","context":{}}]\n')
    assert result.err.startswith("<stdin>:1: `context` inside `properties`")


def test_pretty_object(cli: Cli) -> None:
    result = cli("convert", "--pretty", "-q", FIXTURES / "pairs" / "consent-pending.v1.json")
    assert result.out == (b'{\n  "event_name": "page_view",\n  "user": "{waiting_for_consent}",\n  "context": {\n'
                          b'    "event_id": "202401020000000001",\n    "page": {\n      "title": "Accueil",\n'
                          b'      "location": "https://shop.com/"\n    },\n'
                          b'    "event_timestamp": "2024-01-02T10:00:00.000Z"\n  }\n}\n')


def test_pretty_has_no_effect_on_ndjson(cli: Cli) -> None:
    result = cli("convert", "--pretty", stdin=b'{"event_name":"a","properties":{}}\n{"event_name":"b"}\n')
    assert result.out == b'{"event_name":"a","context":{}}\n{"event_name":"b"}\n'
    assert result.err == ("migrate1to2: warning: <stdin>: --pretty has no effect on NDJSON input (one record per "
                          "line)\n" + summary(2, 1, 1, 0))


def test_blank_lines_crlf_and_bom(cli: Cli) -> None:
    stdin = b'\xef\xbb\xbf{"event_name":"a","properties":{"x":1}}\r\n\r\n  \n{"event_name":"b","event_id":"2"}\r\n'
    result = cli("convert", stdin=stdin)
    assert result.out == b'{"event_name":"a","x":1,"context":{}}\n{"event_name":"b","context":{"event_id":"2"}}\n'
    assert result.err == summary(2, 2, 0, 0)


def test_line_numbers_count_blank_lines(cli: Cli) -> None:
    result = cli("convert", stdin=b'{"event_name":"a","properties":{}}\n\n\n{"properties":{"context":1}}\n')
    assert result.err.splitlines()[0] == ("<stdin>:4: `context` inside `properties` would collide with the 2.0 "
                                          "`context` object; rename or remove it before converting @ $.properties.context")


def test_empty_input(cli: Cli) -> None:
    assert cli("convert", stdin=b"") == Run(0, b"", summary(0, 0, 0, 0))


def test_several_inputs_into_one_output(cli: Cli, tmp_path: Path) -> None:
    output = tmp_path / "all.ndjson"
    result = cli("convert", WEB_V1, ARCHIVE, "-o", output, "-q")
    assert result == Run(0, b"", "")
    lines = output.read_bytes().splitlines()
    assert len(lines) == 301
    assert parse(lines[0]) == parse(WEB_V2.read_bytes())


# --- output files --------------------------------------------------------------------------------

def test_output_replaces_atomically_and_keeps_permissions(cli: Cli, tmp_path: Path) -> None:
    output = tmp_path / "out.ndjson"
    output.write_bytes(b"old\n")
    output.chmod(0o640)
    link = tmp_path / "link.ndjson"
    link.symlink_to(output)
    assert cli("convert", WEB_V1, "-o", link, "-q").code == 0
    assert link.is_symlink()
    assert parse(output.read_bytes()) == parse(WEB_V2.read_bytes())
    assert stat.S_IMODE(output.stat().st_mode) == 0o640
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link.ndjson", "out.ndjson"]


def test_failed_run_leaves_an_existing_output_untouched(cli: Cli, tmp_path: Path) -> None:
    output = tmp_path / "out.ndjson"
    output.write_bytes(b"previous result\n")
    assert cli("convert", BAD, "-o", output).code == 1
    assert output.read_bytes() == b"previous result\n"


def test_rejects_file_is_written_even_when_empty(cli: Cli, tmp_path: Path) -> None:
    rejects = tmp_path / "r.ndjson"
    assert cli("convert", WEB_V1, "--rejects", rejects, "-q").code == 0
    assert rejects.read_bytes() == b""


# --- usage and I/O errors ------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "err"), [
    pytest.param(["convert", "missing.ndjson"], "migrate1to2: error: cannot read missing.ndjson: no such file or "
                 "directory\n", id="missing-input"),
    pytest.param(["convert", "fixtures"], "migrate1to2: error: fixtures is a directory: give -o DEST_DIR (the tree "
                 "is mirrored there) or --in-place\n", id="directory-input"),
    pytest.param(["convert", str(WEB_V1), "-o", str(WEB_V1)], f"migrate1to2: error: the output {WEB_V1} is also an "
                 "input: write the result to another file (or use --in-place)\n", id="output-is-input"),
    pytest.param(["convert", str(WEB_V1), "-o", "/nonexistent-dir/out.ndjson"],
                 "migrate1to2: error: cannot write /nonexistent-dir/out.ndjson: no such file or directory\n",
                 id="unwritable-output"),
])
def test_io_errors_exit_2(cli: Cli, monkeypatch: pytest.MonkeyPatch, argv: list[str], err: str) -> None:
    monkeypatch.chdir(ROOT)
    assert cli(*argv) == Run(2, b"", err)


def test_unknown_option_exits_2(cli: Cli) -> None:
    result = cli("convert", "--zzz")
    assert (result.code, result.out) == (2, b"")
    assert result.err == ("Usage: migrate1to2 convert [OPTIONS] [INPUT...]\nTry 'migrate1to2 convert --help' for "
                          "help.\n\nError: No such option: --zzz\n")


def test_help_lists_the_commands(cli: Cli) -> None:
    result = cli("--help")
    assert result.code == 0
    text = result.out.decode()
    for command in ("convert", "downgrade"):
        assert command in text


# --- the real console script ---------------------------------------------------------------------

def _script() -> str:
    found = shutil.which("migrate1to2", path=str(Path(sys.executable).parent)) or shutil.which("migrate1to2")
    assert found, "the console script is installed with the package"
    return found


def test_console_script_pipes(tmp_path: Path) -> None:
    done = subprocess.run([_script(), "convert"], input=WEB_V1.read_bytes(), capture_output=True, check=False)
    assert done.returncode == 0
    assert parse(done.stdout) == parse(WEB_V2.read_bytes())
    assert done.stderr.decode() == summary(1, 1, 0, 0)


def test_console_script_exit_codes(tmp_path: Path) -> None:
    bad = subprocess.run([_script(), "convert", str(BAD), "-o", str(tmp_path / "o")], capture_output=True, check=False)
    assert bad.returncode == 1
    assert bad.stderr.decode().startswith(f"{BAD}:2:24: invalid JSON")
    usage = subprocess.run([_script(), "convert", "--bogus"], capture_output=True, check=False)
    assert usage.returncode == 2
    assert b"Traceback" not in usage.stderr


def test_python_dash_m(tmp_path: Path) -> None:
    output = tmp_path / "out.ndjson.gz"
    done = subprocess.run([sys.executable, "-m", "migrate1to2", "downgrade", str(WEB_V2), "-o", str(output), "-q"],
                          capture_output=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert parse(gzip.decompress(output.read_bytes())) == parse(WEB_V1.read_bytes())


def test_stdin_is_a_terminal_is_a_usage_error() -> None:
    """With no input file and a terminal on stdin, the tool says so instead of waiting forever."""
    import pty

    primary, secondary = pty.openpty()
    try:
        done = subprocess.run([_script(), "convert"], stdin=secondary, capture_output=True, timeout=60, check=False)
    finally:
        os.close(primary)
        os.close(secondary)
    assert done.returncode == 2
    assert done.stderr == b"migrate1to2: error: no input: give payload files, or pipe payloads to stdin\n"


def test_importing_the_library_does_not_import_the_cli() -> None:
    code = "import sys, migrate1to2; assert 'typer' not in sys.modules and 'migrate1to2.cli' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_start_up_imports_only_what_plain_files_need() -> None:
    """Every run pays for what the command line imports: the codec libraries and the worker pools come in
    only when a file or a job needs them (the standard library's shutil brings bz2 and lzma anyway)."""
    code = ("import sys, migrate1to2.cli; print(sorted(name for name in ('zstandard', 'zlib_ng', 'multiprocessing', "
            "'concurrent.futures', 'pydantic', 'migrate1to2.audit.walk') if name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout == "[]\n"


@pytest.mark.parametrize("compress", ["none", "gzip"])
def test_console_script_writes_everything_before_it_exits(tmp_path: Path, compress: str) -> None:
    """The program leaves without tearing its modules down: stdout, stderr and the files it wrote must
    all be complete by then (several MB here, more than a pipe holds)."""
    from bench.generate import events

    stream = events(5)
    source = tmp_path / "in.ndjson"
    source.write_text("".join(next(stream) + "\n" for _ in range(4000)))
    expected = b"".join(upgrade_json(line) + b"\n" for line in source.read_bytes().splitlines())
    done = subprocess.run([sys.executable, "-m", "migrate1to2", "convert", str(source), "--compress", compress,
                           "-j", "1", "--rejects", str(tmp_path / "rejects.ndjson")], capture_output=True, check=False)
    assert done.returncode == 0
    assert (gzip.decompress(done.stdout) if compress == "gzip" else done.stdout) == expected
    assert done.stderr.decode() == summary(4000, 4000, 0, 0)
    assert (tmp_path / "rejects.ndjson").read_bytes() == b""


def test_console_script_with_stdout_closed(tmp_path: Path) -> None:
    """Started with descriptor 1 closed (as some schedulers do), a run that writes to a file succeeds quietly."""
    out = tmp_path / "out.ndjson"
    done = subprocess.run(["sh", "-c", 'exec "$0" "$@" >&-', sys.executable, "-m", "migrate1to2", "convert",
                           str(ARCHIVE), "-o", str(out), "-q"], capture_output=False, stderr=subprocess.PIPE,
                          check=False)
    assert (done.returncode, done.stderr) == (0, b"")
    assert out.read_bytes() == b"".join(upgrade_json(line) + b"\n" for line in ARCHIVE.read_bytes().splitlines())


def test_convert_and_downgrade_take_the_same_options() -> None:
    """One definition for both directions (migrate1to2/cli/convert.py): the same options, defaults and help."""
    import typer

    from migrate1to2.cli import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]

    def options(name: str) -> list[tuple[object, ...]]:
        return [(p.name, tuple(p.opts), p.default, getattr(p, "help", None)) for p in commands[name].params]

    assert options("convert") == options("downgrade")
    assert len(options("convert")) == 17  # 16, and --storage-option (object stores)
    assert list(commands) == ["convert", "downgrade", "audit"]
