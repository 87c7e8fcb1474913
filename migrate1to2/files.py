"""Files: opening inputs, and outputs that appear atomically (temp file + rename)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from .errors import InputError

__all__ = ["STDIO", "AtomicFile", "display_name", "open_input"]

#: The name that means standard input (or output).
STDIO = "-"


def display_name(name: str) -> str:
    """How a source is named in messages: ``<stdin>`` for ``-``."""
    return "<stdin>" if name == STDIO else name


def _os_reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def open_input(name: str) -> BinaryIO:
    """Open an input for binary reading (``-`` is stdin); :class:`InputError` if it cannot be read."""
    if name == STDIO:
        return sys.stdin.buffer
    try:
        if Path(name).is_dir():
            raise InputError(f"cannot read {name}: it is a directory")
        return open(name, "rb")
    except OSError as error:
        raise InputError(f"cannot read {name}: {_os_reason(error)}") from None


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

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.target = self.path
        self.temp: Path | None = None
        try:
            if self.path.exists() and not self.path.is_file():
                self._file: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed by commit/discard
                return
            self.target = Path(os.path.realpath(self.path))
            fd, temp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".part", dir=self.target.parent)
        except OSError as error:
            raise InputError(f"cannot write {self.path}: {_os_reason(error)}") from None
        self.temp = Path(temp)
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as error:
            self.discard()
            raise InputError(f"cannot write {self.path}: {_os_reason(error)}") from None

    def commit(self) -> None:
        """Flush to disk and rename into place."""
        try:
            if self.temp is None:
                self._file.close()
                return
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            try:
                mode = self.target.stat().st_mode & 0o7777
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            os.chmod(self.temp, mode)
            os.replace(self.temp, self.target)
        except OSError as error:
            self.discard()
            raise InputError(f"cannot write {self.path}: {_os_reason(error)}") from None

    def discard(self) -> None:
        """Drop what was written; the final name is left as it was."""
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
