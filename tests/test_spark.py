"""PySpark, files mode and DataFrame mode, against the command line run as a real subprocess.

One module-scoped local session (``local[2,2]``: two cores, a failed task is tried once more) is
shared by every test here. pyspark is in the test extra: under CI (``CI`` set) a missing pyspark
fails the module instead of skipping it.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard
from pyspark.sql import SparkSession  # in the test extra: these tests always run

from migrate1to2 import upgrade_json
from migrate1to2.spark import CRASH_HOOK, convert_column, convert_files, read_lines
from migrate1to2.spark.files import main
from tests.conftest import FIXTURES
from tests.test_objects_s3 import Store, s3  # noqa: F401 - the S3 server (moto) of the object-store tests

V1 = b'{"event_name":"purchase","properties":{"revenue":12.50,"currency":"EUR","items":[{"id":"a\\u00e9"}]}}'
V2 = b'{"event_name":"page_view","context":{"page":"/"}}'


@pytest.fixture(scope="module")
def spark(s3: Store) -> Iterator[SparkSession]:  # noqa: F811 - the fixture imported above
    """The module's session; its workers see the S3 test server (their environment is the driver's at start)."""
    saved = dict(os.environ)
    os.environ.update({name: value for name, value in s3.env.items() if name.startswith("AWS_")})
    os.environ.pop("AWS_PROFILE", None)
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers run this venv's Python
    session = (SparkSession.builder.master("local[2,2]").appName("migrate1to2-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.memory", "512m")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.python.worker.reuse", "true")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    os.environ.clear()
    os.environ.update(saved)


def make_tree(root: Path) -> Path:
    """A mixed archive: gzip, zstd, bzip2, plain; a BOM, CRLF, a bare CR inside a record, invalid UTF-8,
    blank lines, the bad-records fixture, a nested folder and a file that is not payloads."""
    src = root / "src"
    (src / "2023" / "01").mkdir(parents=True)
    (src / "2024").mkdir()
    many = b"".join(V1.replace(b"12.50", str(n).encode()) + b"\n" if n % 3 else V2 + b"\n" for n in range(400))
    (src / "2023" / "01" / "a.ndjson.gz").write_bytes(gzip.compress(many))
    (src / "2023" / "01" / "b.ndjson.zst").write_bytes(zstandard.ZstdCompressor().compress(V1 + b"\n" + V2 + b"\n"))
    (src / "2023" / "c.ndjson.bz2").write_bytes(bz2.compress(V1 + b"\n\n" + V1 + b"\n"))
    (src / "2024" / "bom.ndjson").write_bytes(b"\xef\xbb\xbf" + V1 + b"\n" + V2 + b"\n")
    (src / "2024" / "crlf.ndjson").write_bytes(V1 + b"\r\n" + V2 + b"\r\n\r\n" + V1 + b"\r\n")
    (src / "2024" / "cr-inside.ndjson").write_bytes(b'{"event_name":"a",\r"properties":{"x":1}}\n' + V2 + b"\n")
    (src / "2024" / "utf8.ndjson").write_bytes(V1 + b'\n{"event_name":"caf\xe9","properties":{}}\n' + V2 + b"\n")
    (src / "2024" / "misnamed-gzip.ndjson").write_bytes(gzip.compress(V1 + b"\n"))
    shutil.copy(FIXTURES / "invalid" / "bad-records.v1.ndjson", src / "bad-records.v1.ndjson")
    shutil.copy(FIXTURES / "archive" / "events-2023.v1.ndjson.gz", src / "2023" / "events.ndjson.gz")
    (src / "README.txt").write_text("not payloads\n")
    return src


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "migrate1to2", *map(str, args)], capture_output=True, check=False)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("spark"))


@pytest.fixture(scope="module")
def cli_run(tree: Path) -> Path:
    out = tree.parent / "cli"
    done = run_cli("convert", tree, "-o", out, "--rejects", tree.parent / "cli-rejects.ndjson",
                   "--stats", tree.parent / "cli-stats.json", "--quiet")
    assert done.returncode == 1, done.stderr  # some records are rejected
    return out


def without_times(stats: dict[str, object], out: Path) -> dict[str, object]:
    """The report without its times, outputs named relative to ``out``."""
    files = [{**file, "seconds": 0, "output": file["output"] and os.path.relpath(file["output"], out)}
             for file in stats["files"]]  # type: ignore[attr-defined]
    return {**stats, "files": files, "total": {**stats["total"], "seconds": 0}}  # type: ignore[dict-item]


# --- files mode -----------------------------------------------------------------------------------


def test_files_mode_is_byte_identical_to_the_command_line(spark: SparkSession, tree: Path, cli_run: Path) -> None:
    out, rejects, stats = tree.parent / "spark", tree.parent / "spark-rejects.ndjson", tree.parent / "spark-stats.json"
    warnings: list[str] = []
    result = convert_files(spark, str(tree), str(out), rejects=str(rejects), stats=str(stats), files_per_job=3,
                           warn=warnings.append)
    assert tree_bytes(out) == tree_bytes(cli_run)
    assert rejects.read_bytes() == (tree.parent / "cli-rejects.ndjson").read_bytes()
    assert rejects.read_bytes().count(b"\n") >= 6
    spark_stats = json.loads(stats.read_bytes())
    cli_stats = json.loads((tree.parent / "cli-stats.json").read_bytes())
    assert without_times(spark_stats, out) == without_times(cli_stats, cli_run)
    total = spark_stats["total"]
    assert total["records"] == total["converted"] + total["unchanged"] + total["rejected"] > 400
    assert result.counts.records == total["records"]
    assert not result.failed
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    assert not list(tree.parent.glob("*journal*"))


def test_a_rerun_converts_no_file_and_keeps_the_rejects(spark: SparkSession, tree: Path, cli_run: Path,
                                                        tmp_path: Path) -> None:
    out, rejects = tree.parent / "rerun", tree.parent / "rerun-rejects.ndjson"
    convert_files(spark, str(tree), str(out), rejects=str(rejects), warn=lambda _: None)
    before = tree_bytes(out), rejects.read_bytes()
    mtimes = {path: path.stat().st_mtime_ns for path in out.rglob("*")}
    again = convert_files(spark, str(tree), str(out), rejects=str(rejects), warn=lambda _: None)
    # README.txt has no output: it is looked at again (as the command line's --skip-existing does)
    assert {file.status.value for file in again.files} == {"skipped: output exists", "skipped: not a payload file"}
    assert sum(file.status.value == "skipped: output exists" for file in again.files) == 10
    assert again.counts.records == 0
    assert (tree_bytes(out), rejects.read_bytes()) == before
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*")} == mtimes
    # a removed output is converted again, and its rejects are not counted twice
    (out / "bad-records.v1.ndjson").unlink()
    third = convert_files(spark, str(tree), str(out), rejects=str(rejects), stats=str(tmp_path / "spark-stats.json"),
                          warn=lambda _: None)
    assert [file.input for file in third.files if file.status.value == "converted"] == [str(tree / "bad-records.v1.ndjson")]
    assert tree_bytes(out) == tree_bytes(cli_run)
    # the rejects as the command line's resume (--skip-existing) leaves them: each once, the resumed file's last
    shutil.copytree(cli_run, tmp_path / "cli")
    shutil.copy(tree.parent / "cli-rejects.ndjson", tmp_path / "cli-rejects.ndjson")
    (tmp_path / "cli" / "bad-records.v1.ndjson").unlink()
    done = run_cli("convert", tree, "-o", tmp_path / "cli", "--rejects", tmp_path / "cli-rejects.ndjson",
                   "--skip-existing", "--stats", tmp_path / "cli-stats.json", "--quiet")
    assert done.returncode == 1, done.stderr
    assert rejects.read_bytes() == (tmp_path / "cli-rejects.ndjson").read_bytes()
    assert without_times(json.loads((tmp_path / "spark-stats.json").read_bytes()), out) == without_times(
        json.loads((tmp_path / "cli-stats.json").read_bytes()), tmp_path / "cli")


def test_a_task_that_dies_once_is_retried_without_duplicates_or_leftovers(
        spark: SparkSession, tree: Path, cli_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv(CRASH_HOOK, str(markers))
    out, rejects, stats = tmp_path / "out", tmp_path / "rejects.ndjson", tmp_path / "stats.json"
    notes: list[str] = []
    convert_files(spark, str(tree), str(out), rejects=str(rejects), stats=str(stats), warn=notes.append)
    assert len(list(markers.iterdir())) == 10  # every task's first attempt died after writing its output
    assert tree_bytes(out) == tree_bytes(cli_run)
    assert rejects.read_bytes() == (tree.parent / "cli-rejects.ndjson").read_bytes()
    assert json.loads(stats.read_bytes())["total"]["records"] == json.loads(
        (tree.parent / "cli-stats.json").read_bytes())["total"]["records"]
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]
    assert sum("did not count" in note for note in notes) == 10


def test_without_rejects_a_file_stops_at_its_first_reject(spark: SparkSession, tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = convert_files(spark, [str(tree / "bad-records.v1.ndjson"), str(tree / "2024")], str(out),
                           warn=lambda _: None)
    assert result.stopped_at is not None and result.stopped_at.line == 2
    assert not (out / "bad-records.v1.ndjson").exists()
    assert (out / "bom.ndjson").exists()  # a tree given by name is mirrored into DEST, as the command line does


def test_the_spark_submit_entry(spark: SparkSession, tree: Path, cli_run: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """``main`` is what ``spark-submit .../migrate1to2/spark/__main__.py`` runs (here on the module's session,
    which it leaves running)."""
    out = tmp_path / "out"
    code = main([str(tree), str(out), "--rejects", str(tmp_path / "r.ndjson"), "--stats", str(tmp_path / "s.json")])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert captured.out == ""
    assert "rejected (see" in captured.err and "skipped" in captured.err
    assert tree_bytes(out) == tree_bytes(cli_run)
    assert spark.range(1).count() == 1  # still running
    assert main([str(tree / "nowhere"), str(out)]) == 2
    assert "error:" in capsys.readouterr().err


def test_files_mode_into_and_out_of_s3(spark: SparkSession, s3: Store, tree: Path,  # noqa: F811
                                       cli_run: Path) -> None:
    bucket = s3.bucket()
    result = convert_files(spark, str(tree), f"s3://{bucket}/v2", rejects=f"s3://{bucket}/rejects.ndjson",
                           stats=f"s3://{bucket}/stats.json", warn=lambda _: None)
    assert not result.failed, result.failed
    expected = tree_bytes(cli_run)
    assert {key.removeprefix("v2/"): s3.get(bucket, key) for key in s3.keys(bucket) if key.startswith("v2/")} == expected
    assert s3.get(bucket, "rejects.ndjson") == (tree.parent / "cli-rejects.ndjson").read_bytes()
    assert json.loads(s3.get(bucket, "stats.json"))["total"]["records"] == result.counts.records
    assert s3.uploads(bucket) == []
    # and back out of the store, from the objects just written (an object tree in, a local tree out)
    again = convert_files(spark, f"s3://{bucket}/v2/", str(tree.parent / "from-s3"), warn=lambda _: None)
    assert not again.failed and again.counts.converted == 0
    assert tree_bytes(tree.parent / "from-s3") == expected
    rerun = convert_files(spark, str(tree), f"s3://{bucket}/v2", rejects=f"s3://{bucket}/rejects.ndjson",
                          warn=lambda _: None)
    assert rerun.counts.records == 0


def test_a_speculative_copy_that_finishes_too_leaves_one_output_and_no_temporary(
        tree: Path, cli_run: Path, tmp_path: Path) -> None:
    """Two attempts of one task both finish (Spark keeps one result): the other's file is removed."""
    from migrate1to2.convert.job import JobResult
    from migrate1to2.convert.records import Settings
    from migrate1to2.spark.files import _put_in_place, _remove_temporaries, convert_task
    from migrate1to2.storage.plan import make_plan
    from migrate1to2.version import Version

    plan = make_plan([str(tree)], f"{tmp_path / 'out'}/")
    task = next(task for task in plan.tasks if task.input.endswith("a.ndjson.gz"))
    settings = Settings(Version.V2, stop_at_reject=False)
    first, second = convert_task(task, settings), convert_task(task, settings)
    assert first.temporary != second.temporary
    assert Path(str(first.temporary)).read_bytes() == Path(str(second.temporary)).read_bytes()
    result = JobResult()
    _put_in_place(second, result, None, print)
    notes: list[str] = []
    _remove_temporaries(plan, notes.append)
    assert len(notes) == 1 and str(first.temporary) in notes[0]
    assert tree_bytes(tmp_path / "out") == {"2023/01/a.ndjson.gz": tree_bytes(cli_run)["2023/01/a.ndjson.gz"]}
    assert result.counts.records == 400


# --- DataFrame mode -------------------------------------------------------------------------------


def test_read_lines_and_convert_column_match_the_command_line(spark: SparkSession, tree: Path, cli_run: Path) -> None:
    lines = read_lines(spark, str(tree))
    done = convert_column(lines, "value", "2.0").collect()
    outputs = collections.Counter(bytes(row.value_v2) for row in done if row.status != "rejected")
    expected = collections.Counter(line for data in tree_bytes(cli_run).values()
                                   for line in _decompressed(data).splitlines())
    assert outputs == expected
    cli_rejects = [json.loads(line) for line in (tree.parent / "cli-rejects.ndjson").read_bytes().splitlines()]
    rejected = sorted((row.source, row.line, bytes(row.value), row.reason) for row in done if row.status == "rejected")
    assert [(source, line, value) for source, line, value, _ in rejected] == sorted(
        (r["source"], r["line"], _record(r)) for r in cli_rejects)
    for (_, _, _, reason), cli in zip(rejected, sorted(cli_rejects, key=lambda r: (r["source"], r["line"])),
                                      strict=True):
        assert reason.startswith(cli["reason"])
    stats = json.loads((tree.parent / "cli-stats.json").read_bytes())["total"]
    counts = collections.Counter(row.status for row in done)
    assert len(done) == stats["records"] == counts["converted"] + counts["unchanged"] + counts["rejected"]
    assert (counts["converted"], counts["unchanged"], counts["rejected"]) == (
        stats["converted"], stats["unchanged"], stats["rejected"])


def test_convert_column_on_a_string_column_keeps_nulls(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, V1.decode()), (2, None), (3, V2.decode()), (4, '{"event_name":1,}')],
                               "id long, payload string")
    rows = {row.id: row for row in convert_column(df, "payload", "2.0").collect()}
    assert rows[1].status == "converted" and rows[1].payload_v2 == upgrade_json(V1).decode()
    assert rows[2].payload_v2 is None and rows[2].status is None
    assert rows[3].status == "unchanged" and rows[3].payload_v2 == V2.decode()
    assert rows[4].status == "rejected" and rows[4].payload_v2 is None and "invalid JSON" in rows[4].reason
    back = {row.id: row for row in convert_column(
        convert_column(df, "payload", "2.0").select("id", "payload_v2"), "payload_v2", "1.0", into="back").collect()}
    assert back[1].back == V1.decode()


def test_the_text_reader_pitfalls_that_read_lines_avoids(spark: SparkSession, tree: Path) -> None:
    """What ``spark.read.text`` does with the same files (why :func:`read_lines` exists)."""
    cr = str(tree / "2024" / "cr-inside.ndjson")
    assert spark.read.text(cr).count() == 3  # the bare CR splits a record in two
    assert spark.read.option("lineSep", "\n").text(cr).count() == 2
    misnamed = spark.read.option("lineSep", "\n").text(str(tree / "2024" / "misnamed-gzip.ndjson")).collect()
    assert misnamed[0].value.startswith("\x1f")  # gzip bytes, not records
    ours = read_lines(spark, str(tree / "2024" / "misnamed-gzip.ndjson")).collect()
    assert [bytes(row.value) for row in ours] == [V1]
    bad = spark.read.option("lineSep", "\n").text(str(tree / "2024" / "utf8.ndjson")).collect()
    assert "\ufffd" in bad[1].value  # decoded with a replacement character: the original bytes are gone
    ours = read_lines(spark, str(tree / "2024" / "utf8.ndjson")).collect()
    assert bytes(ours[1].value) == b'{"event_name":"caf\xe9","properties":{}}'


def test_read_lines_refuses_an_array(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / "array.json").write_bytes(b"[" + V1 + b"]\n")
    with pytest.raises(Exception, match="a JSON array or a document on several lines"):
        read_lines(spark, str(tmp_path / "array.json")).collect()


def _decompressed(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if data[:3] == b"BZh":
        return bz2.decompress(data)
    return data


def _record(reject: dict[str, object]) -> bytes:
    if "record" in reject:
        return str(reject["record"]).encode()
    import base64

    return base64.b64decode(str(reject["record_base64"]))


def test_the_readme_examples_run(spark: SparkSession, tree: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shutil.copytree(tree / "2024", tmp_path / "archive")  # a few files are enough here
    shutil.copy(tree / "bad-records.v1.ndjson", tmp_path / "archive")
    monkeypatch.chdir(tmp_path)
    for name in ("spark-files", "spark-frames"):
        match = re.search(rf"<!-- example: {name} -->\n```python\n(.*?)```", readme, re.DOTALL)
        assert match, name
        exec(compile(match.group(1), f"README:{name}", "exec"), {"spark": spark})
    assert (tmp_path / "archive-v2" / "bom.ndjson").exists()
    assert json.loads((tmp_path / "stats.json").read_bytes())["total"]["rejected"] > 0
