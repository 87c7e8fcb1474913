"""``migrate1to2 convert`` and ``downgrade``: one command for each direction, with the same options."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from ..convert.job import JobResult, Options, Status
from ..convert.records import Counts, Settings
from ..convert.run import run_job
from ..envelope import parse_pointer
from ..errors import MigrateError
from ..storage.compression import Codec
from ..storage.files import STDIO, OutputClosed, interrupt
from ..storage.plan import UsageError, make_plan
from ..storage.urls import local_path, set_storage_options
from ..version import Version
from .app import EXIT_INTERRUPTED, EXIT_OK, EXIT_REJECTED, EXIT_TERMINATED, EXIT_USAGE, PROG, say, silence_stdout
from .options import (
    Backup,
    Compress,
    Exclude,
    Fsync,
    Include,
    InPlace,
    Inputs,
    Jobs,
    MaxRecordBytes,
    Output,
    PayloadPath,
    Pretty,
    Quiet,
    Rejects,
    SkipExisting,
    Stats,
    StorageOption,
    storage_options,
)


def _command(target: Version, doc: str) -> Callable[..., int]:
    """The command converting to ``target`` (typer reads its parameters' annotations for the options)."""

    def command(inputs: Inputs = None, output: Output = STDIO, rejects: Rejects = None, pretty: Pretty = False,
                quiet: Quiet = False, jobs: Jobs = None, include: Include = None, exclude: Exclude = None,
                skip_existing: SkipExisting = False, in_place: InPlace = False, backup: Backup = None,
                compress: Compress = None, stats: Stats = None, payload_path: PayloadPath = "",
                max_record_bytes: MaxRecordBytes = "16M", fsync: Fsync = True,
                storage_option: StorageOption = None) -> int:
        return _convert(target, inputs, output=output, rejects=rejects, pretty=pretty, quiet=quiet, jobs=jobs,
                        include=include, exclude=exclude, skip_existing=skip_existing, in_place=in_place,
                        backup=backup, compress=compress, stats=stats, payload_path=payload_path,
                        max_record_bytes=max_record_bytes, fsync=fsync, storage_option=storage_option)

    command.__doc__ = doc
    return command


convert = _command(Version.V2,
                   "Convert payloads from format 1.0 to 2.0. Records already in 2.0 pass through unchanged.")
downgrade = _command(Version.V1,
                     "Convert payloads from format 2.0 back to 1.0. Records already in 1.0 pass through unchanged.")


def _size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)B?\s*", text, re.IGNORECASE)
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--max-record-bytes takes a size such as 65536, 512K or 16M, not {text!r}")
    return int(match.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[match.group(2).upper()]



def _summary(result: JobResult, target: Version, rejects: str | None, *, per_file: bool) -> str:
    counts: Counts = result.counts
    already = "1.0" if target is Version.V1 else "2.0"
    files = sum(1 for file in result.files if not file.status.skipped)
    where = f" in {files} file{'s' if files != 1 else ''}" if per_file else ""
    line = (f"{PROG}: {counts.records} records{where}: {counts.converted} converted, "
            f"{counts.unchanged} unchanged (already {already} or the same in both), {counts.rejected} rejected")
    if counts.rejected and rejects:
        line += f" (see {rejects})"
    existing = sum(1 for file in result.files if file.status is Status.SKIPPED_EXISTING)
    if existing:
        line += f"; {existing} file{'s' if existing != 1 else ''} skipped, output already there"
    failed = len(result.failed)
    if failed:
        line += f"; {failed} path{'s' if failed != 1 else ''} could not be read (not converted: see above)"
    return line



def _convert(target: Version, inputs: list[str] | None, *, output: str, rejects: str | None, pretty: bool,
             quiet: bool, jobs: int | None, include: list[str] | None, exclude: list[str] | None,
             skip_existing: bool, in_place: bool, backup: str | None, compress: Codec | None, stats: str | None,
             payload_path: str, max_record_bytes: str, fsync: bool, storage_option: list[str] | None = None) -> int:
    try:
        if storage_option:
            set_storage_options(storage_options(storage_option))
        # file:// URLs are local paths, and behave exactly as local paths do.
        inputs = [local_path(name) for name in inputs] if inputs else inputs
        output = local_path(output)
        rejects, stats = (None if name is None else local_path(name) for name in (rejects, stats))
        if backup is not None and not in_place:
            raise UsageError("--backup goes with --in-place")
        if in_place and compress is not None:
            raise UsageError("--in-place keeps each file's name and compression: --compress cannot go with it")
        if in_place and not fsync:
            raise UsageError("--in-place replaces the only copy of each file: it always flushes it to disk first, "
                             "and --no-fsync cannot go with it")
        if jobs is not None and jobs < 1:
            raise UsageError("--jobs takes a number of workers, 1 or more")
        try:
            pointer = parse_pointer(payload_path)
        except ValueError as error:
            raise UsageError(f"--payload-path: {error}") from None
        settings = Settings(target, stop_at_reject=rejects is None, pretty=pretty, payload_path=pointer,
                            max_record_bytes=_size(max_record_bytes))
        names = inputs or [STDIO]
        if STDIO in names and (sys.stdin is None or sys.stdin.isatty()):
            raise UsageError("no input: give payload files, or pipe payloads to stdin")
        if in_place and skip_existing:
            raise UsageError("--skip-existing skips inputs whose output exists: with --in-place every output exists; "
                             "rerunning --in-place is safe on its own (files with nothing to convert are left alone)")
        sides = [(option, path) for option, path in (("--rejects", rejects), ("--stats", stats)) if path is not None]
        plan = make_plan(names, output, include=include or (), exclude=exclude or (), in_place=in_place,
                         compress=compress, side_outputs=sides, backup=backup)
        if pretty and plan.output is not None and len(plan.tasks) > 1:
            raise UsageError("--pretty goes with a single input: several inputs are joined into one NDJSON output")
        options = Options(settings, jobs=jobs or os.cpu_count() or 1, rejects=rejects, skip_existing=skip_existing,
                          backup=backup, in_place=in_place, compress=compress if plan.output is not None else None,
                          stats=stats, fsync=fsync)
        with _terminate_as_interrupt():
            result = run_job(plan, options, warn=lambda text: say(f"{PROG}: warning: {text}"),
                             show_progress=not quiet and sys.stderr.isatty(), note=lambda text: say(f"{PROG}: {text}"))
    except MigrateError as error:
        if isinstance(error, OutputClosed):
            silence_stdout()
        say(f"{PROG}: error: {error}")
        return EXIT_USAGE
    except (KeyboardInterrupt, Terminated) as stop:
        how = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
        resume = "rerun to finish" if in_place else "rerun with --skip-existing to resume"
        say(f"{PROG}: {how}; finished output files are complete, unfinished ones were not written ({resume})")
        return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED
    for skipped in result.skipped:
        say(f"{PROG}: skipped {skipped.path}: {skipped.reason}")
    for failed in result.failed:
        say(f"{PROG}: error: {failed.path}: {failed.reason}")
    if result.stopped_at is not None:
        say(result.stopped_at.message())
        say(f"{PROG}: stopped at the first record that cannot be converted; {_unwritten(result, plan.output)}. "
             "Use --rejects FILE to set such records aside and convert the rest.")
        return EXIT_USAGE if result.failed else EXIT_REJECTED
    if not quiet:
        say(_summary(result, target, rejects, per_file=plan.output is None))
    if result.failed:
        return EXIT_USAGE
    return EXIT_REJECTED if result.counts.rejected else EXIT_OK



class Terminated(BaseException):
    """SIGTERM arrived: the job unwinds as on Ctrl-C (temporary files removed, finished files kept)."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While converting, SIGTERM stops the job as Ctrl-C does, and neither cuts a write to an output in half
    (see :func:`migrate1to2.storage.files.shielded`). Only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(number: int, frame: object) -> None:
        for each in (signal.SIGINT, signal.SIGTERM):  # one is enough: let the clean-up finish
            signal.signal(each, signal.SIG_IGN)
        interrupt(Terminated() if number == signal.SIGTERM else KeyboardInterrupt())

    # A signal ignored by whoever started this (nohup, a background job) stays ignored.
    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(number) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)



def _unwritten(result: JobResult, output: str | None) -> str:
    if output is None:
        stopped = result.files[-1]
        done = sum(1 for file in result.files if file.status is Status.CONVERTED)
        finished = (f"the {done} files finished before it are complete" if done > 1 else
                    "the file finished before it is complete" if done else "")
        return f"{stopped.output} was not written" + (f"; {finished}" if finished else "")
    if output != STDIO:
        return f"{output} was not written"
    before = result.counts.converted + result.counts.unchanged
    if before:
        return f"the {before} record{'s' if before > 1 else ''} before it went to stdout"
    return "nothing was written"

