"""Standard input that flows: a pipe or socket read as its data arrives, so that records flow through.

``producer | migrate1to2 convert | consumer``: the producer (a Kafka console consumer, ``tail -f``,
a socket) may stall for seconds between records. Reading stdin a full chunk at a time would hold
each record until a megabyte had come (or the input ended). Here stdin is read piece by piece
as data arrives (plain input in the converter's thread, with ``poll``; compressed input in a
thread of its own that decompresses it), and :class:`Flowing` hands the converter:

- a full chunk when data flows fast (a file or a fast producer: chunks stay as large as ever);
- what has arrived so far, when nothing more came for :data:`STALL` seconds, or data has waited
  :data:`HOLD` seconds while more trickles in. Before waiting on an empty pipe (and after giving
  such a short piece) it calls ``on_idle``: the job writes what is converted and flushes stdout.

So each record reaches stdout within about ``STALL`` (plus its conversion) of its newline arriving.
Regular files (``< file``) and in-process streams are read as before.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import select
import stat
import sys
import threading
import time
from collections.abc import Callable

from ..errors import InputError, os_reason
from .compression import Codec, Reader, Source, open_piecewise

__all__ = ["HOLD", "STALL", "Flowing", "open_flowing", "read_ahead", "stdin_pipe"]

#: Silence (seconds) after which the input counts as stalled: what came is converted and written.
STALL = 0.01
#: The longest (seconds) data waits to be converted while more trickles in slowly.
HOLD = 0.05
#: The most a piece read holds (decompressed); a pipe gives at most what it holds (64 KiB by default).
_PIECE = 1 << 20
#: Pieces waiting for the converter (bounds memory when the input is faster than the conversion).
_QUEUED = 16


def stdin_pipe() -> int | None:
    """The descriptor of stdin when it may stall (a pipe, a socket, a device), else ``None``
    (a regular file, a stream without a descriptor, or a system without ``poll``: read as before)."""
    if not hasattr(select, "poll"):
        return None
    try:
        fd = sys.stdin.buffer.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    return None if stat.S_ISREG(mode) else fd


def read_ahead(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes of a pipe, as :func:`job._read_ahead` reads, but stopping early when the input
    stalls (it may be a stream that sends a record now and then): ``size`` bytes, the end, or a stall."""
    blocks: list[bytes] = []
    got = 0
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        while got < size:
            if got and not poller.poll(STALL * 1000):
                break  # stalled: the pool decision is made on what came
            block = os.read(fd, min(size - got, _PIECE))
            if not block:
                break
            blocks.append(block)
            got += len(block)
    except OSError as error:
        raise InputError(f"cannot read <stdin>: {os_reason(error)}") from None
    return b"".join(blocks)


def open_flowing(fd: int, source: str, head: bytes, on_idle: Callable[[], object]) -> Reader:
    """Open stdin (descriptor ``fd``, after ``head`` was read from it) as a :class:`Flowing` stream."""
    _widen(fd)
    raw = io.FileIO(fd, "rb", closefd=False)  # unbuffered: each read gives what the pipe holds
    decoded, codec, counted = open_piecewise(raw, source, head)
    # Plain input is read here, in the converter's thread (no thread to hand pieces over: no copy, no
    # switches); compressed input is read and decompressed in a thread of its own, alongside the conversion.
    plain = (fd, counted) if codec is Codec.NONE else None
    return Reader(Flowing(decoded, source, on_idle, plain=plain), codec, counted)  # type: ignore[arg-type]


def _widen(fd: int) -> None:
    """Let a pipe hold up to :data:`_PIECE` bytes (Linux; 64 KiB by default, where a user may raise it to
    1 MiB): a fast producer then hands over larger pieces, a sixteenth as many reads and thread switches."""
    try:
        import fcntl

        if stat.S_ISFIFO(os.fstat(fd).st_mode) and hasattr(fcntl, "F_SETPIPE_SZ"):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIECE)
    except OSError:  # not allowed (above /proc/sys/fs/pipe-max-size): the pipe stays as it is
        pass


class _End:
    """The thread's last item: the input ended, or reading it failed (``error``)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Flowing:
    """A readable stream over ``decoded`` (whose reads give a piece at a time) that never holds data
    back for long; see the module docstring.

    ``read(size)`` gives up to ``size`` bytes, fewer when the input stalls (then ``stalled`` is true),
    and ``b""`` only at the end.
    """

    def __init__(self, decoded: io.RawIOBase, source: str, on_idle: Callable[[], object], *,
                 plain: tuple[int, Source] | None = None) -> None:
        """``plain``: uncompressed input, read in the caller's thread: its descriptor and counted source."""
        self.source = source
        self.on_idle = on_idle
        #: The last read gave less than asked because the input stalled (it has not ended).
        self.stalled = False
        self._decoded = decoded
        self._queue: queue.Queue[bytes | _End] = queue.Queue(_QUEUED)
        self._rest = memoryview(b"")  # the unread part of the last piece
        self._ended = False
        self._closing = False
        self._plain = plain
        if plain is not None:
            self._poller = select.poll()
            self._poller.register(plain[0], select.POLLIN)
            return
        self._thread = threading.Thread(target=self._pump, name="migrate1to2-stdin", daemon=True)
        self._thread.start()

    # --- the reading thread ---------------------------------------------------------------------

    def _pump(self) -> None:
        item: bytes | _End
        buffer = memoryview(bytearray(_PIECE))  # reused: each piece is copied out at its size
        while not self._closing:
            try:
                size = self._decoded.readinto(buffer)
                item = bytes(buffer[:size]) if size else _End()
            except InputError as error:
                item = _End(error)
            except OSError as error:
                item = _End(InputError(f"cannot read {self.source}: {os_reason(error)}"))
            except BaseException as error:  # handed to the main thread, which raises it
                item = _End(error)
            while not self._closing:
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, _End):
                return

    # --- the converter's side -------------------------------------------------------------------

    def _next(self, timeout: float | None) -> memoryview | None:
        """The next piece; ``None`` if none came within ``timeout`` or the input ended."""
        if self._ended:
            return None
        if self._plain is not None:
            return self._read_plain(timeout)
        try:
            item = self._queue.get(timeout=timeout) if timeout is None or timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None
        if isinstance(item, _End):
            self._ended = True
            if item.error is not None:
                raise item.error
            return None
        return memoryview(item)

    def _read_plain(self, timeout: float | None) -> memoryview | None:
        """What the pipe holds (up to a piece), waiting at most ``timeout`` for it (``None``: as long as it takes)."""
        assert self._plain is not None
        fd, counted = self._plain
        try:
            if counted.buffered:  # the bytes read ahead, put back in front
                return memoryview(counted.read(counted.buffered))
            if timeout is not None and not self._poller.poll(timeout * 1000):
                return None
            piece = os.read(fd, _PIECE)
        except OSError as error:
            raise InputError(f"cannot read {self.source}: {os_reason(error)}") from None
        counted.position += len(piece)
        if not piece:
            self._ended = True
            return None
        return memoryview(piece)

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = 1 << 62
        if self.stalled:  # what the last read gave is converted by now: let it out
            self.on_idle()
        parts: list[memoryview] = []
        got = 0
        piece = self._rest if self._rest else self._next(0)
        if piece is None and not self._ended:
            self.on_idle()  # nothing to do until more comes: write and flush what is converted
            piece = self._next(None)
        deadline = time.monotonic() + HOLD
        while piece is not None:
            take = min(len(piece), size - got)
            parts.append(piece[:take])
            self._rest = piece[take:]
            got += take
            if got >= size:
                break
            wait = min(STALL, deadline - time.monotonic())
            piece = self._next(wait) if wait > 0 else None
        self.stalled = got < size and not self._ended
        whole = parts[0].obj if len(parts) == 1 else None
        if isinstance(whole, bytes) and len(whole) == got:
            return whole  # a whole piece: no copy
        return b"".join(parts)

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(Exception):
            self._decoded.close()
