"""Work for a pool of processes, with the bytes moving through files rather than pipes.

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
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO

from ..errors import InputError, os_reason
from .read import Work, do_work, ndjson_units, rejected
from .records import Converted, Reject, Settings, Shape

__all__ = ["Region", "Spooled", "convert_region", "regions", "run_task", "spool_directory", "take"]

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


def run_task(task: Region | Spooled, settings: Settings, spool: str) -> Converted:
    """Convert one task in a worker; the output goes to a spool file named in the result."""
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
    return replace(result, output=b"", spooled=name)


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


def take(result: Converted, line_base: int) -> Converted:
    """In the main process: read a worker's spooled output (and number a region's lines from ``line_base``)."""
    output = result.output
    if result.spooled is not None:
        with open(result.spooled, "rb") as stream:
            output = stream.read()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(result.spooled)
    rejects = result.rejects
    if line_base != 1:
        rejects = [replace(reject, line=reject.line + line_base - 1) for reject in rejects]
    return replace(result, output=output, rejects=rejects, spooled=None)
