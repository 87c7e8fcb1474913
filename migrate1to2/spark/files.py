"""Files mode: a tree of payload files converted on a Spark cluster, one task per input file.

The driver plans the job exactly as the command line does (:func:`~migrate1to2.storage.plan.make_plan`:
the output tree mirrors the input, names and compression included) and leaves out the inputs whose
output exists (a rerun goes on where the last one stopped). Each task converts one input through the
command line's own code (:func:`~migrate1to2.convert.run.prepare_output`): the output is finished under
a temporary name of its own, beside its final name, and the task gives back that name, the file's
report and its rejects, as data. The driver then, input by input in plan order, writes the rejects
to the rejects journal, seals them, renames the output into place and marks it committed, as the
command line does for each of its own outputs. So:

- the output bytes and the rejects file are those of ``migrate1to2 convert SRC -o DEST --rejects R
  --skip-existing`` (compressed outputs included);
- a task that fails and is retried, or a speculative copy of a task, never duplicates a reject or
  corrupts an output: only the one result Spark gives the driver is put in place; the temporary files
  of other attempts are removed at the end (those of attempts still running when the job ends, by
  the next run);
- a driver killed at any moment loses nothing: outputs not yet renamed are converted again by the
  next run, and the rejects journal counts each input once.

The inputs are sent in groups (``files_per_job``; two groups run at once), so outputs appear as the
run goes on, not only at its end.

Test hook: when the environment variable ``MIGRATE1TO2_TEST_SPARK_CRASH`` of the driver names a
directory, the first attempt of each task ends its Python worker abruptly (``os._exit``) once its
output is finished under its temporary name, leaving a marker file in that directory; Spark runs
the task again (give the session ``local[N,2]`` or ``spark.task.maxFailures`` of 2 or more).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import msgspec

from ..chunks import target_version
from ..convert.job import FileReport, JobResult, Options, Status
from ..convert.outputs import Outputs, remove_leftovers
from ..convert.records import MAX_RECORD_BYTES, Settings
from ..convert.run import Prepared, prepare_output
from ..envelope import parse_pointer
from ..errors import MigrateError
from ..storage.compression import Codec
from ..storage.files import display_name, exists, open_atomic, remove_stale_temporaries, rename_into_place
from ..storage.journal import RejectsJournal
from ..storage.plan import Plan, Task, UsageError, make_plan
from ..storage.urls import is_url
from ..version import Version

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["CRASH_HOOK", "convert_files", "main"]

#: The test hook's environment variable (see the module docstring).
CRASH_HOOK = "MIGRATE1TO2_TEST_SPARK_CRASH"


def convert_files(spark: SparkSession, src: str | Sequence[str], dest: str, *, target: Version | str = "2.0",
                  include: Sequence[str] = (), exclude: Sequence[str] = (), rejects: str | None = None,
                  stats: str | None = None, compress: Codec | str | None = None, payload_path: str = "",
                  max_record_bytes: int = MAX_RECORD_BYTES, fsync: bool = True,
                  files_per_job: int | None = None,
                  warn: Callable[[str], object] | None = None) -> JobResult:
    """Convert the files and trees ``src`` into the directory ``dest`` on ``spark``'s executors.

    The terms are the command line's (``convert SRC... -o DEST/ --skip-existing``): ``include`` and
    ``exclude`` globs, ``rejects`` (the rejects file; without one, an input's first reject stops that
    input, which is then not written, and the run is reported as stopped), ``stats`` (the ``--stats``
    report), ``compress`` (recompress every output), ``payload_path``, ``max_record_bytes``, ``fsync``.
    Inputs and outputs must be paths the driver and every executor see alike (relative names are taken
    in the driver's working directory; on a cluster, give absolute paths or URLs).

    Returns the run's :class:`~migrate1to2.convert.job.JobResult` (``failed`` lists the inputs that
    could not be read or written: unlike the command line, the other inputs are still converted).
    Raises :class:`~migrate1to2.errors.MigrateError` for terms that do not fit together.
    """
    say = warn if warn is not None else _stderr
    version = target_version(target)
    codec = Codec(compress) if isinstance(compress, str) else compress
    try:
        pointer = parse_pointer(payload_path)
    except ValueError as error:
        raise UsageError(f"payload_path: {error}") from None
    settings = Settings(version, stop_at_reject=rejects is None, payload_path=pointer,
                        max_record_bytes=max_record_bytes)
    inputs = [src] if isinstance(src, str) else list(src)
    if not inputs:
        raise UsageError("no input: give payload files or directories")
    directory = dest if dest.endswith("/") else dest + "/"
    sides = [(option, path) for option, path in (("--rejects", rejects), ("--stats", stats)) if path is not None]
    plan = make_plan(inputs, directory, include=include, exclude=exclude, compress=codec, side_outputs=sides)
    if plan.output is not None:  # pragma: no cover - a directory output always gives one output per input
        raise UsageError(f"{dest}: files mode writes a directory")
    options = Options(settings, rejects=rejects, skip_existing=True, compress=codec, stats=stats, fsync=fsync)
    remove_leftovers(plan, options, say, time.time())
    started = time.monotonic()
    result = JobResult(skipped=list(plan.skipped), failed=list(plan.failed))
    todo: list[Task] = []
    for task in plan.tasks:
        if task.output is not None and exists(task.output):
            result.files.append(FileReport(task.input, task.output, Status.SKIPPED_EXISTING))
        else:
            todo.append(task)
    # The rejects file (its journal) as the command line keeps it, written here on the driver.
    outputs = Outputs(Plan(tasks=todo), options)
    outputs.open()
    stats_file = open_atomic(stats, Codec.NONE, sync=fsync) if stats is not None else None
    try:
        for prepared in _run_tasks(spark, todo, settings, fsync=fsync, files_per_job=files_per_job):
            _put_in_place(prepared, result, outputs.journal, say)
        outputs.commit()
    except BaseException:
        outputs.keep_finished_rejects()  # as a failed command line run: those of the outputs in place stay
        if stats_file is not None:
            stats_file.discard()
        raise
    finally:
        _remove_temporaries(plan, say)
    order = {task.input: index for index, task in enumerate(plan.tasks)}
    result.files.sort(key=lambda file: order.get(file.input, len(order)))  # in plan order, as the command line
    if stats_file is not None:
        try:
            stats_file.write(msgspec.json.format(msgspec.json.encode(result.stats(time.monotonic() - started)),
                                                 indent=2) + b"\n")
            stats_file.commit()
        except BaseException:
            stats_file.discard()
            raise
    return result


def _stderr(text: str) -> None:
    print(f"migrate1to2.spark: {text}", file=sys.stderr)


def _run_tasks(spark: SparkSession, tasks: list[Task], settings: Settings, *, fsync: bool,
               files_per_job: int | None) -> Iterator[Prepared]:
    """Each task's result, in order; the tasks run in groups of ``files_per_job``, two groups at a time."""
    if not tasks:
        return
    context = spark.sparkContext
    size = files_per_job or max(1, 4 * context.defaultParallelism)
    groups = [tasks[start:start + size] for start in range(0, len(tasks), size)]
    crash = os.environ.get(CRASH_HOOK)
    cwd = os.getcwd()

    group_id = f"migrate1to2-{uuid.uuid4().hex}"

    def run(group: list[Task]) -> list[Prepared]:
        context.setJobGroup(group_id, f"migrate1to2: convert {len(group)} files ({display_name(group[0].input)} ...)",
                            interruptOnCancel=True)
        rdd = context.parallelize(group, len(group))
        return rdd.map(lambda task: convert_task(task, settings, fsync, crash, cwd)).collect()

    pool = ThreadPoolExecutor(max_workers=2)
    try:
        for results in pool.map(run, groups):
            yield from results
    finally:  # stopped (an error, Ctrl-C): the groups still running are cancelled, not waited for
        context.cancelJobGroup(group_id)
        pool.shutdown(wait=True, cancel_futures=True)


def convert_task(task: Task, settings: Settings, fsync: bool = True, crash: str | None = None,
                 cwd: str | None = None) -> Prepared:
    """What a Spark task runs: one input converted, its output left under its temporary name.

    ``cwd``: the driver's working directory, where relative names are (the names stay as given, so
    that reports and rejects name the files as the command line would).
    """
    with in_directory(cwd):
        prepared = prepare_output(task, settings, fsync=fsync)
    if crash is not None and prepared.temporary is not None:
        marker = os.path.join(crash, hashlib.sha256(task.input.encode()).hexdigest()[:16])
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.close(fd)
            os._exit(17)  # the test hook: a worker that dies once its output is written
    return prepared


@contextlib.contextmanager
def in_directory(cwd: str | None) -> Iterator[None]:
    """In a task: run in the driver's working directory when there is one here (a local run, or a shared
    mount), and come back after (the Python worker runs other tasks next)."""
    before = os.getcwd()
    with contextlib.suppress(OSError):  # not on this machine: relative names cannot be read (the task says so)
        os.chdir(cwd or before)
    try:
        yield
    finally:
        os.chdir(before)


def _put_in_place(prepared: Prepared, result: JobResult, journal: RejectsJournal | None,
                  say: Callable[[str], object]) -> None:
    """One task's result joins the run's: its rejects sealed, then its output renamed into place."""
    for text in prepared.warnings:
        say(f"warning: {text}")
    task, done = prepared.task, prepared.result
    result.skipped.extend(done.skipped)
    result.failed.extend(done.failed)
    if done.stopped_at is not None and result.stopped_at is None:
        result.stopped_at = done.stopped_at
    for report in done.files:
        result.files.append(report)
        result.counts.add(report.counts)
    if prepared.temporary is None:
        return
    assert task.output is not None
    source = display_name(task.input)
    if is_url(task.output):  # an object: the task made it whole, under its own name
        if journal is not None:
            journal.write(b"".join(reject.to_json() + b"\n" for reject in prepared.rejects))
            journal.seal(source, task.output, None, in_place=False)
            journal.committed()
        return
    target = os.path.realpath(task.output)
    if journal is not None:
        journal.write(b"".join(reject.to_json() + b"\n" for reject in prepared.rejects))
        rename_into_place(prepared.temporary, target,
                          lambda facts: journal.seal(source, target, facts, in_place=False))
        journal.committed()
    else:
        rename_into_place(prepared.temporary, target)


def _remove_temporaries(plan: Plan, say: Callable[[str], object]) -> None:
    """Remove what other attempts of the tasks left (a retried task, a speculative copy)."""
    for path in remove_stale_temporaries([str(task.output) for task in plan.tasks if task.output is not None]):
        say(f"removed {path}: the temporary file of a task attempt that did not count")


# --- spark-submit ---------------------------------------------------------------------------------


def main(argv: Iterable[str] | None = None) -> int:
    """``spark-submit .../migrate1to2/spark/__main__.py SRC... DEST [options]`` (``python -m migrate1to2.spark``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="migrate1to2.spark",
        description="Convert payload files and trees on a Spark cluster, one task per file; the output tree "
                    "mirrors the input, byte for byte what `migrate1to2 convert SRC -o DEST` writes.")
    parser.add_argument("paths", nargs="+", metavar="SRC... DEST", help="inputs (files, directories), then the "
                        "output directory")
    parser.add_argument("--to", dest="target", default="2.0", choices=["2.0", "1.0"],
                        help="the target version (1.0 downgrades); default 2.0")
    parser.add_argument("--rejects", help="write rejected records here (NDJSON); without it, a file's first "
                        "reject stops that file")
    parser.add_argument("--stats", help="write the run report here (JSON, as `migrate1to2 convert --stats`)")
    parser.add_argument("--include", action="append", default=[], help="only files matching this glob")
    parser.add_argument("--exclude", action="append", default=[], help="leave out files matching this glob")
    parser.add_argument("--compress", choices=[codec.value for codec in Codec], help="recompress every output")
    parser.add_argument("--payload-path", default="", help="the JSON Pointer of the payload in each record")
    parser.add_argument("--files-per-job", type=int, help="inputs sent to the cluster at a time")
    parser.add_argument("--no-fsync", action="store_true", help="do not flush outputs to disk before renaming")
    parser.add_argument("--master", help="the Spark master when not run by spark-submit (default local[*])")
    args = parser.parse_args(None if argv is None else list(argv))
    if len(args.paths) < 2:
        parser.error("give one or more inputs, then the output directory")
    *inputs, dest = args.paths
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("migrate1to2")
    if args.master:
        builder = builder.master(args.master)
        if args.master.startswith("local"):  # the workers run this Python (its packages)
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    existing = SparkSession.getActiveSession()
    spark = builder.getOrCreate()
    try:
        result = convert_files(spark, inputs, dest, target=args.target, include=args.include, exclude=args.exclude,
                               rejects=args.rejects, stats=args.stats, compress=args.compress,
                               payload_path=args.payload_path, files_per_job=args.files_per_job,
                               fsync=not args.no_fsync)
    except MigrateError as error:
        _stderr(f"error: {error}")
        return 2
    finally:
        if existing is None:  # a session of its own (not one a notebook or test holds)
            spark.stop()
    return report(result, args.rejects)


def report(result: JobResult, rejects: str | None) -> int:
    """Print what the command line prints after a run (to stderr); the exit code."""
    for skipped in result.skipped:
        _stderr(f"skipped {skipped.path}: {skipped.reason}")
    for failed in result.failed:
        _stderr(f"error: {failed.path}: {failed.reason}")
    if result.stopped_at is not None:
        _stderr(result.stopped_at.message())
        stopped = [file.input for file in result.files if file.status is Status.STOPPED]
        _stderr(f"stopped {len(stopped)} file(s) at their first record that cannot be converted (not written); "
                "give --rejects FILE to set such records aside and convert the rest")
    counts = result.counts
    done = sum(1 for file in result.files if not file.status.skipped)
    existing = sum(1 for file in result.files if file.status is Status.SKIPPED_EXISTING)
    line = (f"{counts.records} records in {done} files: {counts.converted} converted, {counts.unchanged} "
            f"unchanged, {counts.rejected} rejected")
    if counts.rejected and rejects:
        line += f" (see {rejects})"
    if existing:
        line += f"; {existing} files skipped, output already there"
    _stderr(line)
    if result.failed:
        return 2
    return 1 if counts.rejected or result.stopped_at is not None else 0

