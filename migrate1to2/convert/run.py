"""Running a job: the plan's inputs converted in order, in this process or spread over several.

The main process reads every input (decompressing in a background thread) and cuts it into
units of work (:mod:`.read`); the :class:`~.pool.OrderedPool` converts them, here or in its
workers, and gives the results back in input order, so the output is the same whatever the number
of jobs; :class:`~.outputs.Outputs` writes them (compressing in a background thread). Every output
file appears atomically; a run that stops (at a bad record, an unreadable input, or an interrupt)
leaves the files already finished and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import BinaryIO

import msgspec

from ..errors import InputError, MigrateError
from ..storage.compression import Codec, Reader
from ..storage.files import (
    STDIO,
    AtomicOutput,
    display_name,
    exists,
    input_size,
    open_atomic,
    open_reader_for,
    pause_point,
)
from ..storage.plan import Plan, Skipped, Task
from .job import FileReport, JobResult, Options, Status
from .outputs import Outputs, Sink, remove_leftovers
from .pool import OrderedPool, Region, regions, renumbered
from .progress import Progress
from .read import CHUNK_BYTES, NotPayloads, read_units, rejected
from .records import BOM, Converted, Reject, Settings, Shape

__all__ = ["FileReport", "JobResult", "Options", "Prepared", "Status", "prepare_output", "run_job"]

#: Jobs reading more than this (or reading stdin) use a pool of workers when ``jobs > 1``;
#: smaller ones are converted faster than a pool of processes would start.
POOL_BYTES = 8 << 20


def run_job(plan: Plan, options: Options, *, warn: Callable[[str], object] = print,
            show_progress: bool = False, note: Callable[[str], object] | None = None) -> JobResult:
    """Convert every task of ``plan``; see the module docstring.

    First the temporary files that killed runs left beside this job's outputs are removed, each
    named through ``note`` (default: ``warn``).
    """
    remove_leftovers(plan, options, note or warn, time.time())
    total = _total_bytes(plan)
    progress = Progress(total) if show_progress else None
    runner = _Runner(plan, options, warn, progress)
    started = time.monotonic()
    stats: AtomicOutput | None = None
    try:
        runner.start(total)
        runner.outputs.open()
        # Opened now: an unwritable path fails before the work, not after.
        stats = open_atomic(options.stats, Codec.NONE, sync=options.fsync) if options.stats is not None else None
        runner.run()
        runner.outputs.commit()
    except _Stopped:
        runner.outputs.discard()
    except BaseException:
        runner.outputs.keep_finished_rejects()
        runner.outputs.discard()
        if stats is not None:
            stats.discard()
        raise
    finally:
        runner.pool.close()
        if progress:
            progress.clear()
    if stats is not None:
        try:
            stats.write(msgspec.json.format(msgspec.json.encode(runner.result.stats(time.monotonic() - started)),
                                            indent=2) + b"\n")
            stats.commit()
        except BaseException:
            stats.discard()
            raise
    return runner.result


@dataclass
class Prepared:
    """One input converted by :func:`prepare_output`: its output finished but not in place yet."""

    task: Task
    result: JobResult
    #: Its rejects, in order (as the rejects file would have them).
    rejects: list[Reject]
    #: The finished output under its temporary name, or for an object in a store its own name (it is
    #: there already: an object appears whole); ``None``: skipped, stopped or failed.
    temporary: str | None
    warnings: list[str]


def prepare_output(task: Task, settings: Settings, *, fsync: bool = True) -> Prepared:
    """Convert one input exactly as :func:`run_job` does, with its output finished under a temporary
    name of its own (beside the output, locked until finished) and its rejects given back as data.

    For runs that spread the inputs over other processes or machines (``migrate1to2.spark``): the
    process that planned the job puts each output in place (:func:`~migrate1to2.storage.files.rename_into_place`)
    after writing its rejects, so an attempt that fails or is run twice leaves no trace in the results.
    An error reading or writing this input (:class:`MigrateError`) is given back in ``result.failed``.
    """
    warnings: list[str] = []
    options = Options(settings, jobs=1, fsync=fsync)
    runner = _Runner(Plan(tasks=[task]), options, warnings.append, None, deferred=True)
    try:
        try:
            runner.outputs.open()
            runner.run()
        except _Stopped:
            runner.outputs.discard()
        except BaseException:
            runner.outputs.discard()
            for temporary in runner.outputs.finished:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            raise
        finally:
            runner.pool.close()
    except MigrateError as error:
        result = JobResult(skipped=runner.result.skipped, failed=[Skipped(task.input, str(error))])
        return Prepared(task, result, [], None, warnings)
    outputs = runner.outputs
    return Prepared(task, runner.result, outputs.collected, outputs.finished[0] if outputs.finished else None,
                    warnings)


class _Stopped(Exception):
    """Unwinds the job at the first reject."""


@dataclass
class _Input:
    """An input being converted."""

    task: Task
    reader: Reader
    sink: Sink
    report: FileReport
    started: float
    #: The number of the line the next unit of this input starts on.
    line_base: int = 1


class _Runner:
    """Reads each input into the pool, and writes what comes out of it, in order."""

    def __init__(self, plan: Plan, options: Options, warn: Callable[[str], object],
                 progress: Progress | None, *, deferred: bool = False) -> None:
        self.plan = plan
        self.options = options
        # Several inputs joined into one output make NDJSON: arrays among them give their elements as lines.
        joined = plan.output is not None and len(plan.tasks) > 1
        self.settings = replace(options.settings, arrays_as_lines=True) if joined else options.settings
        self.warn = warn
        self.progress = progress
        self.pool: OrderedPool[_Input] = OrderedPool(options.jobs, self.settings)
        self.outputs = Outputs(plan, options, deferred=deferred)
        self.result = JobResult(skipped=list(plan.skipped), failed=list(plan.failed))
        #: What was read of stdin to tell whether it is large (given back to its reader).
        self.stdin_head = b""
        #: Stdin is a pipe or socket, read as its data arrives (see :mod:`migrate1to2.storage.flowing`).
        self.stdin_flows = False

    def start(self, total: int | None) -> None:
        """Start the pool's workers if the job is large enough (reading ahead on stdin to tell)."""
        if any(task.input == STDIO for task in self.plan.tasks):
            from ..storage.flowing import stdin_pipe

            fd = stdin_pipe()
            self.stdin_flows = fd is not None
            if fd is not None and self.options.jobs > 1:
                from ..storage.flowing import read_ahead

                # A stream that stalls before POOL_BYTES is not held for them; a pool of threads can still
                # start later if it grows large (see _read).
                self.stdin_head = read_ahead(fd, POOL_BYTES + 1)
                total = (total or 0) + len(self.stdin_head)
            elif self.options.jobs > 1:
                self.stdin_head = _read_ahead(sys.stdin.buffer, POOL_BYTES + 1)
                total = (total or 0) + len(self.stdin_head)
        if total is not None and total > POOL_BYTES:
            self.pool.start()

    def run(self) -> None:
        for task in self.plan.tasks:
            if self.options.skip_existing and task.output not in (None, STDIO) and exists(str(task.output)):
                self.result.files.append(FileReport(task.input, task.output, Status.SKIPPED_EXISTING))
                continue
            self._read(task)
        self._drain(0)

    # --- reading ------------------------------------------------------------------------------

    def _read(self, task: Task) -> None:
        source = display_name(task.input)
        started = time.monotonic()
        reader = self._open(task)
        pool = self.pool
        with contextlib.closing(reader.stream):
            try:
                shape, units = read_units(reader.stream, source, self.settings, payloads_only=task.discovered,
                                          count_lines=False)
            except NotPayloads as skip:
                self.result.skipped.append(Skipped(task.input, f"not a payload file ({skip.reason})"))
                self.result.files.append(FileReport(task.input, task.output, Status.SKIPPED_NOT_PAYLOADS))
                return
            if self.settings.pretty and shape is Shape.NDJSON:
                self.warn(f"{source}: --pretty has no effect on NDJSON input (one record per line)")
            array = shape is Shape.ARRAY and not self.settings.arrays_as_lines
            sink = self.outputs.sink(task, reader, array=array, pretty=self.settings.pretty)
            entry = _Input(task, reader, sink, FileReport(task.input, task.output, Status.CONVERTED), started)
            if shape is Shape.NDJSON and _plain_file(task.input, reader):
                self._put_regions(entry, source)
            else:
                for unit in units:
                    if self.progress:
                        self.progress.read(reader.source.position)
                    if not pool.started and self.stdin_flows and reader.source.position > POOL_BYTES:
                        pool.start(later=True)  # a stream that stalled at first, then grew large
                    if isinstance(unit, Reject):  # array elements carry their own line numbers
                        pool.put_done(entry, rejected(unit, self.settings, lines=0 if shape is Shape.ARRAY else 1))
                    else:
                        pool.put(entry, unit)
                    self._drain(pool.limit)
                entry.report.bytes_in = reader.source.position
        pool.end(entry)
        self._drain(pool.limit)

    def _open(self, task: Task) -> Reader:
        if task.input == STDIO and self.stdin_flows:
            from ..storage.flowing import open_flowing, stdin_pipe

            fd = stdin_pipe()
            assert fd is not None
            return open_flowing(fd, display_name(STDIO), self.stdin_head, self._idle)
        return open_reader_for(task.input, self.stdin_head if task.input == STDIO else b"")

    def _idle(self) -> None:
        """Stdin stalled (see :mod:`migrate1to2.storage.flowing`): write all that is converted and flush
        stdout, so that a stream's records flow through."""
        self._drain(0)
        self.outputs.flush_stdout()

    def _put_regions(self, entry: _Input, source: str) -> None:
        """Read an uncompressed file a region at a time, here or (with workers) in the workers themselves."""
        path = entry.task.input
        size = os.path.getsize(path)
        pause_point("input-size")
        with open(path, "rb") as stream:
            start = len(BOM) if stream.read(len(BOM)) == BOM else 0
        for begin, end in regions(path, start, size, CHUNK_BYTES, source):
            if self.progress:
                self.progress.read(end)
            self.pool.put_region(entry, Region(path, begin, end, source))
            self._drain(self.pool.limit)
        entry.report.bytes_in = size

    # --- writing, in input order --------------------------------------------------------------

    def _drain(self, keep: int) -> None:
        for entry, result in self.pool.ready(keep):
            if result is None:
                self._finish(entry)
            else:  # units number their lines from 1: renumbered from the line this one starts on
                converted = renumbered(result, entry.line_base)
                entry.line_base += converted.lines
                self._write(entry, converted)

    def _write(self, entry: _Input, converted: Converted) -> None:
        entry.sink.write(converted.output)
        entry.report.counts.add(converted.counts)
        self.result.counts.add(converted.counts)
        self.outputs.rejects(converted.rejects)
        if self.progress:
            self.progress.records_done(converted.counts.records)
        pause_point("written")
        if converted.stopped:
            entry.sink.close_array()  # on stdout, what was written stays valid JSON
            entry.report.status = Status.STOPPED
            entry.report.bytes_in = entry.reader.source.position
            self.result.files.append(entry.report)
            self.result.stopped_at = converted.rejects[-1]
            raise _Stopped

    def _finish(self, entry: _Input) -> None:
        self.outputs.finish(entry.sink, display_name(entry.task.input), entry.report)
        entry.report.seconds = time.monotonic() - entry.started
        self.result.files.append(entry.report)
        if self.progress:
            self.progress.file_done(entry.report.bytes_in)


def _plain_file(name: str, reader: Reader) -> bool:
    """An uncompressed regular file: workers can read regions of it themselves."""
    return name != STDIO and reader.codec is Codec.NONE and os.path.isfile(name)


def _total_bytes(plan: Plan) -> int | None:
    try:
        return sum(input_size(task.input) for task in plan.tasks if task.input != STDIO)
    except (OSError, InputError):
        return None  # a file gone since planning


def _read_ahead(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes of a pipe (which may give less per read)."""
    blocks = []
    while size > 0 and (block := stream.read(min(size, 1 << 20))):
        blocks.append(block)
        size -= len(block)
    return b"".join(blocks)
