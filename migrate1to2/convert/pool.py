"""The ordered pool (:class:`OrderedPool`): units of work converted here, by threads or by processes,
their results given back in the order the units came.

With threads, ``--jobs N`` means N threads converting, and the main thread is one of them
(:class:`_Threads`): while the result it must write next is not ready, it converts a unit that
no worker has taken yet. So N jobs keep N cores busy with no thread more than the cores (a
third thread, on two cores, would take turns with the two that convert and hand the GIL back
and forth for nothing).

Work for a pool of processes has its bytes moving through files rather than pipes.

Sending a megabyte through a pipe to a worker and back costs the main process about as
much as converting it, so with ``--jobs N`` the data goes through files instead:

- a :class:`Region` of an uncompressed input file is read by the worker itself;
- otherwise (compressed input, stdin) the main process writes the decompressed chunk to a
  :class:`Spooled` file in a spool directory (in RAM when ``/dev/shm`` exists);
- the worker writes its output to a spool file too, and the main process copies it into
  place, in input order.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, TypeVar

from ..accelerator import COMPILED
from ..errors import InputError, os_reason
from .read import Work, do_work, ndjson_units, rejected
from .records import Converted, Reject, Settings, Shape

__all__ = ["THREADS", "OrderedPool", "Region", "Spooled", "convert_region", "regions", "renumbered", "run_task",
           "spool_directory", "unspool"]

#: With ``jobs > 1``: a pool of threads (where the compiled converter lets go of the GIL), else of processes.
THREADS = COMPILED

#: Where spool files go: RAM-backed when possible.
_SHM = "/dev/shm"


@dataclass(frozen=True)
class Region:
    """Whole NDJSON lines of an uncompressed file: bytes ``start`` to ``end``; lines numbered from 1 within."""

    path: str
    start: int
    end: int
    source: str


@dataclass(frozen=True)
class Spooled:
    """A unit of work whose bytes wait in a spool file (its lines numbered from ``first_line``)."""

    path: str
    first_line: int
    shape: Shape
    source: str


def spool_directory() -> str:
    """A new private directory for spool files; the caller removes it."""
    parent = _SHM if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK) else None
    return tempfile.mkdtemp(prefix="migrate1to2-", dir=parent)


def regions(path: str, start: int, size: int, chunk_bytes: int, source: str | None = None) -> Iterator[tuple[int, int]]:
    """Cut ``path`` from ``start`` into spans of about ``chunk_bytes`` that end just after a newline.

    Only small windows around the cuts are read, so a line of any length costs no memory.
    :class:`InputError` if the file is shorter than ``size`` (it shrank since its size was taken).
    """
    with open(path, "rb") as stream:
        position = start
        while position < size:
            cut = position + chunk_bytes
            while cut < size:
                stream.seek(cut)
                window = stream.read(1 << 16)
                if not window:
                    raise shrank(source or path, size)
                newline = window.find(b"\n")
                if newline >= 0:
                    cut += newline + 1
                    break
                cut += len(window)
            end = min(cut, size)
            yield position, end
            position = end


def shrank(source: str, size: int) -> InputError:
    """The error for a file found shorter than the ``size`` it had when its reading started."""
    return InputError(f"cannot read {source}: the file shrank while being read (it had {size} bytes); something "
                      "is writing to it (a log rotation, a truncating writer): convert a copy, or wait until it is "
                      "complete")


class _Window(io.RawIOBase):
    """``length`` bytes of ``stream`` from its current position."""

    def __init__(self, stream: BinaryIO, length: int) -> None:
        self._stream = stream
        self.left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self.left)
        if size <= 0:
            return 0
        got = self._stream.readinto(buffer[:size])  # type: ignore[attr-defined]
        self.left -= got
        return int(got)


def run_task(task: Region | Spooled, settings: Settings, spool: str) -> tuple[Converted, str]:
    """Convert one task in a worker; the output goes to a spool file, named beside the result."""
    if isinstance(task, Spooled):
        with open(task.path, "rb") as stream:
            data = stream.read()
        os.unlink(task.path)
        result = do_work(Work(data, task.first_line, task.shape, task.source), settings)
    else:
        result = convert_region(task, settings)
    fd, name = tempfile.mkstemp(dir=spool, suffix=".out")
    with os.fdopen(fd, "wb") as out:
        out.write(result.output)
    return replace(result, output=b""), name


def convert_region(region: Region, settings: Settings) -> Converted:
    """Read and convert a region of a file (in a worker process or thread, or in the main one).

    :class:`InputError` if the file cannot be read.
    """
    length = region.end - region.start
    try:
        with open(region.path, "rb") as stream:
            stream.seek(region.start)
            if length > settings.max_record_bytes:
                return _convert_window(stream, length, region, settings)
            data = stream.read(length)
    except OSError as error:
        raise InputError(f"cannot read {region.source}: {os_reason(error)}") from None
    if len(data) < length:
        raise shrank(region.source, region.end)
    return do_work(Work(data, 1, Shape.NDJSON, region.source), settings)


def _convert_window(stream: BinaryIO, length: int, region: Region, settings: Settings) -> Converted:
    """A region holding a giant line: streamed, so that the line is rejected unread."""
    total = Converted()
    lines = 0
    outputs: list[bytes] = []
    raw = _Window(stream, length)
    window = io.BufferedReader(raw, buffer_size=1 << 20)
    for unit in ndjson_units(window, b"", region.source, limit=settings.max_record_bytes):
        part = rejected(unit, settings) if isinstance(unit, Reject) else do_work(unit, settings)
        lines += part.lines
        outputs.append(part.output)
        total.counts.add(part.counts)
        total.rejects.extend(part.rejects)
        if part.stopped:
            total.stopped = True
            break
    else:
        if raw.left:
            raise shrank(region.source, region.end)
    total.output = b"".join(outputs)
    total.lines = lines
    return total


def unspool(result: Converted | tuple[Converted, str]) -> Converted:
    """In the main process: a result, with the output of a worker that spooled it (its spool file removed)."""
    if isinstance(result, Converted):
        return result
    converted, spooled = result
    with open(spooled, "rb") as stream:
        output = stream.read()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(spooled)
    return replace(converted, output=output)


def renumbered(result: Converted, line_base: int) -> Converted:
    """A unit's result (lines numbered from 1) with its rejects' lines counted from ``line_base``."""
    if line_base == 1 or not result.rejects:
        return result
    return replace(result, rejects=[replace(reject, line=reject.line + line_base - 1) for reject in result.rejects])


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C is the main process's to handle (it stops the pool); SIGTERM ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _Unit:
    """A unit of work for :class:`_Threads`: run once, by a worker or by the main thread, whichever takes it first."""

    __slots__ = ("_args", "_done", "_error", "_function", "_result", "_taken")

    def __init__(self, function: Callable[..., Converted], args: tuple[Any, ...]) -> None:
        self._function = function
        self._args = args
        self._taken = threading.Lock()
        self._done = threading.Event()
        self._result: Converted | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        """Run it, unless another thread has (a unit sits in the queue after the main thread took it)."""
        if not self._taken.acquire(blocking=False):
            return
        try:
            args, self._args = self._args, ()  # its input goes once it is converted
            self._result = self._function(*args)
        except Exception as error:  # given to the main thread by result()
            self._error = error
        except BaseException as error:  # Ctrl-C in the main thread: it goes on at once
            self._error = error
            raise
        finally:
            self._done.set()

    def taken(self) -> bool:
        """Whether a thread runs it, or has."""
        return self._taken.locked()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> Converted:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


class _Threads:
    """``jobs - 1`` worker threads, and the main thread converting too while it waits (see the module docstring)."""

    def __init__(self, jobs: int) -> None:
        self._queue: SimpleQueue[_Unit | None] = SimpleQueue()
        #: The units not taken yet, oldest first: the main thread takes them from here.
        self._waiting: deque[_Unit] = deque()
        self._stopping = False
        self._threads = [threading.Thread(target=self._work, name=f"migrate1to2-{index}", daemon=True)
                         for index in range(jobs - 1)]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while (unit := self._queue.get()) is not None:
            if not self._stopping:
                unit.run()
            del unit  # (not kept, with its result, while waiting for the next)

    def submit(self, function: Callable[..., Converted], *args: Any) -> _Unit:
        unit = _Unit(function, args)
        self._forget_taken()
        self._waiting.append(unit)
        self._queue.put(unit)
        return unit

    def wait(self, unit: _Unit) -> Converted:
        """``unit``'s result, converting units no worker has taken yet until it is ready."""
        waiting = self._waiting
        while not unit.done():
            self._forget_taken()
            if not waiting:
                break
            waiting.popleft().run()  # a unit a worker took meanwhile is not run twice (see _Unit.run)
        self._forget_taken()  # (so that no result is kept here once given back)
        return unit.result()

    def _forget_taken(self) -> None:
        """Drop the units workers have taken from the front of those waiting (their results are not kept here)."""
        waiting = self._waiting
        while waiting and waiting[0].taken():
            waiting.popleft()

    def shutdown(self) -> None:
        """Stop the workers once their current unit is done (the units not started are dropped)."""
        self._stopping = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()


if TYPE_CHECKING:  # the executors are imported when a job needs workers
    from concurrent.futures import Executor, Future

    #: A result to come: converted here, by a thread, or by a process (with the spool file of its output);
    #: None: the end of a tag's units.
    Item = _Unit | Future[Converted] | Future[tuple[Converted, str]] | Converted | None

Tag = TypeVar("Tag")


class OrderedPool(Generic[Tag]):
    """Units of work converted, and their results given back, in the order they were put.

    Until :meth:`start` (one job, or a job too small to be worth workers), each unit is converted
    as it is put. Started, it converts with ``jobs`` threads where the compiled converter lets go
    of the GIL (:data:`THREADS`; the main thread is one of them), else with ``jobs`` forked
    processes, whose data goes through spool files rather than pipes (see the module docstring).
    Each unit is put with a ``tag`` (the input it belongs to), given back with its result by :meth:`ready`.
    """

    def __init__(self, jobs: int, settings: Settings) -> None:
        self.jobs = jobs
        self.settings = settings
        self.threads: _Threads | None = None
        self.executor: Executor | None = None
        #: Where the workers' input and output wait (processes only; a directory of its own, removed at the end).
        self.spool: str | None = None
        #: How many results may wait for their turn (none until the workers start).
        self.limit = 0
        self._pending: deque[tuple[Tag, Item]] = deque()

    @property
    def started(self) -> bool:
        return self.threads is not None or self.executor is not None

    def start(self, *, later: bool = False) -> None:
        """Start the workers (threads, or processes), before any input is opened.

        Processes are forked (instant: they share what this process has imported) while this
        process has no other thread: every worker is started here, at once, and none later.
        Threads may start ``later`` (stdin that proved large after the start).
        """
        if self.started or self.jobs < 2 or (later and not THREADS):
            return
        if THREADS:
            self.threads = _Threads(self.jobs)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("fork")
            self.spool = spool_directory()
            self.executor = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                                initializer=_ignore_interrupts)
            for _ in range(self.jobs):  # each submit forks a worker while none is idle
                self.executor.submit(time.sleep, 0.01)
        self.limit = 2 * self.jobs + 2

    def put(self, tag: Tag, unit: Work) -> None:
        """Convert a unit of work (here, or in a worker)."""
        if self.threads is not None:
            item: Item = self.threads.submit(do_work, unit, self.settings)
        elif self.executor is None:
            item = do_work(unit, self.settings)
        elif unit.shape is Shape.ARRAY:  # array elements travel pickled
            item = self.executor.submit(do_work, unit, self.settings)
        else:
            assert self.spool is not None  # processes
            try:
                fd, name = tempfile.mkstemp(dir=self.spool, suffix=".in")
                with os.fdopen(fd, "wb") as spooled:
                    spooled.write(unit.data)
            except OSError as error:
                raise self._spool_error(error) from None
            item = self.executor.submit(run_task, Spooled(name, unit.first_line, unit.shape, unit.source),
                                        self.settings, self.spool)
        self._pending.append((tag, item))

    def put_region(self, tag: Tag, region: Region) -> None:
        """Convert a region of a plain file, read by whoever converts it (without workers: no copy into chunks)."""
        if self.threads is not None:
            item: Item = self.threads.submit(convert_region, region, self.settings)
        elif self.executor is None:
            item = convert_region(region, self.settings)
        else:
            assert self.spool is not None  # processes
            item = self.executor.submit(run_task, region, self.settings, self.spool)
        self._pending.append((tag, item))

    def put_done(self, tag: Tag, converted: Converted) -> None:
        """A result already known (a record the reader rejected), given back in its turn."""
        self._pending.append((tag, converted))

    def end(self, tag: Tag) -> None:
        """Mark the end of ``tag``'s units: :meth:`ready` gives ``(tag, None)`` in its turn."""
        self._pending.append((tag, None))

    def ready(self, keep: int) -> Iterator[tuple[Tag, Converted | None]]:
        """The results in the order they were put, until ``keep`` are left waiting (waiting for each in turn)."""
        while len(self._pending) > keep:
            tag, item = self._pending.popleft()
            if item is None:
                yield tag, None
                continue
            try:
                if isinstance(item, _Unit):
                    assert self.threads is not None
                    converted = self.threads.wait(item)
                else:
                    converted = unspool(item if isinstance(item, Converted) else item.result())
            except OSError as error:  # a worker or this process could not use the spool directory
                raise self._spool_error(error) from None
            yield tag, converted

    def _spool_error(self, error: OSError) -> InputError:
        return InputError(f"cannot use the spool directory {self.spool}: {os_reason(error)} "
                          "(free space there, or convert with --jobs 1)")

    def close(self) -> None:
        """Stop the workers (cancelling what waits) and remove the spool directory."""
        if self.threads is not None:
            self.threads.shutdown()
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
        if self.spool is not None:
            shutil.rmtree(self.spool, ignore_errors=True)
