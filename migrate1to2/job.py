"""Running a job: the plan's inputs converted in order, in this process or spread over several.

The main process reads every input (decompressing in a background thread), cuts it into
units of work, and writes every output (compressing in a background thread); with
``jobs > 1`` the units are converted by a pool of processes. Results are written in input
order, so the output is the same whatever the number of jobs. Every output file appears
atomically; a run that stops (at a bad record, an unreadable input, or an interrupt) leaves
the files already finished and nothing else.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import msgspec

from .compression import Codec, Reader
from .errors import InputError
from .files import STDIO, AtomicFile, display_name, is_large, open_reader_for, open_stdout
from .plan import Plan, Skipped, Task, UsageError
from .progress import Progress
from .records import Converted, Counts, Reject, Settings, Shape
from .streams import Work, do_work, read_units, rejected

__all__ = ["FileReport", "JobResult", "Options", "run_job"]

#: Jobs reading more than this start their pool of processes at once; smaller ones start it only
#: if they turn out to have more than one unit of work (a process pool takes a while to start).
POOL_BYTES = 8 << 20


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
        return {"input": self.input, "output": self.output, "status": self.status, "records": self.counts.records,
                "converted": self.counts.converted, "unchanged": self.counts.unchanged,
                "rejected": self.counts.rejected, "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
                "seconds": round(self.seconds, 6)}


@dataclass
class JobResult:
    files: list[FileReport] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    skipped: list[Skipped] = field(default_factory=list)
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


Item = Future[Converted] | Converted | None  # None: the end of an input


class _Runner:
    def __init__(self, plan: Plan, options: Options, warn: Callable[[str], object],
                 progress: Progress | None) -> None:
        self.plan = plan
        self.options = options
        self.settings = options.settings
        self.warn = warn
        self.progress = progress
        #: Started for the second unit of work: small inputs never pay for a pool of processes.
        self.executor: Executor | None = None
        self.units = 0
        self.result = JobResult(skipped=list(plan.skipped))
        self.pending: deque[tuple[_Input, Item]] = deque()
        self.limit = 0
        self.open_files: list[AtomicFile] = []
        self.reject_file: AtomicFile | None = None
        self.shared: _Sink | None = None

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
        reader = open_reader_for(task.input)
        with contextlib.closing(reader.stream):
            shape, units = read_units(reader.stream, source, self.settings, payloads_only=task.discovered)
            if shape is None:
                why = ("empty, and its name does not say it holds payloads" if reader.source.position == 0 else
                       "it does not start with a JSON object or array")
                self.result.skipped.append(Skipped(task.input, f"not a payload file ({why})"))
                self.result.files.append(FileReport(task.input, task.output, "skipped: not a payload file"))
                return
            self._check_shape(shape, task, source)
            entry = _Input(task, reader, self._sink(task, reader), FileReport(task.input, task.output, "converted"),
                           started)
            for unit in units:
                self.pending.append((entry, self._submit(unit)))
                if self.progress:
                    self.progress.read(reader.source.position)
                self._drain(self.limit)
            entry.report.bytes_in = reader.source.position
        self.pending.append((entry, None))
        self._drain(self.limit)

    def _check_shape(self, shape: Shape, task: Task, source: str) -> None:
        if self.plan.output is not None and len(self.plan.tasks) > 1 and shape is Shape.ARRAY:
            raise UsageError(f"{source} is a JSON array: several inputs can only be joined into one output as "
                             "NDJSON; convert it on its own, or give -o DIR")
        if self.settings.pretty and shape is Shape.NDJSON:
            self.warn(f"{source}: --pretty has no effect on NDJSON input (one record per line)")

    def start_pool(self) -> None:
        """Start the worker processes (in the background: the first task is a no-op)."""
        if self.executor is None and self.options.jobs > 1:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["migrate1to2.streams"])
            self.executor = ProcessPoolExecutor(max_workers=self.options.jobs, mp_context=context)
            self.executor.submit(int)
            self.limit = 2 * self.options.jobs + 2

    def _submit(self, unit: Work | Reject) -> Item:
        if isinstance(unit, Reject):
            return rejected(unit, self.settings)
        self.units += 1
        if self.units == 2:
            self.start_pool()
        if self.executor is None:
            return do_work(unit, self.settings)
        return self.executor.submit(do_work, unit, self.settings)

    def _sink(self, task: Task, reader: Reader) -> _Sink:
        if task.output is None:
            assert self.shared is not None
            return self.shared
        codec = task.codec if task.codec is not None else reader.codec
        if not self.options.in_place:
            try:
                Path(task.output).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise InputError(f"cannot write {task.output}: {(error.strerror or str(error)).lower()}") from None
        own = AtomicFile(task.output, codec, backup=self.options.backup if self.options.in_place else None,
                         threaded=is_large(task.input))
        self.open_files.append(own)
        return _Sink(own.write, own)

    # --- writing, in input order --------------------------------------------------------------

    def _drain(self, keep: int) -> None:
        while len(self.pending) > keep:
            entry, item = self.pending.popleft()
            if item is None:
                self._finish(entry)
            else:
                self._write(entry, item.result() if isinstance(item, Future) else item)

    def _write(self, entry: _Input, converted: Converted) -> None:
        entry.sink.write(converted.output)
        entry.report.counts.add(converted.counts)
        self.result.counts.add(converted.counts)
        if self.reject_file is not None:
            for reject in converted.rejects:
                self.reject_file.write(reject.to_json() + b"\n")
        if self.progress:
            self.progress.records_done(converted.counts.records)
        if converted.stopped:
            entry.report.status = "stopped"
            self.result.files.append(entry.report)
            self.result.stopped_at = converted.rejects[-1]
            raise _Stopped

    def _finish(self, entry: _Input) -> None:
        report = entry.report
        own = entry.sink.own
        if own is not None:
            counts = report.counts
            if self.options.in_place and counts.converted == 0 and counts.records == counts.unchanged:
                own.discard()  # nothing to change: the file is left exactly as it was
                report.status = "unchanged"
            else:
                own.commit()
                report.bytes_out = own.size
            self.open_files.remove(own)
        report.seconds = time.monotonic() - entry.started
        self.result.files.append(report)
        if self.progress:
            self.progress.file_done(report.bytes_in)

    def discard_all(self) -> None:
        for own in self.open_files:
            own.discard()
        self.open_files.clear()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


def _total_bytes(plan: Plan) -> int | None:
    try:
        return sum(os.path.getsize(task.input) for task in plan.tasks)
    except OSError:
        return None  # stdin, or a file gone since planning


def run_job(plan: Plan, options: Options, *, warn: Callable[[str], object] = print,
            show_progress: bool = False) -> JobResult:
    """Convert every task of ``plan``; see the module docstring."""
    total = _total_bytes(plan)
    progress = Progress(total) if show_progress else None
    runner = _Runner(plan, options, warn, progress)
    stdout: BinaryIO | None = None
    started = time.monotonic()
    try:
        if total is None or total > POOL_BYTES:
            runner.start_pool()  # while the first input is being opened
        if options.rejects is not None:
            runner.reject_file = AtomicFile(options.rejects)
            runner.open_files.append(runner.reject_file)
        if plan.output == STDIO:
            stdout = open_stdout(options.compress or Codec.NONE)
            runner.shared = _Sink(stdout.write, None)
        elif plan.output is not None:
            shared = AtomicFile(plan.output, options.compress)
            runner.open_files.append(shared)
            runner.shared = _Sink(shared.write, None)  # committed at the end, with the rejects file
        runner.run()
        if stdout is not None:
            stdout.flush()
            if stdout is not sys.stdout.buffer:
                stdout.close()  # finishes the compressed format
        for own in list(runner.open_files):
            own.commit()
        runner.open_files.clear()
    except _Stopped:
        runner.discard_all()
    except BaseException:
        runner.discard_all()
        raise
    finally:
        runner.close()
        if progress:
            progress.clear()
    if options.stats is not None:
        _write_stats(options.stats, runner.result, time.monotonic() - started)
    return runner.result


def _write_stats(path: str, result: JobResult, seconds: float) -> None:
    counts = result.counts
    report = {
        "files": [file.to_dict() for file in result.files],
        "total": {"files": len(result.files), "records": counts.records, "converted": counts.converted,
                  "unchanged": counts.unchanged, "rejected": counts.rejected,
                  "bytes_in": sum(file.bytes_in for file in result.files),
                  "bytes_out": sum(file.bytes_out for file in result.files),
                  "seconds": round(seconds, 6)},
        "skipped": [{"path": skipped.path, "reason": skipped.reason} for skipped in result.skipped],
    }
    with AtomicFile(path, Codec.NONE) as out:
        out.write(msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n")

