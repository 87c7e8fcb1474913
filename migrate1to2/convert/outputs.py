"""Where a job's results go: each input's own atomic file, or the job's single output (a file or
stdout), framed as an array where the input is one; the rejects (one file, or the journal of a
run with one output per input); and what killed runs left beside them.

Every file appears atomically (:class:`~migrate1to2.storage.files.AtomicFile`): committed when its
input is finished (or, for the single output and its rejects, at the end of the job), discarded
when the job fails.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError, MigrateError, os_reason
from ..storage.compression import Codec, Reader
from ..storage.files import (
    STDIO,
    AtomicFile,
    AtomicOutput,
    is_large,
    open_atomic,
    open_stdout,
    printable,
    remove_stale_temporaries,
    shielded,
    stdout_error,
)
from ..storage.journal import RejectsJournal
from ..storage.plan import Plan, Task
from ..storage.urls import is_url
from .job import FileReport, Options, Status
from .records import Reject, array_close, array_open, array_separator

__all__ = ["Outputs", "Sink", "remove_leftovers"]


class Sink:
    """Where one input's output goes: its own atomic file (``own``), or the job's single output.

    An array input written as an array (not as lines) gets its brackets and separators here.
    """

    def __init__(self, write: Callable[[bytes], object], own: AtomicOutput | None, *, array: bool = False,
                 pretty: bool = False) -> None:
        self._write = write
        self.own = own
        self.array = array
        self.pretty = pretty
        #: An array: whether an element is written yet (the opening bracket with it).
        self.started = False

    def write(self, output: bytes) -> None:
        if not self.array:
            self._write(output)
        elif output:
            self._write((array_separator(self.pretty) if self.started else array_open(self.pretty)) + output)
            self.started = True

    def close_array(self) -> None:
        """End an array (also when the run stops in it: on stdout, what was written stays valid JSON)."""
        if self.array:
            self._write(array_close(self.pretty, empty=not self.started))


class Outputs:
    """The outputs of one job, opened, committed or discarded together."""

    def __init__(self, plan: Plan, options: Options, *, deferred: bool = False) -> None:
        """``deferred``: each input's output is finished under its temporary name, not renamed (see
        :attr:`finished`), and its rejects are kept in :attr:`collected`: another process puts them in place."""
        self.plan = plan
        self.options = options
        self.deferred = deferred
        #: Deferred: the rejects, in order.
        self.collected: list[Reject] = []
        #: Deferred: the finished outputs, under their temporary names (objects: their own names, already there).
        self.finished: list[str] = []
        self.open_files: list[AtomicOutput] = []
        #: The rejects file of a job with a single output (committed with it).
        self.reject_file: AtomicOutput | None = None
        #: The rejects of a job whose inputs each have their own output, input by input (for a rejects
        #: object in a store too: its journal is then a local file, see :mod:`~..storage.journal`).
        self.journal: RejectsJournal | None = None
        #: The job's single output, if it has one.
        self.shared: Callable[[bytes], object] | None = None
        self.stdout: BinaryIO | None = None

    def open(self) -> None:
        """Open the rejects file and the single output (an unwritable path fails before the work)."""
        options, plan = self.options, self.plan
        # Resuming or rerunning in place: the rejects of earlier runs stay, this run's are added.
        resume = options.skip_existing or options.in_place
        if options.rejects is not None and plan.output is None and not _device(options.rejects):
            self.journal = RejectsJournal(options.rejects, resume=resume, sync=options.fsync)
        elif options.rejects is not None:
            self.reject_file = open_atomic(options.rejects, keep_existing=resume, sync=options.fsync)
            self.open_files.append(self.reject_file)
        if plan.output == STDIO:
            self.stdout = open_stdout(options.compress or Codec.NONE)
            self.shared = _guarded(self.stdout.write)
        elif plan.output is not None:
            # (--skip-existing skips inputs whose own output exists: a single output is replaced, as a local one is)
            shared = open_atomic(plan.output, options.compress, threads=options.jobs, sync=options.fsync)
            self.open_files.append(shared)
            self.shared = shared.write  # committed at the end, with the rejects file

    def sink(self, task: Task, reader: Reader, *, array: bool, pretty: bool) -> Sink:
        """Where ``task``'s output goes: the single output, or a new atomic file of its own."""
        if task.output is None:
            assert self.shared is not None
            return Sink(self.shared, None, array=array, pretty=pretty)
        codec = task.codec if task.codec is not None else reader.codec
        if not self.options.in_place and not is_url(task.output):
            try:
                Path(task.output).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise InputError(f"cannot write {task.output}: {os_reason(error)}") from None
        own = open_atomic(task.output, codec, backup=self.options.backup if self.options.in_place else None,
                          threads=self.options.jobs if is_large(task.input) else 0, sync=self.options.fsync,
                          exclusive=self.options.skip_existing)
        self.open_files.append(own)
        return Sink(own.write, own, array=array, pretty=pretty)

    def rejects(self, rejects: list[Reject]) -> None:
        if self.deferred:
            self.collected.extend(rejects)
            return
        out = self.journal or self.reject_file
        if out is not None and rejects:
            out.write(b"".join(reject.to_json() + b"\n" for reject in rejects))

    def finish(self, sink: Sink, source: str, report: FileReport) -> None:
        """An input is converted: its own file appears (its rejects sealed in the journal just before),
        or, in place with nothing to change, the file is left exactly as it was."""
        sink.close_array()
        own = sink.own
        if own is None:
            return
        counts = report.counts
        if self.deferred:
            if isinstance(own, AtomicFile) and own.temp is not None:
                own.commit(rename=False)
                self.finished.append(str(own.temp))
            else:  # an object in a store: it appears whole (an attempt run twice writes the same bytes)
                own.commit()
                self.finished.append(str(own.target))
            report.bytes_out = own.size
        elif self.options.in_place and counts.converted == 0 and counts.records == counts.unchanged:
            own.discard()
            report.status = Status.UNCHANGED
        else:
            journal, in_place = self.journal, self.options.in_place
            own.commit(None if journal is None else
                       lambda facts: journal.seal(source, str(own.target), facts, in_place=in_place))
            if journal is not None:
                journal.committed()
            report.bytes_out = own.size
        self.open_files.remove(own)

    def flush_stdout(self) -> None:
        """Flush plain stdout (compressed stdout is not: a compressor emits its blocks when it fills them)."""
        if self.stdout is sys.stdout.buffer:
            try:
                self.stdout.flush()
            except OSError as error:
                raise stdout_error(error) from None

    def commit(self) -> None:
        """The job is done: stdout flushed, the single output and the rejects file appear, the journal ends."""
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

    def discard(self) -> None:
        for own in self.open_files:
            own.discard()
        self.open_files.clear()


def remove_leftovers(plan: Plan, options: Options, note: Callable[[str], object], started: float) -> None:
    """Remove what runs that were killed left of this job's outputs (see :func:`remove_stale_temporaries`);
    in object stores, abort the uploads they began before ``started`` (the time this run started)."""
    targets = [str(task.output) for task in plan.tasks if task.output is not None]
    targets += [path for path in (plan.output, options.rejects, options.stats) if path is not None]
    objects = [target for target in targets if is_url(target)]
    if objects:
        from ..storage.objects import abort_stale_uploads

        for url in abort_stale_uploads(objects, started):
            note(f"aborted an unfinished upload to {printable(url)}: left by an interrupted run")
    removed = remove_stale_temporaries(targets)
    for path in removed:
        note(f"removed {printable(path)}: a temporary file left by an interrupted run")
    if removed:  # no longer there to skip
        gone = {Path(path) for path in removed}
        plan.skipped[:] = [skipped for skipped in plan.skipped if Path(os.path.realpath(skipped.path)) not in gone]


def _device(path: str) -> bool:
    """A device or a pipe (``/dev/stderr``): written directly, as it comes (see :class:`AtomicFile`)."""
    return not is_url(path) and os.path.exists(path) and not os.path.isfile(path)


def _guarded(write: Callable[[bytes], object]) -> Callable[[bytes], object]:
    def guarded(data: bytes) -> object:
        try:
            with shielded():
                return write(data)
        except OSError as error:
            raise stdout_error(error) from None

    return guarded
