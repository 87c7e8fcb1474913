"""Running a job: the plan's inputs converted in order, in this process or spread over several.

The main process reads every input (decompressing in a background thread), cuts it into
units of work, and writes every output (compressing in a background thread); with
``jobs > 1`` the units are converted by a pool of threads, or of processes where the C
accelerator is not compiled (the Python converter holds the GIL; the compiled one lets it
go, so threads convert in parallel without copying data between processes). Results are
written in input order, so the output is the same whatever the number of jobs. Every output file appears
atomically; a run that stops (at a bad record, an unreadable input, or an interrupt) leaves
the files already finished and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import msgspec

from ..errors import InputError, MigrateError, os_reason
from ..rawjson import COMPILED
from ..storage.compression import Codec, Reader
from ..storage.files import (
    STDIO,
    AtomicFile,
    display_name,
    is_large,
    open_reader_for,
    open_stdout,
    pause_point,
    printable,
    remove_stale_temporaries,
    shielded,
    stdout_error,
)
from ..storage.journal import RejectsJournal
from ..storage.plan import Plan, Skipped, Task
from .pool import Region, Spooled, convert_region, regions, run_task, spool_directory, take
from .progress import Progress
from .read import CHUNK_BYTES, Work, do_work, read_units, rejected
from .records import BOM, Converted, Counts, Reject, Settings, Shape, array_close, array_open, array_separator

__all__ = ["FileReport", "JobResult", "Options", "run_job"]

#: Jobs reading more than this (or reading stdin) use a pool of workers when ``jobs > 1``;
#: smaller ones are converted faster than a pool of processes would start.
POOL_BYTES = 8 << 20
#: With ``jobs > 1``: a pool of threads (where the compiled converter lets go of the GIL), else of processes.
THREADS = COMPILED


@dataclass(frozen=True)
class Options:
    """How a job runs (what each record becomes is in ``settings``)."""

    settings: Settings
    jobs: int = 1
    rejects: str | None = None
    skip_existing: bool = False
    #: In-place runs: the suffix under which each replaced file is kept.
    backup: str | None = None
    in_place: bool = False
    #: The compression of the single output (``None``: as its name says).
    compress: Codec | None = None
    stats: str | None = None
    #: Flush every output file to disk before renaming it into place (see :class:`AtomicFile`).
    fsync: bool = True


@dataclass
class FileReport:
    """What happened to one input."""

    input: str
    output: str | None
    status: str
    counts: Counts = field(default_factory=Counts)
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        output = None if self.output is None else display_name(self.output)
        return {"input": display_name(self.input), "output": output, "status": self.status,
                "records": self.counts.records,
                "converted": self.counts.converted, "unchanged": self.counts.unchanged,
                "rejected": self.counts.rejected, "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
                "seconds": round(self.seconds, 6)}


@dataclass
class JobResult:
    files: list[FileReport] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    skipped: list[Skipped] = field(default_factory=list)
    #: Entries of a tree that could not be read (see :attr:`Plan.failed`): the run fails (exit code 2).
    failed: list[Skipped] = field(default_factory=list)
    #: The record that stopped the run (when not collecting rejects).
    stopped_at: Reject | None = None


class _Stopped(Exception):
    """Unwinds the job at the first reject."""


class _Sink:
    """Where one input's output goes: its own atomic file, or the job's single output."""

    def __init__(self, write: Callable[[bytes], object], own: AtomicFile | None) -> None:
        self.write = write
        self.own = own


@dataclass
class _Input:
    """An input being converted."""

    task: Task
    reader: Reader
    sink: _Sink
    report: FileReport
    started: float
    shape: Shape
    #: The number of the line the next region of this input starts on.
    line_base: int = 1
    #: An array: whether an element is written yet (the opening bracket with it).
    array_started: bool = False


if TYPE_CHECKING:  # the pool is imported when a job needs one
    from concurrent.futures import Executor, Future

    Item = Future[Converted] | Converted | None  # None: the end of an input


class _Runner:
    def __init__(self, plan: Plan, options: Options, warn: Callable[[str], object],
                 progress: Progress | None) -> None:
        self.plan = plan
        self.options = options
        # Several inputs joined into one output make NDJSON: arrays among them give their elements as lines.
        joined = plan.output is not None and len(plan.tasks) > 1
        self.settings = replace(options.settings, arrays_as_lines=True) if joined else options.settings
        self.warn = warn
        self.progress = progress
        #: Worker processes, for jobs large enough to be worth them (see :func:`run_job`).
        self.executor: Executor | None = None
        #: Where the workers' input and output wait (a directory of its own, removed at the end).
        self.spool: str | None = None
        self.result = JobResult(skipped=list(plan.skipped), failed=list(plan.failed))
        self.pending: deque[tuple[_Input, Item]] = deque()
        self.limit = 0
        self.open_files: list[AtomicFile] = []
        #: The rejects file of a job with a single output (committed with it).
        self.reject_file: AtomicFile | None = None
        #: The rejects of a job whose inputs each have their own output, input by input.
        self.journal: RejectsJournal | None = None
        self.shared: _Sink | None = None
        self.stdout: BinaryIO | None = None
        #: What was read of stdin to tell whether it is large (given back to its reader).
        self.stdin_head = b""
        #: Stdin is a pipe or socket, read as its data arrives (see :mod:`migrate1to2.storage.flowing`).
        self.stdin_flows = False

    # --- reading ------------------------------------------------------------------------------

    def run(self) -> None:
        for task in self.plan.tasks:
            if self.options.skip_existing and task.output not in (None, STDIO) and os.path.exists(str(task.output)):
                self.result.files.append(FileReport(task.input, task.output, "skipped: output exists"))
                continue
            self._read(task)
        self._drain(0)

    def _read(self, task: Task) -> None:
        source = display_name(task.input)
        started = time.monotonic()
        reader = self._open(task)
        with contextlib.closing(reader.stream):
            shape, units = read_units(reader.stream, source, self.settings, payloads_only=task.discovered,
                                      count_lines=False)
            if shape is None:
                why = ("empty, and its name does not say it holds payloads" if reader.source.position == 0 else
                       "it does not start with a JSON object or array")
                self.result.skipped.append(Skipped(task.input, f"not a payload file ({why})"))
                self.result.files.append(FileReport(task.input, task.output, "skipped: not a payload file"))
                return
            self._check_shape(shape, source)
            entry = _Input(task, reader, self._sink(task, reader), FileReport(task.input, task.output, "converted"),
                           started, shape)
            if shape is Shape.NDJSON and _plain_file(task.input, reader):
                self._submit_regions(entry, source)
            else:
                for unit in units:
                    if self.progress:
                        self.progress.read(reader.source.position)
                    if self.executor is None and self.stdin_flows and reader.source.position > POOL_BYTES:
                        self.start_pool(later=True)  # a stream that stalled at first, then grew large
                    self._push(entry, self._submit(unit, shape))
                entry.report.bytes_in = reader.source.position
        self.pending.append((entry, None))
        self._drain(self.limit)

    def _open(self, task: Task) -> Reader:
        if task.input == STDIO and self.stdin_flows:
            from ..storage.flowing import open_flowing, stdin_pipe

            fd = stdin_pipe()
            assert fd is not None
            return open_flowing(fd, display_name(STDIO), self.stdin_head, self._idle)
        return open_reader_for(task.input, self.stdin_head if task.input == STDIO else b"")

    def _idle(self) -> None:
        """Stdin stalled (see :mod:`migrate1to2.storage.flowing`): write all that is converted and flush stdout,
        so that a stream's records flow through. Compressed stdout is not flushed: a compressor emits
        its blocks when it fills them (flushing it for each record would wreck the compression)."""
        self._drain(0)
        if self.stdout is sys.stdout.buffer:
            try:
                self.stdout.flush()
            except OSError as error:
                raise stdout_error(error) from None

    def _submit_regions(self, entry: _Input, source: str) -> None:
        """Read an uncompressed file a region at a time, here or (with a pool) in the workers themselves."""
        path = entry.task.input
        size = os.path.getsize(path)
        pause_point("input-size")
        with open(path, "rb") as stream:
            start = len(BOM) if stream.read(len(BOM)) == BOM else 0
        for begin, end in regions(path, start, size, CHUNK_BYTES, source):
            if self.progress:
                self.progress.read(end)
            region = Region(path, begin, end, source)
            if self.executor is None:  # one job: no copy of the lines into chunks
                self._push(entry, convert_region(region, self.settings))
            elif self.spool is None:  # threads
                self._push(entry, self.executor.submit(convert_region, region, self.settings))
            else:
                self._push(entry, self.executor.submit(run_task, region, self.settings, self.spool))
        entry.report.bytes_in = size

    def _push(self, entry: _Input, item: Item) -> None:
        self.pending.append((entry, item))
        self._drain(self.limit)

    def _check_shape(self, shape: Shape, source: str) -> None:
        if self.settings.pretty and shape is Shape.NDJSON:
            self.warn(f"{source}: --pretty has no effect on NDJSON input (one record per line)")

    def start_pool(self, *, later: bool = False) -> None:
        """Start the workers (threads, or processes), before any input is opened.

        Processes are forked (instant: they share what this process has imported) while this
        process has no other thread: every worker is started here, at once, and none later.
        Threads may start ``later`` (stdin that proved large after the start).
        """
        if self.executor is not None or self.options.jobs < 2 or (later and not THREADS):
            return
        if THREADS:
            from concurrent.futures import ThreadPoolExecutor

            self.executor = ThreadPoolExecutor(max_workers=self.options.jobs, thread_name_prefix="migrate1to2")
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("fork")
            self.spool = spool_directory()
            self.executor = ProcessPoolExecutor(max_workers=self.options.jobs, mp_context=context,
                                                initializer=_ignore_interrupts)
            for _ in range(self.options.jobs):  # each submit forks a worker while none is idle
                self.executor.submit(time.sleep, 0.01)
        self.limit = 2 * self.options.jobs + 2

    def _submit(self, unit: Work | Reject, shape: Shape) -> Item:
        if isinstance(unit, Reject):  # array elements carry their own line numbers
            return rejected(unit, self.settings, lines=0 if shape is Shape.ARRAY else 1)
        if self.executor is None:
            return do_work(unit, self.settings)
        if self.spool is None or unit.shape is Shape.ARRAY:  # threads; array elements travel pickled
            return self.executor.submit(do_work, unit, self.settings)
        try:
            fd, name = tempfile.mkstemp(dir=self.spool, suffix=".in")
            with os.fdopen(fd, "wb") as spooled:
                spooled.write(unit.data)
        except OSError as error:
            raise self._spool_error(error) from None
        return self.executor.submit(run_task, Spooled(name, unit.first_line, unit.shape, unit.source), self.settings,
                                    self.spool)

    def _sink(self, task: Task, reader: Reader) -> _Sink:
        if task.output is None:
            assert self.shared is not None
            return self.shared
        codec = task.codec if task.codec is not None else reader.codec
        if not self.options.in_place:
            try:
                Path(task.output).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise InputError(f"cannot write {task.output}: {os_reason(error)}") from None
        own = AtomicFile(task.output, codec, backup=self.options.backup if self.options.in_place else None,
                         threads=self.options.jobs if is_large(task.input) else 0, sync=self.options.fsync)
        self.open_files.append(own)
        return _Sink(own.write, own)

    # --- writing, in input order --------------------------------------------------------------

    def _drain(self, keep: int) -> None:
        while len(self.pending) > keep:
            entry, item = self.pending.popleft()
            if item is None:
                self._finish(entry)
            else:
                # Units number their lines from 1: renumber from the line this one starts on.
                try:
                    converted = take(item if isinstance(item, Converted) else item.result(), entry.line_base)
                except OSError as error:  # a worker or this process could not use the spool directory
                    raise self._spool_error(error) from None
                entry.line_base += converted.lines
                self._write(entry, converted)

    def _write(self, entry: _Input, converted: Converted) -> None:
        if entry.shape is not Shape.ARRAY or self.settings.arrays_as_lines:
            entry.sink.write(converted.output)
        elif converted.output:
            pretty = self.settings.pretty
            entry.sink.write((array_separator(pretty) if entry.array_started else array_open(pretty))
                             + converted.output)
            entry.array_started = True
        entry.report.counts.add(converted.counts)
        self.result.counts.add(converted.counts)
        rejects = self.journal or self.reject_file
        if rejects is not None and converted.rejects:
            rejects.write(b"".join(reject.to_json() + b"\n" for reject in converted.rejects))
        if self.progress:
            self.progress.records_done(converted.counts.records)
        pause_point("written")
        if converted.stopped:
            self._close_array(entry)  # on stdout, what was written stays valid JSON
            entry.report.status = "stopped"
            entry.report.bytes_in = entry.reader.source.position
            self.result.files.append(entry.report)
            self.result.stopped_at = converted.rejects[-1]
            raise _Stopped

    def _close_array(self, entry: _Input) -> None:
        if entry.shape is Shape.ARRAY and not self.settings.arrays_as_lines:
            entry.sink.write(array_close(self.settings.pretty, empty=not entry.array_started))

    def _finish(self, entry: _Input) -> None:
        self._close_array(entry)
        report = entry.report
        own = entry.sink.own
        if own is not None:
            counts = report.counts
            if self.options.in_place and counts.converted == 0 and counts.records == counts.unchanged:
                own.discard()  # nothing to change: the file is left exactly as it was
                report.status = "unchanged"
            else:
                journal, source, in_place = self.journal, display_name(entry.task.input), self.options.in_place
                # The input's rejects are sealed in the journal just before its output appears.
                own.commit(None if journal is None else
                           lambda facts: journal.seal(source, str(own.target), facts, in_place=in_place))
                if journal is not None:
                    journal.committed()
                report.bytes_out = own.size
            self.open_files.remove(own)
        report.seconds = time.monotonic() - entry.started
        self.result.files.append(report)
        if self.progress:
            self.progress.file_done(report.bytes_in)

    def open_outputs(self, total: int | None) -> None:
        """Start the pool if the job is large enough, and open the rejects file and the single output."""
        options, plan = self.options, self.plan
        if any(task.input == STDIO for task in plan.tasks):
            from ..storage.flowing import stdin_pipe

            fd = stdin_pipe()
            self.stdin_flows = fd is not None
            if fd is not None and options.jobs > 1:
                from ..storage.flowing import read_ahead

                # A stream that stalls before POOL_BYTES is not held for them; a pool of threads can still
                # start later if it grows large (see _read).
                self.stdin_head = read_ahead(fd, POOL_BYTES + 1)
                total = (total or 0) + len(self.stdin_head)
            elif options.jobs > 1:
                self.stdin_head = _read_ahead(sys.stdin.buffer, POOL_BYTES + 1)
                total = (total or 0) + len(self.stdin_head)
        if total is not None and total > POOL_BYTES:
            self.start_pool()
        # Resuming or rerunning in place: the rejects of earlier runs stay, this run's are added.
        resume = options.skip_existing or options.in_place
        if options.rejects is not None and plan.output is None and not _device(options.rejects):
            self.journal = RejectsJournal(options.rejects, resume=resume, sync=options.fsync)
        elif options.rejects is not None:
            self.reject_file = AtomicFile(options.rejects, keep_existing=resume, sync=options.fsync)
            self.open_files.append(self.reject_file)
        if plan.output == STDIO:
            self.stdout = open_stdout(options.compress or Codec.NONE)
            self.shared = _Sink(_guarded(self.stdout.write), None)
        elif plan.output is not None:
            shared = AtomicFile(plan.output, options.compress, threads=options.jobs, sync=options.fsync)
            self.open_files.append(shared)
            self.shared = _Sink(shared.write, None)  # committed at the end, with the rejects file

    def commit_outputs(self) -> None:
        if self.stdout is not None:
            try:
                with shielded():
                    self.stdout.flush()
                    if self.stdout is not sys.stdout.buffer:
                        self.stdout.close()  # finishes the compressed format
            except OSError as error:
                raise stdout_error(error) from None
        for own in list(self.open_files):
            own.commit()
        self.open_files.clear()
        if self.journal is not None:
            self.journal.finish()
            self.journal = None

    def _spool_error(self, error: OSError) -> InputError:
        return InputError(f"cannot use the spool directory {self.spool}: {os_reason(error)} "
                          "(free space there, or convert with --jobs 1)")

    def keep_finished_rejects(self) -> None:
        """On a failure, keep the rejects of the inputs whose output was committed.

        They are not in those outputs, and a rerun with ``--skip-existing`` will not see them
        again. If the rejects file cannot be written, the journal stays for the rerun.
        """
        journal, self.journal = self.journal, None
        if journal is None:
            return
        try:
            journal.finish()
        except MigrateError:
            journal.close()

    def discard_all(self) -> None:
        for own in self.open_files:
            own.discard()
        self.open_files.clear()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
        if self.spool is not None:
            shutil.rmtree(self.spool, ignore_errors=True)


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C is the main process's to handle (it stops the pool); SIGTERM ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _device(path: str) -> bool:
    """A device or a pipe (``/dev/stderr``): written directly, as it comes (see :class:`AtomicFile`)."""
    return os.path.exists(path) and not os.path.isfile(path)


def _plain_file(name: str, reader: Reader) -> bool:
    """An uncompressed regular file: workers can read regions of it themselves."""
    return name != STDIO and reader.codec is Codec.NONE and os.path.isfile(name)


def _total_bytes(plan: Plan) -> int | None:
    try:
        return sum(os.path.getsize(task.input) for task in plan.tasks if task.input != STDIO)
    except OSError:
        return None  # a file gone since planning


def _read_ahead(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes of a pipe (which may give less per read)."""
    blocks = []
    while size > 0 and (block := stream.read(min(size, 1 << 20))):
        blocks.append(block)
        size -= len(block)
    return b"".join(blocks)


def run_job(plan: Plan, options: Options, *, warn: Callable[[str], object] = print,
            show_progress: bool = False, note: Callable[[str], object] | None = None) -> JobResult:
    """Convert every task of ``plan``; see the module docstring.

    First the temporary files that killed runs left beside this job's outputs are removed, each
    named through ``note`` (default: ``warn``).
    """
    _remove_leftovers(plan, options, note or warn)
    total = _total_bytes(plan)
    progress = Progress(total) if show_progress else None
    runner = _Runner(plan, options, warn, progress)
    started = time.monotonic()
    stats: AtomicFile | None = None
    try:
        runner.open_outputs(total)
        # Opened now: an unwritable path fails before the work, not after.
        stats = AtomicFile(options.stats, Codec.NONE, sync=options.fsync) if options.stats is not None else None
        runner.run()
        runner.commit_outputs()
    except _Stopped:
        runner.discard_all()
    except BaseException:
        runner.keep_finished_rejects()
        runner.discard_all()
        if stats is not None:
            stats.discard()
        raise
    finally:
        runner.close()
        if progress:
            progress.clear()
    if stats is not None:
        _write_stats(stats, runner.result, time.monotonic() - started)
    return runner.result


def _remove_leftovers(plan: Plan, options: Options, note: Callable[[str], object]) -> None:
    """Remove what runs that were killed left of this job's outputs (see :func:`remove_stale_temporaries`)."""
    targets = [str(task.output) for task in plan.tasks if task.output is not None]
    targets += [path for path in (plan.output, options.rejects, options.stats) if path is not None]
    removed = remove_stale_temporaries(targets)
    for path in removed:
        note(f"removed {printable(path)}: a temporary file left by an interrupted run")
    if removed:  # no longer there to skip
        gone = {Path(path) for path in removed}
        plan.skipped[:] = [skipped for skipped in plan.skipped if Path(os.path.realpath(skipped.path)) not in gone]


def _guarded(write: Callable[[bytes], object]) -> Callable[[bytes], object]:
    def guarded(data: bytes) -> object:
        try:
            with shielded():
                return write(data)
        except OSError as error:
            raise stdout_error(error) from None

    return guarded


def _write_stats(out: AtomicFile, result: JobResult, seconds: float) -> None:
    counts = result.counts
    report = {
        "files": [file.to_dict() for file in result.files],
        "total": {"files": len(result.files), "failed": len(result.failed), "records": counts.records,
                  "converted": counts.converted,
                  "unchanged": counts.unchanged, "rejected": counts.rejected,
                  "bytes_in": sum(file.bytes_in for file in result.files),
                  "bytes_out": sum(file.bytes_out for file in result.files),
                  "seconds": round(seconds, 6)},
        "skipped": [{"path": printable(skipped.path), "reason": skipped.reason} for skipped in result.skipped],
        "failed": [{"path": printable(failed.path), "reason": failed.reason} for failed in result.failed],
    }
    with out:
        out.write(msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n")

