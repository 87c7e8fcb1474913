"""Archives at scale: real compressed files, directory trees, reruns, in-place, parallel jobs, envelopes, stats."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import pty
import signal
import subprocess
import sys
import threading
import time
import weakref
import zlib
from pathlib import Path
from typing import BinaryIO

import pytest
import zstandard

from bench.generate import events
from migrate1to2 import Version, rawjson, upgrade_json
from migrate1to2.cli import main
from migrate1to2.convert import pool, read, run
from migrate1to2.convert.records import Settings
from migrate1to2.errors import InputError
from migrate1to2.storage import compression
from migrate1to2.storage.compression import GZIP_LEVEL
from tests.conftest import FIXTURES
from tests.helpers import Cli, Run, summary

ARCHIVE = FIXTURES / "archive" / "events-2023.v1.ndjson"
RECORDS = ARCHIVE.read_bytes()
CONVERTED = b"".join(upgrade_json(line) + b"\n" for line in RECORDS.splitlines())

COMPRESS = {
    "gz": lambda data: gzip.compress(data[: len(data) // 2]) + gzip.compress(data[len(data) // 2:]),  # 2 members
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zst": lambda data: (zstandard.ZstdCompressor().compress(data[:1000])  # 2 frames
                         + zstandard.ZstdCompressor().compress(data[1000:])),
}
DECOMPRESS = {"gz": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress,
              "zst": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data)}


def big_archive(path: Path, records: int, seed: int = 11) -> bytes:
    """A generated 1.0 archive of ``records`` events (several MB for a few thousand)."""
    stream = events(seed)
    data = "".join(next(stream) + "\n" for _ in range(records)).encode()
    path.write_bytes(data)
    return data


# --- compression ---------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_each_codec_in_and_out(cli: Cli, tmp_path: Path, suffix: str) -> None:
    packed = tmp_path / f"in.ndjson.{suffix}"
    packed.write_bytes(COMPRESS[suffix](RECORDS))
    out = tmp_path / f"out.ndjson.{suffix}"
    assert cli("convert", packed, "-o", out, "-q") == Run(0, b"", "")
    assert DECOMPRESS[suffix](out.read_bytes()) == CONVERTED
    # Detected by content, not by name.
    disguised = tmp_path / "plain-looking.ndjson"
    disguised.write_bytes(packed.read_bytes())
    assert cli("convert", disguised, "-q") == Run(0, CONVERTED, "")


@pytest.mark.parametrize("codec", ["gzip", "bzip2", "xz", "zstd", "none"])
def test_compress_option_on_stdout(cli: Cli, codec: str) -> None:
    result = cli("convert", ARCHIVE, "--compress", codec, "-q")
    assert result.code == 0
    unpack = {"gzip": gzip.decompress, "bzip2": bz2.decompress, "xz": lzma.decompress, "none": lambda data: data,
              "zstd": lambda data: zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 24)}[codec]
    assert unpack(result.out) == CONVERTED


def test_gzip_output_is_within_10_percent_of_gzip_6(cli: Cli, tmp_path: Path) -> None:
    data = big_archive(tmp_path / "big.ndjson", 4500)
    out = tmp_path / "big.v2.ndjson.gz"
    assert cli("convert", tmp_path / "big.ndjson", "-o", out, "-q", "-j", "1").code == 0
    converted = gzip.decompress(out.read_bytes())
    reference = zlib.compressobj(6, zlib.DEFLATED, 31)  # what gzip -6 makes of the same bytes
    gzip6 = len(reference.compress(converted) + reference.flush())
    assert len(out.read_bytes()) <= 1.10 * gzip6, (GZIP_LEVEL, len(out.read_bytes()), gzip6)
    assert len(data) > 4 << 20  # large enough to take the threaded path


@pytest.mark.parametrize("threads", [1, 2])
def test_threaded_gzip_is_one_standard_member(tmp_path: Path, threads: int) -> None:
    """Blocks compressed in parallel make one gzip member (zlib reads exactly one, with its CRC and size),
    which `gzip -dc` reads too; written in pieces of every size, and empty."""
    data = big_archive(tmp_path / "big.ndjson", 3000)
    pieces = [data[:10], data[10:3 << 20], data[3 << 20:(3 << 20) + 1], data[(3 << 20) + 1:]]
    for name, parts in (("full", pieces), ("empty", [])):
        target = tmp_path / f"{name}.gz"
        with target.open("wb") as raw:
            stream = compression.open_writer(raw, compression.Codec.GZIP, threads=threads)
            for part in parts:
                stream.write(memoryview(part) if len(part) == 1 else part)
            stream.close()
        packed = target.read_bytes()
        expected = b"".join(parts)
        inflater = zlib.decompressobj(31)
        assert inflater.decompress(packed) == expected and inflater.eof and not inflater.unused_data
        assert subprocess.run(["gzip", "-dc", str(target)], capture_output=True, check=True).stdout == expected
    assert len((tmp_path / "full.gz").read_bytes()) <= 1.10 * len(gzip.compress(data, 6))


@pytest.mark.parametrize(("suffix", "damage"), [
    pytest.param("gz", "truncate", id="gzip-truncated"),
    pytest.param("gz", "flip", id="gzip-corrupt"),
    pytest.param("bz2", "truncate", id="bzip2-truncated"),
    pytest.param("xz", "flip", id="xz-corrupt"),
    pytest.param("zst", "truncate", id="zstd-truncated"),
])
def test_corrupt_archive_is_a_clear_error_and_writes_nothing(cli: Cli, tmp_path: Path, suffix: str,
                                                              damage: str) -> None:
    packed = bytearray(COMPRESS[suffix](RECORDS))
    if damage == "truncate":
        del packed[len(packed) * 2 // 3:]
    else:
        packed[len(packed) // 2] ^= 0xFF
    source = tmp_path / f"broken.ndjson.{suffix}"
    source.write_bytes(bytes(packed))
    out = tmp_path / "out" / "broken.ndjson"
    out.parent.mkdir()
    result = cli("convert", source, "-o", out, "--rejects", tmp_path / "out" / "rejects.ndjson")
    assert result.code == 2
    assert result.err.startswith(f"migrate1to2: error: cannot read {source}: its ")
    assert "data is corrupt or truncated" in result.err
    assert list(out.parent.iterdir()) == []


# --- directory trees -----------------------------------------------------------------------------

def make_tree(root: Path) -> Path:
    source = root / "src"
    (source / "2023" / "01").mkdir(parents=True)
    (source / "2023" / "02").mkdir(parents=True)
    lines = RECORDS.splitlines(keepends=True)
    (source / "2023" / "01" / "part-00.ndjson").write_bytes(b"".join(lines[:100]))
    (source / "2023" / "01" / "part-01.ndjson.gz").write_bytes(gzip.compress(b"".join(lines[100:200])))
    (source / "2023" / "02" / "part-00.ndjson.zst").write_bytes(
        zstandard.ZstdCompressor().compress(b"".join(lines[200:])))
    (source / "2023" / "02" / "notes.txt").write_text("not payloads\n")
    (source / "pairs.json").write_bytes((FIXTURES / "pairs" / "web-search.v1.json").read_bytes())
    return source


def tree(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_tree_is_mirrored_with_each_files_compression(cli: Cli, tmp_path: Path) -> None:
    source, dest = make_tree(tmp_path), tmp_path / "dest"
    result = cli("convert", source, "-o", dest, "-j", "1")
    assert result.code == 0
    assert tree(dest) == ["2023/01/part-00.ndjson", "2023/01/part-01.ndjson.gz", "2023/02/part-00.ndjson.zst",
                          "pairs.json"]
    assert result.err == (f"migrate1to2: skipped {source}/2023/02/notes.txt: not a payload file (it does not start "
                          "with a JSON object or array)\n"
                          "migrate1to2: 301 records in 4 files: 301 converted, 0 unchanged (already 2.0 or the "
                          "same in both), 0 rejected\n")
    lines = CONVERTED.splitlines(keepends=True)
    assert (dest / "2023/01/part-00.ndjson").read_bytes() == b"".join(lines[:100])
    assert gzip.decompress((dest / "2023/01/part-01.ndjson.gz").read_bytes()) == b"".join(lines[100:200])
    unzstd = zstandard.ZstdDecompressor().decompressobj()
    assert unzstd.decompress((dest / "2023/02/part-00.ndjson.zst").read_bytes()) == b"".join(lines[200:])


def test_include_exclude_and_compress_rename(cli: Cli, tmp_path: Path) -> None:
    source, dest = make_tree(tmp_path), tmp_path / "dest"
    result = cli("convert", source, "-o", dest, "--include", "*.ndjson*", "--exclude", "2023/02/*",
                 "--compress", "gzip", "-q", "-j", "1")
    assert result == Run(0, b"", "")
    assert tree(dest) == ["2023/01/part-00.ndjson.gz", "2023/01/part-01.ndjson.gz"]


@pytest.mark.parametrize("pattern", ["tmp", "tmp/", "/tmp", "t?p"])
def test_exclude_a_folder_name_leaves_the_folder_out(cli: Cli, tmp_path: Path, pattern: str) -> None:
    """As in audit: a pattern without '/' matches any folder on the way, which is not entered (it used to
    match file names only, so `--exclude tmp` converted tmp/ and reported what it held)."""
    source, dest = make_tree(tmp_path), tmp_path / "dest"
    (source / "tmp").mkdir()
    (source / "tmp" / "scratch.ndjson").write_bytes(RECORDS[:500].rsplit(b"\n", 1)[0] + b"\n")
    (source / "tmp" / "loop.ndjson").symlink_to("loop.ndjson")  # would fail the run if the folder were entered
    (source / "2023" / "tmp").mkdir()
    (source / "2023" / "tmp" / "old.ndjson").write_bytes(RECORDS.splitlines(keepends=True)[0])
    result = cli("convert", source, "-o", dest, "--exclude", pattern, "--exclude", "notes.txt", "-j", "1")
    records, files = (302, 5) if pattern == "/tmp" else (301, 4)
    assert result == Run(0, b"", f"migrate1to2: {records} records in {files} files: {records} converted, 0 unchanged "
                                 "(already 2.0 or the same in both), 0 rejected\n")
    kept = ["2023/tmp/old.ndjson"] if pattern == "/tmp" else []  # a leading '/': the tmp at the top only
    assert tree(dest) == sorted(["2023/01/part-00.ndjson", "2023/01/part-01.ndjson.gz", "2023/02/part-00.ndjson.zst",
                                 "pairs.json", *kept])


def test_include_a_folder_path_takes_what_it_holds(cli: Cli, tmp_path: Path) -> None:
    """`--include 2023/02` (a folder) selects every file below it; `--include '*.zst'` the files so named."""
    source = make_tree(tmp_path)
    for include, expected in ((["2023/02", "--exclude", "*.txt"], ["2023/02/part-00.ndjson.zst"]),
                              (["*.zst"], ["2023/02/part-00.ndjson.zst"]),
                              (["2023/0[1]/"], ["2023/01/part-00.ndjson", "2023/01/part-01.ndjson.gz"])):
        dest = tmp_path / f"dest-{len(os.listdir(tmp_path))}"
        assert cli("convert", source, "-o", dest, "--include", *include, "-q", "-j", "1").code == 0
        assert tree(dest) == expected


def test_destination_inside_source_is_refused(cli: Cli, tmp_path: Path) -> None:
    source = make_tree(tmp_path)
    result = cli("convert", source, "-o", source / "converted")
    assert result == Run(2, b"", f"migrate1to2: error: the output directory {source}/converted is inside the input "
                                 f"{source}: choose a destination outside it\n")
    assert not (source / "converted").exists()


def test_links_leading_outside_are_not_followed(cli: Cli, tmp_path: Path) -> None:
    source, dest = make_tree(tmp_path), tmp_path / "dest"
    outside = tmp_path / "outside.ndjson"
    outside.write_bytes(RECORDS[:500].rsplit(b"\n", 1)[0] + b"\n")
    (source / "escape.ndjson").symlink_to(outside)
    (source / "alias.ndjson").symlink_to(source / "2023" / "01" / "part-00.ndjson")
    (source / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    result = cli("convert", source, "-o", dest, "-q", "-j", "1")
    assert result.code == 0
    assert "alias.ndjson" in tree(dest)
    assert "escape.ndjson" not in tree(dest)
    assert f"migrate1to2: skipped {source}/escape.ndjson: a link leading outside {source} is not followed\n" in result.err
    assert f"migrate1to2: skipped {source}/elsewhere: a link to a directory is not followed\n" in result.err


def test_several_files_into_a_directory(cli: Cli, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    pairs = sorted(FIXTURES.glob("pairs/*.v1.json"))
    assert cli("convert", *pairs, "-o", f"{dest}{os.sep}", "-q").code == 0
    assert tree(dest) == sorted(path.name for path in pairs)


def test_stop_in_a_tree_keeps_finished_files_and_skip_existing_resumes(cli: Cli, tmp_path: Path) -> None:
    """A run interrupted by a bad record leaves finished files complete; --skip-existing converts only the rest."""
    source, dest = make_tree(tmp_path), tmp_path / "dest"
    bad = source / "2023" / "01" / "part-02.ndjson"
    bad.write_bytes(b'{"event_name":"x","properties":{"event_name":"y"}}\n')
    result = cli("convert", source, "-o", dest, "-q", "-j", "1")
    assert result.code == 1
    assert tree(dest) == ["2023/01/part-00.ndjson", "2023/01/part-01.ndjson.gz", "pairs.json"]
    assert f"{dest}/2023/01/part-02.ndjson was not written; the 3 files finished before it are complete" in result.err
    finished = {name: (dest / name).stat().st_mtime_ns for name in tree(dest)}
    bad.write_bytes(b'{"event_name":"x","properties":{"renamed":"y"}}\n')
    time.sleep(0.01)
    again = cli("convert", source, "-o", dest, "--skip-existing", "-j", "1")
    assert again.code == 0
    assert again.err.endswith("migrate1to2: 101 records in 2 files: 101 converted, 0 unchanged (already 2.0 or the "
                              "same in both), 0 rejected; 3 files skipped, output already there\n")
    assert {name: (dest / name).stat().st_mtime_ns for name in finished} == finished
    assert tree(dest) == ["2023/01/part-00.ndjson", "2023/01/part-01.ndjson.gz", "2023/01/part-02.ndjson",
                          "2023/02/part-00.ndjson.zst", "pairs.json"]


def test_killed_run_leaves_only_complete_files(tmp_path: Path) -> None:
    """Whenever a run is killed, every file under its final name is complete; a rerun finishes the job."""
    source = tmp_path / "src"
    source.mkdir()
    for index in range(6):
        big_archive(source / f"part-{index}.ndjson", 1500, seed=index)
    dest = tmp_path / "dest"
    command = [sys.executable, "-m", "migrate1to2", "convert", str(source), "-o", str(dest), "-q", "-j", "1"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (dest.exists() and any(dest.glob("part-*"))) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    for path in dest.glob("part-*.ndjson"):
        expected = b"".join(upgrade_json(line) + b"\n" for line in (source / path.name).read_bytes().splitlines())
        assert path.read_bytes() == expected
    subprocess.run([*command, "--skip-existing"], check=True)
    for path in dest.glob("part-*.ndjson"):
        expected = b"".join(upgrade_json(line) + b"\n" for line in (source / path.name).read_bytes().splitlines())
        assert path.read_bytes() == expected
    assert len(list(dest.glob("part-*.ndjson"))) == 6
    # What a kill leaves is at most hidden temporary files, never a partial file under a final name.
    assert all(path.name.startswith(".part-") and path.name.endswith(".part") for path in dest.glob(".*"))


@pytest.mark.parametrize(("argv", "flushed"), [([], True), (["--fsync"], True), (["--no-fsync"], False)],
                         ids=["default", "fsync", "no-fsync"])
def test_outputs_are_flushed_to_disk_unless_no_fsync(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    argv: list[str], flushed: bool) -> None:
    """Each output file, the rejects file and the stats file are flushed before they are renamed into place;
    --no-fsync leaves all of them to the system. Either way the files are the same."""
    source = make_tree(tmp_path)
    first = source / "2023" / "01" / "part-00.ndjson"
    first.write_bytes(first.read_bytes() + b"{not json\n")
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # a spy: the real call still happens
        synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    dest, rejects, stats = tmp_path / "dest", tmp_path / "rejects.ndjson", tmp_path / "stats.json"
    result = cli("convert", source, "-o", dest, "-q", "-j", "1", "--rejects", rejects, "--stats", stats, *argv)
    assert result.code == 1
    outputs = ["part-00.ndjson", "part-01.ndjson.gz", "part-00.ndjson.zst", "pairs.json", "rejects.ndjson",
               "stats.json"]
    # Flushed under their temporary names (".NAME.random.part"), before the rename; and the rejects journal,
    # once: when part-00.ndjson's reject is sealed in it, before part-00.ndjson appears.
    journal = ".rejects.ndjson.migrate1to2-journal"
    assert synced.count(journal) == (1 if flushed else 0)
    synced = [name for name in synced if name != journal]
    assert sorted(name[1:].rsplit(".", 2)[0] for name in synced) == (sorted(outputs) if flushed else [])
    assert tree(dest) == ["2023/01/part-00.ndjson", "2023/01/part-01.ndjson.gz", "2023/02/part-00.ndjson.zst",
                          "pairs.json"]
    assert (dest / "2023" / "01" / "part-00.ndjson").read_bytes() == b"".join(CONVERTED.splitlines(True)[:100])
    assert rejects.read_bytes().count(b"\n") == 1


# --- in place ------------------------------------------------------------------------------------

def test_in_place_with_backup(cli: Cli, tmp_path: Path) -> None:
    source = make_tree(tmp_path)
    gz = source / "2023" / "01" / "part-01.ndjson.gz"
    original = gz.read_bytes()
    result = cli("convert", source, "--in-place", "--backup", ".v1", "-q", "-j", "1")
    assert result.code == 0
    assert gz.with_name(gz.name + ".v1").read_bytes() == original
    lines = CONVERTED.splitlines(keepends=True)
    assert gzip.decompress(gz.read_bytes()) == b"".join(lines[100:200])
    # A second run finds nothing to convert and leaves every file (and its backup) untouched.
    before = {path: path.stat().st_mtime_ns for path in source.rglob("*") if path.is_file()}
    again = cli("convert", source, "--in-place", "--backup", ".v1", "-j", "1", "--exclude", "*.v1")
    assert again.code == 0
    assert {path: path.stat().st_mtime_ns for path in source.rglob("*") if path.is_file()} == before


def test_in_place_keeps_owner_group_and_mode(cli: Cli, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user takes root")
    source = tmp_path / "a.ndjson"
    source.write_bytes(RECORDS)
    os.chown(source, 1234, 5678)
    source.chmod(0o640)
    assert cli("convert", source, "--in-place", "-q").code == 0
    assert source.read_bytes() == CONVERTED
    facts = source.stat()
    assert (facts.st_uid, facts.st_gid, facts.st_mode & 0o7777) == (1234, 5678, 0o640)


def test_in_place_refuses_to_overwrite_a_backup(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "a.ndjson"
    target.write_bytes(RECORDS)
    (tmp_path / "a.ndjson.bak").write_bytes(b"keep me")
    result = cli("convert", target, "--in-place", "--backup", ".bak", "-q")
    assert result.code == 2
    assert result.err == (f"migrate1to2: error: cannot replace {target}: its backup {target}.bak already exists "
                          "(remove it, or choose another --backup suffix)\n")
    assert target.read_bytes() == RECORDS
    assert (tmp_path / "a.ndjson.bak").read_bytes() == b"keep me"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.ndjson", "a.ndjson.bak"]


@pytest.mark.parametrize(("argv", "message"), [
    pytest.param(["--backup", ".bak"], "--backup goes with --in-place", id="backup-without-in-place"),
    pytest.param(["--in-place", "-o", "x"], "--in-place replaces each input: it cannot be used with -o", id="in-place-o"),
    pytest.param(["--in-place", "--compress", "gzip"], "--in-place keeps each file's name and compression: --compress "
                 "cannot go with it", id="in-place-compress"),
    pytest.param(["--in-place", "--no-fsync"], "--in-place replaces the only copy of each file: it always flushes it "
                 "to disk first, and --no-fsync cannot go with it", id="in-place-no-fsync"),
    pytest.param(["-j", "0"], "--jobs takes a number of workers, 1 or more", id="jobs-0"),
    pytest.param(["--max-record-bytes", "lots"], "--max-record-bytes takes a size such as 65536, 512K or 16M, not "
                 "'lots'", id="max-record-bytes"),
    pytest.param(["--payload-path", "body"], "--payload-path: a JSON Pointer starts with '/' (got 'body'), e.g. /body",
                 id="pointer"),
])
def test_option_errors(cli: Cli, argv: list[str], message: str) -> None:
    assert cli("convert", ARCHIVE, *argv) == Run(2, b"", f"migrate1to2: error: {message}\n")


# --- parallel jobs -------------------------------------------------------------------------------

@pytest.fixture(params=["threads", "processes"])
def pool_always(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Use a pool for inputs of any size (by default only jobs over 8 MB do): of threads (used where
    the C accelerator is compiled) and of processes (used where it is not)."""
    monkeypatch.setattr(run, "POOL_BYTES", 0)
    monkeypatch.setattr(pool, "THREADS", request.param == "threads")


@pytest.fixture
def processes_always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "POOL_BYTES", 0)
    monkeypatch.setattr(pool, "THREADS", False)


@pytest.mark.parametrize("giant", [False, True], ids=["region", "region-with-a-giant-line"])
def test_a_region_that_cannot_be_read_is_an_input_error(tmp_path: Path, giant: bool) -> None:
    """A file gone (or unreadable) when a worker, or the main thread, reads a region of it: an error naming
    the file, whichever thread or process reads it."""
    settings = Settings(Version.V2, max_record_bytes=10 if giant else 1 << 20)
    with pytest.raises(InputError, match=r"^cannot read gone\.ndjson: no such file or directory$"):
        pool.convert_region(pool.Region(str(tmp_path / "gone.ndjson"), 0, 100, "gone.ndjson"), settings)


def test_threads_are_used_where_the_converter_is_compiled() -> None:
    assert pool.THREADS is rawjson.COMPILED


def test_jobs_threads_are_the_main_thread_and_jobs_less_one_workers(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``-j 3`` converts in three threads, the main one among them: each unit once, in any of them."""
    monkeypatch.setattr(run, "POOL_BYTES", 0)
    monkeypatch.setattr(pool, "THREADS", True)
    seen: dict[str, int] = {}
    real = pool.convert_region

    def convert_region(region: pool.Region, settings: Settings) -> pool.Converted:
        name = threading.current_thread().name
        seen[name] = seen.get(name, 0) + 1
        time.sleep(0.002)  # long enough for the main thread to find units no worker has taken
        return real(region, settings)

    monkeypatch.setattr(pool, "convert_region", convert_region)
    source = tmp_path / "big.ndjson"
    data = big_archive(source, 4000)
    monkeypatch.setattr(read, "CHUNK_BYTES", 1 << 16)
    monkeypatch.setattr(run, "CHUNK_BYTES", 1 << 16)
    out = tmp_path / "out.ndjson"
    assert main(["convert", str(source), "-o", str(out), "-q", "-j", "3"]) == 0
    assert out.read_bytes() == b"".join(upgrade_json(line) + b"\n" for line in data.splitlines())
    assert set(seen) == {"MainThread", "migrate1to2-0", "migrate1to2-1"}
    assert sum(seen.values()) == len(list(pool.regions(str(source), 0, len(data), 1 << 16)))
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("migrate1to2-")]


def test_a_unit_runs_once_and_its_error_reaches_the_main_thread() -> None:
    threads = pool._Threads(2)
    try:
        calls: list[int] = []
        lock = threading.Lock()

        def work(index: int) -> pool.Converted:
            with lock:
                calls.append(index)
            if index == 7:
                raise InputError("cannot read x.ndjson: it broke")
            time.sleep(0.0005)
            return pool.Converted(output=b"%d" % index)

        units = [threads.submit(work, index) for index in range(20)]
        outputs = [threads.wait(unit).output for unit in units[:7]]
        assert outputs == [b"%d" % index for index in range(7)]
        with pytest.raises(InputError, match="it broke"):
            threads.wait(units[7])
        assert [threads.wait(unit).output for unit in units[8:]] == [b"%d" % index for index in range(8, 20)]
        assert sorted(calls) == list(range(20))
    finally:
        threads.shutdown()


def test_a_result_is_not_kept_once_given_back() -> None:
    """Whoever converted them, the pool keeps no result (a megabyte each) after giving it back."""
    threads = pool._Threads(2)
    try:
        kept: list[weakref.ref[pool.Converted]] = []

        def work(index: int) -> pool.Converted:
            result = pool.Converted(output=b"%d" % index)
            kept.append(weakref.ref(result))
            if index % 3:
                time.sleep(0.0005)
            return result

        for _ in range(3):
            units = [threads.submit(work, index) for index in range(30)]
            time.sleep(0.01)
            assert [threads.wait(unit).output for unit in units] == [b"%d" % index for index in range(30)]
            del units
        assert len(kept) == 90 and [ref for ref in kept if ref() is not None] == []
    finally:
        threads.shutdown()


def test_ctrl_c_in_a_unit_the_main_thread_runs_goes_on_at_once() -> None:
    threads = pool._Threads(1)  # no worker: the main thread runs every unit
    try:
        def interrupted() -> pool.Converted:
            raise KeyboardInterrupt

        first = threads.submit(interrupted)
        later = threads.submit(pool.Converted)
        with pytest.raises(KeyboardInterrupt):  # raised while waiting for the unit after it
            threads.wait(later)
        assert first.done() and not later.done()
        with pytest.raises(KeyboardInterrupt):  # and given again to whoever waits for it
            threads.wait(first)
    finally:
        threads.shutdown()


@pytest.mark.parametrize("packed", [False, True], ids=["plain-file-regions", "gzip-spooled-chunks"])
def test_jobs_give_byte_identical_output_on_a_large_file(tmp_path: Path, pool_always: None, packed: bool) -> None:
    source = tmp_path / "big.ndjson"
    data = big_archive(source, 4000)
    lines = data.split(b"\n")
    lines[1234] = b'{"event_name":"x","properties":{"context":1}}'  # a reject in the middle
    lines[3210] = b'{"event_name":"x",'
    source.write_bytes(b"\n".join(lines))
    if packed:
        source.write_bytes(gzip.compress(source.read_bytes()))
    outputs = {}
    for jobs in ("1", "2", "3"):
        out, rejects = tmp_path / f"out-{jobs}.ndjson.gz", tmp_path / f"rejects-{jobs}.ndjson"
        assert main(["convert", str(source), "-o", str(out), "--rejects", str(rejects), "-q", "-j", jobs]) == 1
        outputs[jobs] = (gzip.decompress(out.read_bytes()), rejects.read_bytes())
    assert outputs["1"] == outputs["2"] == outputs["3"]
    assert [json.loads(line)["line"] for line in outputs["1"][1].splitlines()] == [1235, 3211]
    assert len(data) > 3 * (1 << 20)  # several chunks


def test_jobs_stop_at_the_same_record(cli: Cli, tmp_path: Path, pool_always: None) -> None:
    source = tmp_path / "big.ndjson"
    lines = big_archive(source, 3000).split(b"\n")
    lines[2500] = b'{"event_name":"x","properties":{"event_name":"y"}}'
    source.write_bytes(b"\n".join(lines))
    runs = {jobs: cli("convert", source, "-j", jobs) for jobs in ("1", "2")}
    assert runs["1"] == runs["2"]
    assert runs["1"].code == 1
    assert runs["1"].err.startswith(f"{source}:2501: `event_name` inside `properties`")
    assert runs["1"].out.count(b"\n") == 2500


def test_spool_directory_is_removed(tmp_path: Path, processes_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[str] = []
    real = pool.spool_directory

    def spool_directory() -> str:
        created.append(real())
        return created[-1]

    monkeypatch.setattr(pool, "spool_directory", spool_directory)
    source = tmp_path / "a.ndjson"
    big_archive(source, 1500)
    source.write_bytes(gzip.compress(source.read_bytes()))  # spooled chunks both ways
    assert main(["convert", str(source), "-o", str(tmp_path / "b.ndjson"), "-q", "-j", "2"]) == 0
    assert len(created) == 1
    assert not Path(created[0]).exists()


def test_jobs_give_identical_trees(tmp_path: Path, pool_always: None) -> None:
    source = make_tree(tmp_path)
    for index in range(3):
        big_archive(source / f"extra-{index}.ndjson", 600, seed=index)
    results = {}
    for jobs in ("1", "2"):
        dest = tmp_path / f"dest-{jobs}"
        assert main(["convert", str(source), "-o", str(dest), "-q", "-j", jobs]) == 0
        results[jobs] = {name: (dest / name).read_bytes() for name in tree(dest)}
    assert results["1"] == results["2"]


# --- envelopes, limits, stats, progress ----------------------------------------------------------

def test_payload_path_on_object_and_string_payloads(cli: Cli) -> None:
    stdin = (b'{"received":"2023-05-01T10:00:00Z","body":{"event_name":"buy","properties":{"price":16.00}},"ip":"1"}\n'
             b'{"received":"2023-05-01T10:00:01Z","body":"{\\"event_name\\":\\"buy\\",\\"event_id\\":\\"7\\"}"}\n'
             b'{"received":"2023-05-01T10:00:02Z","body":{"event_name":"seen","context":{}}}\n')
    result = cli("convert", "--payload-path", "/body", stdin=stdin)
    assert result.out == (
        b'{"received":"2023-05-01T10:00:00Z","body":{"event_name":"buy","price":16.00,"context":{}},"ip":"1"}\n'
        b'{"received":"2023-05-01T10:00:01Z","body":"{\\"event_name\\":\\"buy\\",\\"context\\":{\\"event_id\\":\\"7\\"}}"}\n'
        b'{"received":"2023-05-01T10:00:02Z","body":{"event_name":"seen","context":{}}}\n')
    assert result.err == summary(3, 2, 1, 0)


def test_payload_path_errors_name_the_full_path(cli: Cli, tmp_path: Path) -> None:
    rejects = tmp_path / "r.ndjson"
    stdin = (b'{"body":{"properties":{"event_name":"x"}}}\n{"other":{}}\n{"body":"null json"}\n')
    result = cli("convert", "--payload-path", "/body", "--rejects", rejects, "-q", stdin=stdin)
    assert result.code == 1
    assert [(entry["path"], entry["reason"]) for entry in map(json.loads, rejects.read_text().splitlines())] == [
        ("$.body.properties.event_name", "`event_name` inside `properties` would become or overwrite the root "
                                         "`event_name` in 2.0; rename or remove it before converting"),
        ("$.body", "no payload here: the object at $ has no member `body` (check --payload-path)"),
        ("$.body", "the payload is a string that is not valid JSON: trailing characters (line 1, column 6 of the "
                   "string)"),
    ]


def test_max_record_bytes_rejects_giants_without_loading_them(cli: Cli, tmp_path: Path) -> None:
    giant = b'{"event_name":"x","properties":{"blob":"' + b"a" * 300_000 + b'"}}'
    stdin = RECORDS.splitlines(keepends=True)[0] + giant + b"\n" + RECORDS.splitlines(keepends=True)[1]
    rejects = tmp_path / "r.ndjson"
    result = cli("convert", "--max-record-bytes", "64K", "--rejects", rejects, stdin=stdin)
    assert result.code == 1
    assert result.out == b"".join(CONVERTED.splitlines(keepends=True)[:2])
    [entry] = map(json.loads, rejects.read_text().splitlines())
    assert entry["line"] == 2
    assert entry["record_truncated"] is True
    assert entry["record"] == giant[:1024].decode()
    assert entry["reason"] == ("record of 300043 bytes is larger than --max-record-bytes (65536); only its first 1024 "
                               "bytes are kept here")


@pytest.mark.parametrize("limit", ["100", "1M"])
def test_an_object_document_over_the_limit_is_never_read_whole(cli: Cli, limit: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A multi-line object larger than --max-record-bytes is rejected after reading at most a block at a
    time, also when the limit is smaller than the head read to tell the shape."""
    document = b'{\n "event_name": "x",\n "properties": {"blob": "' + b"a" * (3 << 20) + b'"}\n}\n'
    reads: list[int] = []
    real_read = read._read

    def spy(stream: BinaryIO, size: int, source: str) -> bytes:  # the real read still happens
        reads.append(size)
        return real_read(stream, size, source)

    monkeypatch.setattr(read, "_read", spy)
    result = cli("convert", "--max-record-bytes", limit, "-j", "1", stdin=document)
    assert result.code == 1
    assert f"record of {len(document)} bytes is larger than --max-record-bytes" in result.err
    assert reads and all(0 < size <= (1 << 20) + 1 for size in reads)  # a block, or the limit and one byte


def test_stats_file(cli: Cli, tmp_path: Path) -> None:
    source, dest, stats = make_tree(tmp_path), tmp_path / "dest", tmp_path / "stats.json"
    assert cli("convert", source, "-o", dest, "--stats", stats, "-q", "-j", "1").code == 0
    report = json.loads(stats.read_text())
    files = {Path(entry["input"]).name: entry for entry in report["files"]}
    assert files["part-01.ndjson.gz"]["records"] == 100
    assert files["part-01.ndjson.gz"]["converted"] == 100
    assert files["part-01.ndjson.gz"]["bytes_in"] == (source / "2023/01/part-01.ndjson.gz").stat().st_size
    assert files["part-01.ndjson.gz"]["bytes_out"] == (dest / "2023/01/part-01.ndjson.gz").stat().st_size
    assert files["notes.txt"]["status"] == "skipped: not a payload file"
    assert all(entry["seconds"] >= 0 for entry in report["files"])
    assert report["total"]["records"] == 301
    assert report["total"]["files"] == 5
    assert report["skipped"] == [{"path": f"{source}/2023/02/notes.txt",
                                  "reason": "not a payload file (it does not start with a JSON object or array)"}]


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    source = tmp_path / "big.ndjson"
    big_archive(source, 3000)
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "migrate1to2", "convert", str(source), "-o",
                               str(tmp_path / "out.ndjson"), "-j", "1"], stderr=secondary, timeout=120, check=False)
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(primary)
    assert done.returncode == 0
    assert b"records/s" in seen
    assert b"ETA" in seen
    assert seen.rstrip().endswith(b"0 rejected")


# --- what a careful review found -----------------------------------------------------------------

STREAMS = {
    "xz": lzma.compress,
    "bz2": bz2.compress,
    "zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("suffix", sorted(STREAMS))
@pytest.mark.parametrize("damage", ["later-stream", "trailing-garbage"])
def test_concatenated_streams_are_read_strictly(cli: Cli, tmp_path: Path, suffix: str, damage: str) -> None:
    """After a first stream, anything but a valid stream is an error: never a shorter archive."""
    lines = RECORDS.splitlines(keepends=True)
    first, second = STREAMS[suffix](b"".join(lines[:2])), bytearray(STREAMS[suffix](b"".join(lines[2:])))
    if damage == "later-stream":
        second[4] ^= 0xFF
    else:
        second = bytearray(b"garbage!")
    source = tmp_path / f"in.ndjson.{suffix}"
    source.write_bytes(first + bytes(second))
    result = cli("convert", source, "-o", tmp_path / "out.ndjson")
    assert result.code == 2
    assert "data is corrupt or truncated" in result.err
    assert not (tmp_path / "out.ndjson").exists()


def test_xz_stream_padding_is_accepted(cli: Cli, tmp_path: Path) -> None:
    lines = RECORDS.splitlines(keepends=True)
    source = tmp_path / "in.ndjson.xz"
    source.write_bytes(lzma.compress(b"".join(lines[:2])) + b"\0" * 8 + lzma.compress(b"".join(lines[2:])))
    assert cli("convert", source, "-q") == Run(0, CONVERTED, "")


def test_rejects_of_finished_files_survive_a_failed_run_and_the_rerun(cli: Cli, tmp_path: Path) -> None:
    source, dest, rejects = tmp_path / "src", tmp_path / "dest", tmp_path / "rejects.ndjson"
    source.mkdir()
    bad = b'{"event_name":"x","properties":{"event_name":"y"}}\n'
    (source / "a.ndjson").write_bytes(RECORDS.splitlines(keepends=True)[0] + bad)
    (source / "b.ndjson.gz").write_bytes(gzip.compress(RECORDS)[:-20])  # truncated
    failed = cli("convert", source, "-o", dest, "--rejects", rejects, "-q", "-j", "1")
    assert failed.code == 2
    assert tree(dest) == ["a.ndjson"]
    assert [json.loads(line)["record"] for line in rejects.read_text().splitlines()] == [bad.decode().strip()]
    (source / "b.ndjson.gz").write_bytes(gzip.compress(RECORDS))
    again = cli("convert", source, "-o", dest, "--rejects", rejects, "--skip-existing", "-q", "-j", "1")
    assert again.code == 0
    assert [json.loads(line)["source"] for line in rejects.read_text().splitlines()] == [f"{source}/a.ndjson"]


def test_in_place_rerun_keeps_earlier_rejects(cli: Cli, tmp_path: Path) -> None:
    target, rejects = tmp_path / "a.ndjson", tmp_path / "rejects.ndjson"
    bad = b'{"event_name":"x","properties":{"context":1}}\n'
    target.write_bytes(RECORDS.splitlines(keepends=True)[0] + bad)
    assert cli("convert", target, "--in-place", "--rejects", rejects, "-q").code == 1
    assert cli("convert", target, "--in-place", "--rejects", rejects, "-q").code == 0
    assert len(rejects.read_text().splitlines()) == 1


@pytest.mark.parametrize(("argv", "message"), [
    pytest.param(["{a}", "-o", "{out}", "--rejects", "{out}"], "--rejects {out} is also the output: write it "
                 "somewhere else", id="rejects-is-output"),
    pytest.param(["{a}", "-o", "{out}", "--rejects", "{a}"], "--rejects {a} is also an input: write it somewhere else",
                 id="rejects-is-input"),
    pytest.param(["{a}", "-o", "{out}", "--stats", "{out}"], "--stats {out} is also the output: write it somewhere "
                 "else", id="stats-is-output"),
    pytest.param(["{a}", "-o", "{out}", "--rejects", "{r}", "--stats", "{r}"], "--stats and --rejects name the same "
                 "file: give each its own", id="stats-is-rejects"),
    pytest.param(["-", "-"], "stdin ('-') can be read only once", id="stdin-twice"),
    pytest.param(["{a}", "--in-place", "--skip-existing"], "--skip-existing skips inputs whose output exists: with "
                 "--in-place every output exists; rerunning --in-place is safe on its own (files with nothing to "
                 "convert are left alone)", id="in-place-skip-existing"),
    pytest.param(["{a}", "{a2}", "--pretty"], "--pretty goes with a single input: several inputs are joined into one "
                 "NDJSON output", id="pretty-joined"),
])
def test_side_outputs_and_combinations_refused(cli: Cli, tmp_path: Path, argv: list[str], message: str) -> None:
    names = {"a": tmp_path / "a.ndjson", "a2": tmp_path / "a2.ndjson", "out": tmp_path / "out.ndjson",
             "r": tmp_path / "r.ndjson"}
    names["a"].write_bytes(RECORDS)
    names["a2"].write_bytes(RECORDS)
    before = sorted(tmp_path.iterdir())
    result = cli("convert", *[arg.format(**names) for arg in argv])
    assert result == Run(2, b"", f"migrate1to2: error: {message.format(**names)}\n")
    assert sorted(tmp_path.iterdir()) == before
    assert names["a"].read_bytes() == RECORDS


def test_rejects_file_inside_the_source_tree_is_not_an_input(cli: Cli, tmp_path: Path) -> None:
    source = make_tree(tmp_path)
    rejects = source / "rejects.ndjson"
    assert cli("convert", source, "-o", tmp_path / "dest", "--rejects", rejects, "-q", "-j", "1").code == 0
    result = cli("convert", source, "-o", tmp_path / "dest", "--rejects", rejects, "-j", "1")  # it is there now
    assert result.code == 0
    assert f"migrate1to2: skipped {rejects}: this run's --rejects file\n" in result.err
    assert "rejects.ndjson" not in tree(tmp_path / "dest")


def test_unreadable_directory_is_reported(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_tree(tmp_path)
    locked = source / "2023" / "02"
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = cli("convert", source, "-o", tmp_path / "dest", "-q", "-j", "1")
    assert result.code == 2  # its files were not converted: the run failed
    assert f"migrate1to2: error: {locked}: cannot be read: permission denied\n" in result.err


def test_file_names_that_are_not_utf8(cli: Cli, tmp_path: Path) -> None:
    name = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.ndjson")
    Path(name).write_bytes(b'{"event_name":"x","properties":{"event_name":"y"}}\n')
    rejects, stats = tmp_path / "r.ndjson", tmp_path / "stats.json"
    result = cli("convert", name, "-o", tmp_path / "out.ndjson", "--rejects", rejects, "--stats", stats)
    assert result.code == 1
    [entry] = map(json.loads, rejects.read_text().splitlines())
    assert entry["source"] == f"{tmp_path}/caf\\xe9.ndjson"
    assert json.loads(stats.read_text())["files"][0]["input"] == f"{tmp_path}/caf\\xe9.ndjson"


def test_one_line_envelope_keeps_its_bytes(cli: Cli) -> None:
    record = b'{"ts": 1, "meta": {"a": [1, 2]}, "body": {"event_name":"x","properties":{"p":16.00}}}'
    result = cli("convert", "--payload-path", "/body", "-q", stdin=record + b"\n")
    assert result.out == b'{"ts": 1, "meta": {"a": [1, 2]}, "body": {"event_name":"x","p":16.00,"context":{}}}\n'


def test_stdout_errors_are_reported(tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "migrate1to2", "convert", str(ARCHIVE)], stdout=full,
                              stderr=subprocess.PIPE, check=False)
    assert (done.returncode, done.stderr) == (2, b"migrate1to2: error: cannot write to stdout: no space left on "
                                                 b"device\n")
    source = tmp_path / "big.ndjson"
    big_archive(source, 3000)
    reader = subprocess.Popen([sys.executable, "-m", "migrate1to2", "convert", str(source), "-j", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None
    reader.stdout.read(100)
    reader.stdout.close()
    assert reader.wait(60) == 2
    assert reader.stderr is not None
    assert reader.stderr.read() == b"migrate1to2: error: stdout was closed before everything was written\n"


def test_interrupt_with_workers_is_quiet(tmp_path: Path) -> None:
    source = tmp_path / "big.ndjson"
    big_archive(source, 12000)
    process = subprocess.Popen([sys.executable, "-m", "migrate1to2", "convert", str(source), "-o",
                                str(tmp_path / "out.ndjson"), "-j", "2"], stderr=subprocess.PIPE,
                               start_new_session=True)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)
    assert process.stderr is not None
    err = process.stderr.read()
    code = process.wait(60)
    assert b"Traceback" not in err
    if code == 130:
        assert not (tmp_path / "out.ndjson").exists()
        assert err.endswith(b"(rerun with --skip-existing to resume)\n")
    else:
        assert code == 0  # it finished before the signal
