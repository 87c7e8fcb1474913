"""Nothing lost on crash and rerun: kills at any moment, resumes, messy trees, signals, closed stdout.

The crash tests run the real console script as a subprocess and kill it (SIGKILL, SIGTERM) at named
moments of the I/O layer, which it pauses at when ``MIGRATE1TO2_TEST_PAUSE`` names them (see
:func:`migrate1to2.storage.files.pause_point`).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.generate import events
from migrate1to2 import upgrade_json
from migrate1to2.convert import run
from tests.conftest import FIXTURES
from tests.helpers import Cli, Run

ARCHIVE = FIXTURES / "archive" / "events-2023.v1.ndjson"
RECORDS = ARCHIVE.read_bytes()
LINES = RECORDS.splitlines(keepends=True)
BAD = b'{"event_name":"x","properties":{"event_name":"y"}}\n'
CLI = [sys.executable, "-m", "migrate1to2"]


def converted(data: bytes) -> bytes:
    return b"".join(upgrade_json(line) + b"\n" for line in data.splitlines() if line.strip())


def tree(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def payload_tree(root: Path, *contents: bytes) -> Path:
    """``root/src`` holding ``a.ndjson``, ``b.ndjson``, ... with ``contents``, in that order."""
    source = root / "src"
    source.mkdir()
    for name, content in zip("abcdefgh", contents, strict=False):
        (source / f"{name}.ndjson").write_bytes(content)
    return source


# --- messages ------------------------------------------------------------------------------------

def test_one_finished_file_is_singular(cli: Cli, tmp_path: Path) -> None:
    source = payload_tree(tmp_path, b"".join(LINES[:3]), BAD)
    result = cli("convert", source, "-o", tmp_path / "dest", "-q", "-j", "1")
    assert result.code == 1
    assert result.err.endswith(f"migrate1to2: stopped at the first record that cannot be converted; "
                               f"{tmp_path}/dest/b.ndjson was not written; the file finished before it is "
                               "complete. Use --rejects FILE to set such records aside and convert the rest.\n")


def test_cr_only_line_ends_are_named(cli: Cli, tmp_path: Path) -> None:
    """A file whose records end with a lone CR is one long line to NDJSON: the reason says why."""
    source = tmp_path / "mac.ndjson"
    source.write_bytes(b"".join(line.rstrip(b"\n") + b"\r" for line in LINES[:3]))
    rejects = tmp_path / "rejects.ndjson"
    result = cli("convert", source, "--rejects", rejects, "-q")
    assert result == Run(1, b"", "")
    [entry] = map(json.loads, rejects.read_text().splitlines())
    assert entry["reason"] == ("invalid JSON: trailing characters; the file seems to use CR line ends (old Mac "
                               "style), but records must end with LF or CRLF: convert its line ends first (e.g. "
                               "tr '\\r' '\\n' < FILE > FILE.lf)")
    assert (entry["line"], entry["record"]) == (1, source.read_bytes().decode())
    # Trailing characters on an LF line say nothing about line ends.
    plain = cli("convert", "-q", stdin=LINES[0].rstrip(b"\n") + b" x\n")
    assert plain.code == 1
    assert plain.err.startswith("<stdin>:1:") and "trailing characters\n" in plain.err


# --- stdout closed -------------------------------------------------------------------------------

CLOSED = "migrate1to2: error: cannot write to stdout: it is closed (started with >&-); give -o FILE, or redirect " \
         "stdout to a file or a pipe\n"


@pytest.mark.parametrize("argv", [["convert", str(ARCHIVE)], ["convert", "-", "-j", "2"], ["audit", str(ARCHIVE)]],
                         ids=["convert", "convert-stdin", "audit"])
def test_stdout_closed_is_an_error_without_traceback(argv: list[str]) -> None:
    with open(ARCHIVE, "rb") as stdin:
        done = subprocess.run(["sh", "-c", 'exec "$0" "$@" >&-', *CLI, *argv], stdin=stdin, stderr=subprocess.PIPE,
                              check=False)
    assert (done.returncode, done.stderr.decode()) == (2, CLOSED)


def test_audit_reports_a_full_stdout() -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run([*CLI, "audit", str(ARCHIVE)], stdout=full, stderr=subprocess.PIPE, check=False)
    assert (done.returncode, done.stderr) == (2, b"migrate1to2: error: cannot write to stdout: no space left on "
                                                 b"device\n")


# --- the pause hook ------------------------------------------------------------------------------

def start(argv: list[str], pause: str, **kwargs: object) -> subprocess.Popen[bytes]:
    """Start the console script and wait until it stops itself at the point ``pause`` (``NAME[#N]``)."""
    env = {**os.environ, "MIGRATE1TO2_TEST_PAUSE": pause}
    process = subprocess.Popen([*CLI, *argv], env=env, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]
    _, status = os.waitpid(process.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"{argv} ended before the point {pause}: {process.stderr.read().decode()}"
    return process  # type: ignore[no-any-return]


def finish(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGCONT) -> tuple[int, str]:
    """Continue (or signal) a stopped process; its exit code and stderr."""
    process.send_signal(how)
    if how is not signal.SIGCONT and how is not signal.SIGKILL:
        process.send_signal(signal.SIGCONT)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    return process.wait(60), err


# --- a file that shrinks -------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_that_shrinks_while_read_is_an_error(tmp_path: Path, jobs: str) -> None:
    """Truncated after its size was taken (a log rotation): an error naming the file, never a spin."""
    source = tmp_path / "growing.ndjson"
    stream = events(3)
    records = 3000 if jobs == "1" else 9000  # several regions; with -j 2, enough for the pool (8 MB)
    source.write_text("".join(next(stream) + "\n" for _ in range(records)))
    assert jobs == "1" or source.stat().st_size > run.POOL_BYTES
    size = source.stat().st_size
    process = start(["convert", str(source), "-o", str(tmp_path / "out.ndjson"), "-j", jobs], "input-size")
    with open(source, "r+b") as truncate:
        truncate.truncate(size // 3)
    code, err = finish(process)
    assert (code, err) == (2, f"migrate1to2: error: cannot read {source}: the file shrank while being read (it "
                              f"had {size} bytes); something is writing to it (a log rotation, a truncating "
                              "writer): convert a copy, or wait until it is complete\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["growing.ndjson"]


@pytest.mark.parametrize("limit", [1 << 20, 10], ids=["region", "region-with-a-giant-line"])
def test_a_region_past_the_end_is_an_error(tmp_path: Path, limit: int) -> None:
    from migrate1to2 import Version
    from migrate1to2.convert import pool
    from migrate1to2.convert.records import Settings
    from migrate1to2.errors import InputError

    source = tmp_path / "short.ndjson"
    source.write_bytes(b"".join(LINES[:3]))
    with pytest.raises(InputError, match="the file shrank while being read"):
        list(pool.regions(str(source), 0, 10 << 20, 100, "short.ndjson"))
    region = pool.Region(str(source), 0, source.stat().st_size + 50, "short.ndjson")
    with pytest.raises(InputError, match=r"^cannot read short\.ndjson: the file shrank while being read"):
        pool.convert_region(region, Settings(Version.V2, stop_at_reject=False, max_record_bytes=limit))


# --- in place: a kill between the backup link and the rename -------------------------------------

def test_a_kill_between_backup_link_and_rename_is_resumed(tmp_path: Path) -> None:
    """The backup is then a second name of the input itself (same inode): the rerun goes on."""
    target = tmp_path / "a.ndjson"
    target.write_bytes(RECORDS)
    argv = ["convert", str(target), "--in-place", "--backup", ".v1", "-q"]
    process = start(argv, "rename")
    assert finish(process, signal.SIGKILL)[0] == -signal.SIGKILL
    backup = tmp_path / "a.ndjson.v1"
    assert os.path.samefile(target, backup) and target.read_bytes() == RECORDS
    [temp] = tmp_path.glob(".a.ndjson.*.part")  # complete, never renamed
    done = subprocess.run([*CLI, *argv], capture_output=True, check=False)
    assert (done.returncode, done.stderr.decode()) == (
        0, f"migrate1to2: removed {temp}: a temporary file left by an interrupted run\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.ndjson", "a.ndjson.v1"]
    assert target.read_bytes() == converted(RECORDS)
    assert backup.read_bytes() == RECORDS
    assert not os.path.samefile(target, backup)


# --- messy trees ---------------------------------------------------------------------------------

def small_tree(root: Path) -> Path:
    source = root / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.ndjson").write_bytes(b"".join(LINES[:5]) + BAD)
    (source / "sub" / "b.ndjson").write_bytes(b"".join(LINES[5:10]))
    return source


def test_in_place_reruns_never_convert_backups(cli: Cli, tmp_path: Path) -> None:
    """With --backup SUFFIX, files named with the suffix are backups: never inputs, on any rerun."""
    source = small_tree(tmp_path)
    original = (source / "a.ndjson").read_bytes()
    rejects = tmp_path / "rejects.ndjson"
    argv = ["convert", source, "--in-place", "--backup", ".v1", "--rejects", rejects, "-j", "1"]
    assert cli(*argv, "-q").code == 1
    for _ in range(2):
        again = cli(*argv)
        assert again.code == 0
        assert again.err == (f"migrate1to2: skipped {source}/a.ndjson.v1: a backup kept by --backup .v1 (backups "
                             "are never converted)\n"
                             f"migrate1to2: skipped {source}/sub/b.ndjson.v1: a backup kept by --backup .v1 "
                             "(backups are never converted)\n"
                             "migrate1to2: 10 records in 2 files: 0 converted, 10 unchanged (already 2.0 or the "
                             "same in both), 0 rejected\n")
    assert tree(source) == ["a.ndjson", "a.ndjson.v1", "sub/b.ndjson", "sub/b.ndjson.v1"]
    assert (source / "a.ndjson.v1").read_bytes() == original
    assert len(rejects.read_text().splitlines()) == 1
    # Named on the command line (a shell glob), a backup is not converted either.
    named = cli("convert", source / "a.ndjson", source / "a.ndjson.v1", "--in-place", "--backup", ".v1", "-q")
    assert named == Run(0, b"", f"migrate1to2: skipped {source}/a.ndjson.v1: a backup kept by --backup .v1 "
                                "(backups are never converted)\n")
    # A backup is NAME plus the suffix beside NAME: with --backup .json, events.json alone is an input.
    other = tmp_path / "other"
    other.mkdir()
    (other / "events.json").write_bytes(LINES[0])
    alone = cli("convert", other, "--in-place", "--backup", ".json", "-q", "-j", "1")
    assert alone == Run(0, b"", "")
    assert tree(other) == ["events.json", "events.json.json"]
    assert (other / "events.json").read_bytes() == converted(LINES[0])


def test_unreadable_folder_fails_the_run(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rest is converted, but the run exits 2 and the summary and the stats say what was not read."""
    source = small_tree(tmp_path)
    locked = source / "sub"
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    stats, rejects = tmp_path / "stats.json", tmp_path / "rejects.ndjson"
    result = cli("convert", source, "-o", tmp_path / "dest", "--rejects", rejects, "--stats", stats, "-j", "1")
    assert result == Run(2, b"", f"migrate1to2: error: {locked}: cannot be read: permission denied\n"
                                 "migrate1to2: 6 records in 1 file: 5 converted, 0 unchanged (already 2.0 or the same "
                                 f"in both), 1 rejected (see {rejects}); 1 path could not be read (not converted: "
                                 "see above)\n")
    report = json.loads(stats.read_text())
    assert report["failed"] == [{"path": str(locked), "reason": "cannot be read: permission denied"}]
    assert report["total"]["failed"] == 1
    assert tree(tmp_path / "dest") == ["a.ndjson"]


@pytest.mark.parametrize("mode", ["-o", "--in-place"])
def test_link_loop_in_a_tree_is_an_unreadable_entry(cli: Cli, tmp_path: Path, mode: str) -> None:
    source = small_tree(tmp_path)
    (source / "sub" / "loop.ndjson").symlink_to("loop.ndjson")
    argv = ["-o", str(tmp_path / "dest")] if mode == "-o" else ["--in-place"]
    result = cli("convert", source, *argv, "--rejects", tmp_path / "rejects.ndjson", "-q", "-j", "1")
    assert result == Run(2, b"", f"migrate1to2: error: {source}/sub/loop.ndjson: cannot be read: too many levels of "
                                 "symbolic links\n")
    done = (tmp_path / "dest" / "sub" / "b.ndjson") if mode == "-o" else source / "sub" / "b.ndjson"
    assert done.read_bytes() == converted(b"".join(LINES[5:10]))


def test_dangling_link_in_a_tree_is_a_note(cli: Cli, tmp_path: Path) -> None:
    source = small_tree(tmp_path)
    (source / "sub" / "current.ndjson").symlink_to("rotated-away.ndjson")
    result = cli("convert", source, "-o", tmp_path / "dest", "--rejects", tmp_path / "rejects.ndjson", "-q", "-j", "1")
    assert result == Run(1, b"", f"migrate1to2: skipped {source}/sub/current.ndjson: a link to something that does "
                                 "not exist\n")
    audited = cli("audit", source)
    assert (audited.code, audited.err) == (1, f"migrate1to2: note: skipped {source}/sub/current.ndjson: a link to "
                                              "something that does not exist\n")  # 1: 1.0 payloads found
    # Named on the command line, it is an input that cannot be read.
    named = cli("convert", source / "sub" / "current.ndjson", "-q")
    assert named == Run(2, b"", f"migrate1to2: error: cannot read {source}/sub/current.ndjson: no such file or "
                                "directory\n")
    assert cli("audit", source / "sub" / "current.ndjson").code == 2


# --- SIGTERM, and what kill -9 leaves ------------------------------------------------------------

def big_tree(root: Path, files: int = 3, records: int = 1500) -> Path:
    source = root / "src"
    source.mkdir()
    for index in range(files):
        stream = events(index)
        (source / f"part-{index}.ndjson").write_text("".join(next(stream) + "\n" for _ in range(records)))
    return source


@pytest.mark.parametrize("mode", ["-o", "--in-place"])
def test_sigterm_cleans_up_like_ctrl_c(tmp_path: Path, mode: str) -> None:
    source = big_tree(tmp_path)
    originals = {path.name: path.read_bytes() for path in source.iterdir()}
    dest = tmp_path / "dest" if mode == "-o" else source
    argv = ["convert", str(source), "-j", "1", "--rejects", str(tmp_path / "rejects.ndjson"),
            *(["-o", str(dest)] if mode == "-o" else ["--in-place"])]
    process = start(argv, "written#2")  # mid-file
    code, err = finish(process, signal.SIGTERM)
    resume = "rerun with --skip-existing to resume" if mode == "-o" else "rerun to finish"
    assert (code, err) == (143, "migrate1to2: terminated (SIGTERM); finished output files are complete, unfinished "
                                f"ones were not written ({resume})\n")
    assert not [path for path in dest.iterdir() if path.name.endswith(".part")]
    assert not (tmp_path / "rejects.ndjson").exists() or (tmp_path / "rejects.ndjson").read_bytes() == b""
    if mode == "--in-place":
        assert {path.name: path.read_bytes() for path in source.iterdir()} == originals
    else:
        assert list(dest.iterdir()) == []


def test_a_later_run_removes_what_kill_9_left(tmp_path: Path) -> None:
    source = big_tree(tmp_path)
    dest = tmp_path / "dest"
    argv = ["convert", str(source), "-o", str(dest), "-j", "1"]
    process = start(argv, "written#2")
    finish(process, signal.SIGKILL)
    [left] = [path for path in dest.iterdir() if path.name.endswith(".part")]
    assert left.name.startswith(".part-0.ndjson.")
    # Another program's file named alike is not this run's business.
    other = dest / ".notes.txt.abcdefgh.part"
    other.write_text("not ours")
    done = subprocess.run([*CLI, *argv, "--skip-existing", "-q"], capture_output=True, check=False)
    assert (done.returncode, done.stderr.decode()) == (
        0, f"migrate1to2: removed {left}: a temporary file left by an interrupted run\n")
    assert sorted(path.name for path in dest.iterdir()) == [other.name, "part-0.ndjson", "part-1.ndjson",
                                                            "part-2.ndjson"]


def test_a_running_writers_temporary_file_is_left_alone(tmp_path: Path) -> None:
    """Two runs at once: the second never removes what the first is writing (it holds a lock on it)."""
    source = big_tree(tmp_path, files=1)
    out = tmp_path / "out.ndjson"
    first = start(["convert", str(source / "part-0.ndjson"), "-o", str(out), "-j", "1"], "written#2")
    [temp] = [path for path in tmp_path.iterdir() if path.name.endswith(".part")]
    done = subprocess.run([*CLI, "convert", str(source / "part-0.ndjson"), "-o", str(out), "-q"], capture_output=True,
                          check=False)
    assert (done.returncode, done.stderr) == (0, b"")
    assert temp.exists()
    assert finish(first) == (0, "migrate1to2: 1500 records: 1500 converted, 0 unchanged (already 2.0 or the same in "
                                "both), 0 rejected\n")
    assert out.read_bytes() == converted((source / "part-0.ndjson").read_bytes())
    assert not temp.exists()


# --- rejects survive a kill ----------------------------------------------------------------------

def rejected_records(rejects: Path) -> list[tuple[str, int, str]]:
    return [(entry["source"], entry["line"], entry["record"]) for entry in map(json.loads, rejects.read_text().splitlines())]


def test_rejects_survive_kill_9_and_skip_existing(tmp_path: Path) -> None:
    """Killed right after the first output appears: the resumed run's rejects file holds its bad record."""
    source = payload_tree(tmp_path, LINES[0] + BAD + LINES[1], b"".join(LINES[2:6]))
    dest, rejects = tmp_path / "dest", tmp_path / "rejects.ndjson"
    argv = ["convert", str(source), "-o", str(dest), "--rejects", str(rejects), "-j", "1"]
    finish(start(argv, "committed"), signal.SIGKILL)
    assert tree(dest) == ["a.ndjson"]
    done = subprocess.run([*CLI, *argv, "--skip-existing"], capture_output=True, check=False)
    assert (done.returncode, done.stderr.decode()) == (
        0, "migrate1to2: 4 records in 1 file: 4 converted, 0 unchanged (already 2.0 or the same in both), 0 rejected; "
           "1 file skipped, output already there\n")
    assert rejected_records(rejects) == [(str(source / "a.ndjson"), 2, BAD.decode().strip())]
    # Every record accounted for: in = converted + unchanged + rejected, across both runs.
    written = sum(len((dest / name).read_bytes().splitlines()) for name in tree(dest))
    assert written + len(rejected_records(rejects)) == 7
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_a_fresh_run_replaces_what_a_killed_run_journaled(tmp_path: Path) -> None:
    source = payload_tree(tmp_path, LINES[0] + BAD, LINES[1] + BAD)
    dest, rejects = tmp_path / "dest", tmp_path / "rejects.ndjson"
    argv = ["convert", str(source), "-o", str(dest), "--rejects", str(rejects), "-j", "1", "-q"]
    finish(start(argv, "committed"), signal.SIGKILL)
    assert subprocess.run([*CLI, *argv], check=False).returncode == 1  # not a resume: everything again
    assert [record[0] for record in rejected_records(rejects)] == [str(source / "a.ndjson"), str(source / "b.ndjson")]


def test_two_runs_cannot_share_a_rejects_file(tmp_path: Path) -> None:
    source = payload_tree(tmp_path, LINES[0] + BAD)
    rejects = tmp_path / "rejects.ndjson"
    first = start(["convert", str(source), "-o", str(tmp_path / "one"), "--rejects", str(rejects), "-j", "1"],
                  "committed")
    done = subprocess.run([*CLI, "convert", str(source), "-o", str(tmp_path / "two"), "--rejects", str(rejects)],
                          capture_output=True, check=False)
    journal = tmp_path / ".rejects.ndjson.migrate1to2-journal"
    assert (done.returncode, done.stderr.decode()) == (
        2, f"migrate1to2: error: cannot write {rejects}: another run is writing it (its journal {journal} is locked); "
           "wait for it, or give another --rejects file\n")
    assert finish(first)[0] == 1
    assert len(rejected_records(rejects)) == 1


# --- the crash test: kill a tree conversion at several moments, resume, compare with a clean run ---

def crash_tree(root: Path) -> Path:
    """Three inputs of two regions each (about 1.3 MB), each with rejected records, one of them compressed."""
    source = root / "src"
    (source / "sub").mkdir(parents=True)
    for index, name in enumerate(["a.ndjson", "b.ndjson", "sub/c.ndjson"]):
        stream = events(20 + index)
        lines = [(next(stream) + "\n").encode() for _ in range(1200)]
        lines[7 + index] = BAD
        lines[900] = b'{"event_name":"x","properties":{"context":1}}\n'
        (source / name).write_bytes(b"".join(lines))
    (source / "d.ndjson.gz").write_bytes(gzip.compress(b"".join(LINES[:50]) + BAD, mtime=0))
    return source


def snapshot(root: Path, *, skip: str = "") -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in tree(root) if not (skip and name.endswith(skip))}


#: Where the run is killed: the I/O layer's pause point and how many times it is reached first.
MOMENTS = {
    "after-the-first-output": "committed#1",
    "mid-file": "written#2",
    "mid-a-later-file": "written#5",
    "before-the-first-rename": "rename#1",
    "before-the-last-outputs-rename": "rename#4",
    "before-the-rejects-files-rename": "rename#5",
    "twice": "committed#2",
}


Outcome = tuple[int, dict[str, bytes], list[dict[str, object]]]


def crash_run(root: Path, mode: str, kill_at: str | None = None, times: int = 1) -> Outcome:
    """Convert a :func:`crash_tree` under ``root`` (killed ``times`` at ``kill_at``, then resumed): the exit
    code, the outputs (with the backups, in place) and the rejects, with sources relative to the tree."""
    source = crash_tree(root)
    dest = root / "dest" if mode == "-o" else source
    rejects = (source if mode == "--in-place" else root) / "rejects.ndjson"  # in place: inside the tree
    argv = ["convert", str(source), "--rejects", str(rejects), "-j", "1", "-q"]
    argv += ["-o", str(dest)] if mode == "-o" else ["--in-place", "--backup", ".v1"]
    resume = ["--skip-existing"] if mode == "-o" else []
    for _ in range(times if kill_at else 0):
        finish(start([*argv, *resume], kill_at), signal.SIGKILL)  # type: ignore[arg-type]
    done = subprocess.run([*CLI, *argv, *resume], capture_output=True, check=False)
    assert b"Traceback" not in done.stderr
    assert b"journal" not in done.stderr  # the run's own journal (in the tree, in place) is not news
    entries = [json.loads(line) for line in rejects.read_text().splitlines()]
    for entry in entries:
        entry["source"] = Path(entry["source"]).relative_to(source).as_posix()
    assert not list(root.rglob(".*")), "a temporary file or a journal was left"
    return done.returncode, snapshot(dest, skip="rejects.ndjson"), entries


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """What a run never killed gives, in each mode."""
    return {mode: crash_run(tmp_path_factory.mktemp("clean"), mode) for mode in ("-o", "--in-place")}


@pytest.mark.parametrize("mode", ["-o", "--in-place"])
@pytest.mark.parametrize("moment", sorted(MOMENTS))
def test_kill_at_any_moment_then_resume_equals_a_clean_run(tmp_path: Path, clean_runs: dict[str, Outcome],
                                                          mode: str, moment: str) -> None:
    """kill -9 at a moment of a tree conversion, then resume: every output and the rejects file equal
    those of a run never killed, and no temporary file or journal is left."""
    clean_code, clean_outputs, clean_rejects = clean_runs[mode]
    code, outputs, rejects = crash_run(tmp_path, mode, MOMENTS[moment], times=2 if moment == "twice" else 1)
    assert outputs == clean_outputs
    assert rejects == clean_rejects
    # 1: records were rejected (a resume exits 0 when the files left to it had none).
    assert clean_code == 1 and code in (0, 1)
    assert len(clean_rejects) == 7
    if mode == "-o":  # every record accounted for: in = written + rejected
        written = sum(len((gzip.decompress(data) if name.endswith(".gz") else data).splitlines())
                      for name, data in clean_outputs.items())
        assert written + len(clean_rejects) == 3 * 1200 + 51


def test_journal_keeps_each_in_place_replacement_and_each_outputs_last(tmp_path: Path) -> None:
    """In place, each replacement removed its rejected records from the file: all of them count. With -o, an
    output written again (it was deleted) counts once, for its last version."""
    source = payload_tree(tmp_path, LINES[0] + BAD, b"".join(LINES[1:5]))
    rejects = tmp_path / "rejects.ndjson"
    in_place = ["convert", str(source), "--in-place", "--rejects", str(rejects), "-j", "1", "-q"]
    finish(start(in_place, "written#2"), signal.SIGKILL)  # a.ndjson replaced, killed in b.ndjson
    other = b'{"event_name":"y","properties":{"context":2}}\n'
    with open(source / "a.ndjson", "ab") as more:  # new 1.0 records arrive before the rerun
        more.write(LINES[5] + other)
    assert subprocess.run([*CLI, *in_place], check=False).returncode == 1
    assert [record[2] for record in rejected_records(rejects)] == [BAD.decode().strip(), other.decode().strip()]

    rejects.unlink()
    dest = tmp_path / "dest"
    into = ["convert", str(source / "b.ndjson"), str(source / "bad.ndjson"), "-o", f"{dest}/", "--rejects",
            str(rejects), "-j", "1", "-q", "--skip-existing"]
    (source / "bad.ndjson").write_bytes(BAD + LINES[6])
    finish(start(into, "rename#3"), signal.SIGKILL)  # both written, killed before the rejects file's rename
    (dest / "bad.ndjson").unlink()
    assert subprocess.run([*CLI, *into], check=False).returncode == 1
    assert rejected_records(rejects) == [(str(source / "bad.ndjson"), 1, BAD.decode().strip())]


def test_a_torn_journal_tail_is_dropped(tmp_path: Path) -> None:
    """What a run killed while writing the journal left after its last complete line does not count."""
    source = payload_tree(tmp_path, LINES[0] + BAD, LINES[1] + BAD)
    dest, rejects = tmp_path / "dest", tmp_path / "rejects.ndjson"
    argv = ["convert", str(source), "-o", str(dest), "--rejects", str(rejects), "-j", "1", "-q"]
    finish(start(argv, "committed"), signal.SIGKILL)
    journal = tmp_path / ".rejects.ndjson.migrate1to2-journal"
    with open(journal, "ab") as torn:
        torn.write(b'{"source":"elsewhere","line":1,"column":null,"reason":"x","path":null,"record":"{}"}\n#sea')
    assert subprocess.run([*CLI, *argv, "--skip-existing"], check=False).returncode == 1
    assert [record[0] for record in rejected_records(rejects)] == [str(source / "a.ndjson"), str(source / "b.ndjson")]
    assert not journal.exists()


def test_a_compressed_rejects_file_is_resumed(tmp_path: Path) -> None:
    source = payload_tree(tmp_path, LINES[0] + BAD)
    dest, rejects = tmp_path / "dest", tmp_path / "rejects.ndjson.gz"
    argv = ["convert", str(source), "-o", str(dest), "--rejects", str(rejects), "-j", "1", "-q", "--skip-existing"]
    assert subprocess.run([*CLI, *argv], check=False).returncode == 1
    (source / "b.ndjson").write_bytes(BAD)
    assert subprocess.run([*CLI, *argv], check=False).returncode == 1
    entries = [json.loads(line) for line in gzip.decompress(rejects.read_bytes()).splitlines()]
    assert [entry["source"] for entry in entries] == [str(source / "a.ndjson"), str(source / "b.ndjson")]
    # A damaged one is an error: it is left as it was, and nothing else is written.
    rejects.write_bytes(rejects.read_bytes()[:-10])
    (source / "c.ndjson").write_bytes(BAD)
    before = sorted(tmp_path.rglob("*"))
    done = subprocess.run([*CLI, *argv], capture_output=True, check=False)
    assert done.returncode == 2
    assert done.stderr.decode().startswith(f"migrate1to2: error: cannot read {rejects}: ")
    assert sorted(tmp_path.rglob("*")) == before


def test_an_interrupt_waits_for_the_write_it_came_in(tmp_path: Path) -> None:
    """A signal handler's interrupt inside a write to an output is raised when the write is done: a
    threaded gzip writer cut in the middle of a block would hang when the output is discarded."""
    from migrate1to2.storage.files import AtomicFile, interrupt, shielded

    out = AtomicFile(tmp_path / "out.ndjson.gz", threads=2)
    with pytest.raises(KeyboardInterrupt):  # noqa: PT012 - the interrupt comes in the middle
        with shielded():
            out.write(RECORDS)
            interrupt(KeyboardInterrupt())  # what the handler does when the signal comes now
            out.write(RECORDS)  # still done
        pytest.fail("the interrupt was lost")
    out.discard()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(KeyboardInterrupt):
        interrupt(KeyboardInterrupt())  # outside: at once
    # An error on the way out does not swallow it (nor leave it pending for later).
    with pytest.raises(KeyboardInterrupt), shielded():  # noqa: PT012 - the interrupt comes before the error
        interrupt(KeyboardInterrupt())
        raise OSError("disk full")
    with shielded():
        pass


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4])
def test_sigterm_while_compressing_with_threads_never_hangs(tmp_path: Path, delay: float) -> None:
    source = tmp_path / "big.ndjson"
    stream = events(8)
    source.write_text("".join(next(stream) + "\n" for _ in range(12000)))
    out = tmp_path / "out.ndjson.gz"
    process = subprocess.Popen([*CLI, "convert", str(source), "-o", str(out), "-j", "2"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".out.ndjson.gz.*.part")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # writing has started
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(60)
    finally:
        process.kill()  # if it hangs
    assert process.stderr is not None
    err = process.stderr.read().decode()
    if code != 0:  # else it finished before the signal
        assert (code, err) == (143, "migrate1to2: terminated (SIGTERM); finished output files are complete, "
                                    "unfinished ones were not written (rerun with --skip-existing to resume)\n")
    # No temporary file left; the output is there only if complete (the signal came while it was renamed).
    assert sorted(path.name for path in tmp_path.iterdir()) in (["big.ndjson"], ["big.ndjson", "out.ndjson.gz"])
    if out.exists():
        assert gzip.decompress(out.read_bytes()) == converted(source.read_bytes())


def test_rejects_to_a_device_are_written_as_they_come(tmp_path: Path) -> None:
    source = payload_tree(tmp_path, LINES[0] + BAD)
    done = subprocess.run([*CLI, "convert", str(source), "-o", str(tmp_path / "dest"), "--rejects", "/dev/stdout",
                           "-q"], capture_output=True, check=False)
    assert (done.returncode, done.stderr) == (1, b"")
    assert [json.loads(line)["line"] for line in done.stdout.splitlines()] == [2]


def test_an_input_converted_again_replaces_its_earlier_rejects(tmp_path: Path) -> None:
    """With -o, rejects are kept per input: an output deleted and written again by a resume (after fixing
    its input, or not) has its rejects once, as they are now."""
    source = payload_tree(tmp_path, LINES[0] + BAD, LINES[1] + BAD)
    dest, rejects = tmp_path / "dest", tmp_path / "rejects.ndjson"
    argv = [*CLI, "convert", str(source), "-o", str(dest), "--rejects", str(rejects), "-j", "1", "-q",
            "--skip-existing"]
    assert subprocess.run(argv, check=False).returncode == 1
    (dest / "a.ndjson").unlink()  # converted again, as it was
    assert subprocess.run(argv, check=False).returncode == 1
    assert sorted(record[0] for record in rejected_records(rejects)) == [str(source / "a.ndjson"),
                                                                          str(source / "b.ndjson")]
    (source / "b.ndjson").write_bytes(LINES[1] + LINES[2])  # fixed
    (dest / "b.ndjson").unlink()
    assert subprocess.run(argv, check=False).returncode == 0
    assert rejected_records(rejects) == [(str(source / "a.ndjson"), 2, BAD.decode().strip())]
    written = sum(len((dest / name).read_bytes().splitlines()) for name in tree(dest))
    assert written + len(rejected_records(rejects)) == 4  # in = written + rejected


def test_a_journal_killed_while_copying_the_base_is_started_again(tmp_path: Path) -> None:
    """A resuming run copies the earlier rejects file into its new journal first; killed meanwhile, the
    journal is not taken up (the rejects file is still there, untouched) and nothing is lost."""
    from migrate1to2.storage.journal import MAGIC_BASE

    source = payload_tree(tmp_path, LINES[0] + BAD)
    dest, rejects = tmp_path / "dest", tmp_path / "rejects.ndjson"
    argv = [*CLI, "convert", str(source), "-o", str(dest), "--rejects", str(rejects), "-j", "1", "-q",
            "--skip-existing"]
    assert subprocess.run(argv, check=False).returncode == 1
    earlier = rejects.read_bytes()
    (tmp_path / ".rejects.ndjson.migrate1to2-journal").write_bytes(MAGIC_BASE + earlier[:20])  # cut short
    (source / "b.ndjson").write_bytes(BAD)
    assert subprocess.run(argv, check=False).returncode == 1
    assert [record[0] for record in rejected_records(rejects)] == [str(source / "a.ndjson"), str(source / "b.ndjson")]
