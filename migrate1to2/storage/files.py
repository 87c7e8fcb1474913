"""Files: opening inputs, and outputs that appear atomically (temp file + rename)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol

from ..errors import InputError, os_reason
from .compression import Codec, Reader, codec_for_name, open_reader, open_writer
from .urls import is_url, mask

__all__ = [
    "STDIO",
    "STDOUT_CLOSED",
    "TEMPORARY",
    "AtomicFile",
    "AtomicOutput",
    "OutputClosed",
    "display_name",
    "exists",
    "input_size",
    "interrupt",
    "is_large",
    "open_atomic",
    "open_input",
    "open_raw",
    "open_reader_for",
    "open_stdout",
    "pause_point",
    "printable",
    "remove_stale_temporaries",
    "rename_into_place",
    "shielded",
    "stdout_error",
]

#: The name that means standard input (or output).
STDIO = "-"

#: Test hook (see :func:`pause_point`): ``NAME`` or ``NAME#N``.
_PAUSE = os.environ.get("MIGRATE1TO2_TEST_PAUSE")
_paused: dict[str, int] = {}


def pause_point(name: str) -> None:
    """A named moment of the I/O layer where the crash tests stop the process to kill it (or change its files).

    Only when the environment variable ``MIGRATE1TO2_TEST_PAUSE`` is ``NAME`` (or ``NAME#N``): the first
    (or ``N``-th) time the process reaches the point ``NAME``, it stops itself with ``SIGSTOP``; the test
    sees it stop (``waitpid`` with ``WUNTRACED``), acts, and continues it with ``SIGCONT`` or kills it.
    Points: ``input-size`` (the size of a plain input taken, before its regions are read), ``written``
    (a unit of output written), ``rename`` (an output complete, just before it is renamed into place,
    after the backup link of ``--in-place``), ``committed`` (an output renamed into place); for objects in
    a store, ``uploaded`` (a part of an object uploaded, the object not made yet), and ``rename`` and
    ``committed`` around the completion of the upload.
    """
    if _PAUSE is None:
        return
    wanted, _, count = _PAUSE.partition("#")
    if name == wanted:
        _paused[name] = _paused.get(name, 0) + 1
        if _paused[name] == int(count or 1):
            os.kill(os.getpid(), signal.SIGSTOP)


def display_name(name: str) -> str:
    """How a source is named in messages and reports: ``<stdin>`` for ``-``; bytes of a file name
    that are not UTF-8 are shown as ``\\xNN``."""
    if name == STDIO:
        return "<stdin>"
    return printable(mask(name))


def printable(name: str) -> str:
    """A file name as text that can be written anywhere (undecodable bytes as ``\\xNN``; a URL's query
    string and credentials masked)."""
    name = mask(name)
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class OutputClosed(InputError):
    """Standard output was closed by its reader (``| head``)."""


def open_raw(name: str) -> BinaryIO:
    """Open an input's bytes as stored (``-`` is stdin); :class:`InputError` if it cannot be read."""
    if name == STDIO:
        return sys.stdin.buffer
    if is_url(name):
        from .objects import open_object

        return open_object(name)
    try:
        if Path(name).is_dir():
            raise InputError(f"cannot read {name}: it is a directory")
        return open(name, "rb")
    except OSError as error:
        raise InputError(f"cannot read {name}: {os_reason(error)}") from None


_shield_depth = 0
_deferred: BaseException | None = None


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """While writing or finishing an output: an interrupt given to :func:`interrupt` waits until the end.

    A compressor's background threads would hang on a write cut in half (the threaded gzip writer
    numbers its blocks), and a file being renamed is better renamed. Main thread only.
    """
    global _shield_depth, _deferred  # noqa: PLW0603 - the state of this process's signal handling
    _shield_depth += 1
    try:
        yield
    finally:
        _shield_depth -= 1
        if not _shield_depth and _deferred is not None:  # it wins over an error on the way out
            error, _deferred = _deferred, None
            raise error


def interrupt(error: BaseException) -> None:
    """For a signal handler: raise ``error`` now, or at the end of the :func:`shielded` block it came in."""
    global _deferred  # noqa: PLW0603
    if not _shield_depth:
        raise error
    if _deferred is None:
        _deferred = error


#: Inputs at least this large are (de)compressed in a background thread.
THREADED_BYTES = 4 << 20


def is_large(name: str) -> bool:
    """Whether an input is large enough (or of unknown size: stdin) to be worth a codec thread."""
    try:
        return name == STDIO or input_size(name) >= THREADED_BYTES
    except (OSError, InputError):
        return True


def input_size(name: str) -> int:
    """The size of a file or object as stored (``OSError`` or :class:`InputError` when it cannot be told)."""
    if is_url(name):
        from .objects import size

        return size(name)
    return os.path.getsize(name)


def exists(name: str) -> bool:
    """Whether an output is there (a file, or an object: either appears only when complete)."""
    if is_url(name):
        from .objects import exists as object_exists

        return object_exists(name)
    return os.path.exists(name)


def open_reader_for(name: str, head: bytes = b"") -> Reader:
    """Open an input for reading its decompressed bytes, with its format and a raw byte count.

    ``head``: bytes already read from it (stdin, read ahead to tell its size).
    """
    return open_reader(open_raw(name), display_name(name), threaded=is_large(name), head=head)


def open_input(name: str) -> BinaryIO:
    """Open an input (``-`` is stdin) for reading its bytes, decompressed whatever the format.

    :class:`InputError` if it cannot be read; reading corrupt compressed data raises it too.
    """
    return open_reader_for(name).stream


#: Written bytes after which a background ``fdatasync`` starts (see :meth:`AtomicFile.write`).
SYNC_BYTES = 32 << 20


def _quiet_fdatasync(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.fdatasync(fd)


def _locked_temporary(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target``, locked (``flock``) for as long as this process lives, so that
    :func:`remove_stale_temporaries` in another run never takes it for a leftover."""
    while True:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a clean-up holding it lets go at once
        except OSError:  # no locks on this file system: nothing removes it either
            return fd, temp
        if os.fstat(fd).st_nlink:
            return fd, temp
        os.close(fd)  # removed by a clean-up before it was locked: take another


def _same_inode(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicFile:
    """A file written under a temporary name and renamed into place on :meth:`commit`.

    An interrupted or failed run never leaves a partial file under the final name:
    used as a context manager, it commits on success and discards on any exception.
    A symbolic link is followed (the file it points to is replaced, the link kept); an
    existing file keeps its permissions. A device or pipe (``/dev/stderr``) cannot be
    replaced: it is written directly.
    """

    def __init__(self, path: str | os.PathLike[str], codec: Codec | None = None, *, backup: str | None = None,
                 threads: int = 1, keep_existing: bool = False, sync: bool = True) -> None:
        """``codec``: how to compress what is written (default: as the file name says).

        ``backup``: a suffix; the file being replaced is kept under its name plus this suffix.
        ``threads``: compress gzip in that many background threads (0: none, for small outputs).
        ``keep_existing``: start from the file's current content (what is written is appended).
        ``sync``: flush the file to disk (``fsync``) before the rename, so that it is complete under its
        final name even after a crash or power cut; ``False`` leaves the writing to the system.
        """
        self.path = Path(path)
        self.codec = codec_for_name(self.path) if codec is None else codec
        self.backup = backup
        self.sync = sync
        self.done = False
        self.size = 0
        self.target = self.path
        self.temp: Path | None = None
        try:
            if self.path.exists() and not self.path.is_file():
                self._file: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed by commit/discard
                self._sink = open_writer(self._file, self.codec, threads=threads)
                return
            self.target = Path(os.path.realpath(self.path))
            fd, temp = _locked_temporary(self.target)
        except OSError as error:
            raise InputError(f"cannot write {self.path}: {os_reason(error)}") from None
        self.temp = Path(temp)
        self._file = os.fdopen(fd, "wb")
        if keep_existing and self.target.is_file():
            try:
                with open(self.target, "rb") as existing:
                    shutil.copyfileobj(existing, self._file, 1 << 20)
            except OSError as error:
                self.discard()
                raise InputError(f"cannot read {self.path}: {os_reason(error)}") from None
        self._sink = open_writer(self._file, self.codec, threads=threads)
        self._unsynced = 0
        self._syncing: threading.Thread | None = None

    def write(self, data: bytes) -> None:
        try:
            with shielded():
                self._sink.write(data)
        except OSError as error:
            self.discard()
            raise InputError(f"cannot write {self.path}: {os_reason(error)}") from None
        if self.temp is not None and self.sync:
            self._unsynced += len(data)
            if self._unsynced >= SYNC_BYTES:
                self._sync_in_background()

    def _sync_in_background(self) -> None:
        """Start writing what the system holds of this file to disk while the conversion goes on,
        so that the last ``fsync`` on commit is short. It does not touch Python's buffers."""
        if self._syncing is not None and self._syncing.is_alive():
            return
        self._unsynced = 0
        fd = self._file.fileno()
        self._syncing = threading.Thread(target=_quiet_fdatasync, args=(fd,), daemon=True)
        self._syncing.start()

    def commit(self, before_rename: Callable[[os.stat_result | None], object] | None = None, *,
               rename: bool = True) -> None:
        """Flush to disk (unless ``sync`` is off) and rename into place.

        ``before_rename`` is called with what the file about to be renamed is (device, inode, size,
        time), once it is complete (``None`` when the file is written directly), before the rename.
        ``rename=False``: the file is finished and closed under its temporary name (:attr:`temp`), no
        longer locked; another process renames it into place (:func:`rename_into_place`) or removes it.
        """
        if self.done:
            return
        self.done = True
        with shielded():
            self._commit(before_rename, rename)

    def _commit(self, before_rename: Callable[[os.stat_result | None], object] | None, rename: bool = True) -> None:
        try:
            if self._sink is not self._file:
                self._sink.close()
            #: Bytes in the file (compressed).
            self.size = self._file.tell() if self.temp is not None else 0
            if self.temp is None:
                self._file.close()
                if before_rename is not None:
                    before_rename(None)
                return
            self._file.flush()
            if self._syncing is not None:
                self._syncing.join()
            if self.sync:
                os.fsync(self._file.fileno())
            self._file.close()
            try:
                replaced = self.target.stat()
            except FileNotFoundError:
                os.chmod(self.temp, 0o666 & ~_umask())
            else:
                # A replaced file keeps its owner and group where this process may give them (root may;
                # others keep their own), then its permissions (set last: chown clears set-id bits).
                if (replaced.st_uid, replaced.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.chown(self.temp, replaced.st_uid, replaced.st_gid)
                    except PermissionError:
                        with contextlib.suppress(PermissionError):
                            os.chown(self.temp, -1, replaced.st_gid)
                os.chmod(self.temp, replaced.st_mode & 0o7777)
            if not rename:
                return
            if before_rename is not None:
                before_rename(os.stat(self.temp))
            if self.backup:
                self._keep_backup()
            pause_point("rename")
            os.replace(self.temp, self.target)
            pause_point("committed")
        except OSError as error:
            self.done = False
            self.discard()
            raise InputError(f"cannot write {self.path}: {os_reason(error)}") from None
        except BaseException:  # InputError (or anything else): no temporary file left
            self.done = False
            self.discard()
            raise

    def _keep_backup(self) -> None:
        backup = self.target.with_name(self.target.name + str(self.backup))
        exists = InputError(f"cannot replace {self.path}: its backup {backup} already exists "
                            "(remove it, or choose another --backup suffix)")
        try:
            os.link(self.target, backup)
        except FileExistsError:
            if _same_inode(self.target, backup):
                return  # a run killed between this link and the rename made it: it is the original
            raise exists from None
        except OSError:  # no hard links here: copy, never over an existing file
            try:
                with open(self.target, "rb") as original, open(backup, "xb") as copy:
                    shutil.copyfileobj(original, copy, 1 << 20)
            except FileExistsError:
                raise exists from None
            shutil.copystat(self.target, backup)

    def discard(self) -> None:
        """Drop what was written; the final name is left as it was."""
        if self.done:
            return
        self.done = True
        with shielded():
            if getattr(self, "_syncing", None) is not None:
                self._syncing.join()  # type: ignore[union-attr]
            with contextlib.suppress(Exception):
                self._sink.close()
            self._file.close()
            if self.temp is not None:
                self.temp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


class AtomicOutput(Protocol):
    """What :func:`open_atomic` gives: an :class:`AtomicFile` or an object of a store written as atomically."""

    #: Bytes written (compressed), once committed.
    size: int

    @property
    def target(self) -> str | os.PathLike[str]: ...

    def write(self, data: bytes) -> None: ...

    def commit(self, before_rename: Callable[[os.stat_result | None], object] | None = None) -> None: ...

    def discard(self) -> None: ...


def open_atomic(path: str, codec: Codec | None = None, *, backup: str | None = None, threads: int = 1,
                keep_existing: bool = False, sync: bool = True, exclusive: bool = False) -> AtomicOutput:
    """An :class:`AtomicFile`, or for a URL an :class:`~.objects.AtomicObject` (same interface; ``sync`` and
    ``backup`` do not apply to objects, ``exclusive`` only to them: create the object only if it is not there)."""
    if is_url(path):
        from .objects import AtomicObject

        assert backup is None, "objects are never replaced in place"
        return AtomicObject(path, codec, threads=threads, keep_existing=keep_existing, exclusive=exclusive)
    return AtomicFile(path, codec, backup=backup, threads=threads, keep_existing=keep_existing, sync=sync)


def rename_into_place(temp: str, target: str,
                      before_rename: Callable[[os.stat_result], object] | None = None) -> None:
    """Rename a finished temporary file (``AtomicFile.commit(rename=False)``) to ``target``.

    ``before_rename`` is called with what the file is, just before the rename (see :meth:`AtomicFile.commit`).
    """
    try:
        with shielded():
            if before_rename is not None:
                before_rename(os.stat(temp))
            pause_point("rename")
            os.replace(temp, target)
            pause_point("committed")
    except OSError as error:
        raise InputError(f"cannot write {target}: {os_reason(error)}") from None


#: The name of a temporary file of :class:`AtomicFile`: ``.NAME.XXXXXXXX.part`` for the file NAME.
TEMPORARY = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.part")


def remove_stale_temporaries(targets: Iterable[str]) -> list[str]:
    """Remove the temporary files that runs killed (``kill -9``, a crash) left beside ``targets``.

    Only this program's own names are considered (``.NAME.XXXXXXXX.part`` for a target named NAME),
    and only files no running process holds: :class:`AtomicFile` locks its temporary file (``flock``)
    for as long as the process that writes it lives, so a run going on beside this one is never
    disturbed. Returns the paths removed.
    """
    wanted: dict[Path, set[str]] = {}
    for target in targets:
        if target == STDIO or is_url(target) or (os.path.exists(target) and not os.path.isfile(target)):
            continue  # stdout, a device or a pipe: written directly, never through a temporary file
        real = Path(os.path.realpath(target))
        wanted.setdefault(real.parent, set()).add(real.name)
    removed = []
    for folder, names in wanted.items():
        try:
            entries = sorted(entry.name for entry in os.scandir(folder))
        except OSError:
            continue  # not there yet, or unreadable: the run itself will say so
        for name in entries:
            match = TEMPORARY.fullmatch(name)
            if match and match.group(1) in names and _stale(folder / name):
                removed.append(str(folder / name))
    return removed


def _stale(path: Path) -> bool:
    """Remove ``path`` if no process holds it; whether it was removed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        facts = os.fstat(fd)
        if not stat.S_ISREG(facts.st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a running process writes it
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def open_stdout(codec: Codec) -> BinaryIO:
    """Standard output, compressed with ``codec``; close the result to finish the format.

    :class:`InputError` if the program was started with stdout closed (``>&-``).
    """
    if sys.stdout is None:
        raise STDOUT_CLOSED
    return open_writer(sys.stdout.buffer, codec)


#: The program was started with no standard output (``>&-``).
STDOUT_CLOSED = InputError("cannot write to stdout: it is closed (started with >&-); give -o FILE, or redirect "
                           "stdout to a file or a pipe")


def stdout_error(error: OSError) -> InputError:
    """The error for a failed write to stdout."""
    if isinstance(error, BrokenPipeError):
        return OutputClosed("stdout was closed before everything was written")
    return InputError(f"cannot write to stdout: {os_reason(error)}")
