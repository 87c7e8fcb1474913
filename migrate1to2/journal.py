"""The rejects file of a job whose inputs each have their own output, kept so that a kill loses nothing.

The rejects file itself appears atomically at the end of the run, like every output. Until then
each input's rejected records go to a journal beside it (``.REJECTS.migrate1to2-journal``),
sealed just before that input's output is renamed into place: the seal names the output and the
file that is about to become it (device, inode, size, modification time). A run killed at any
moment (``kill -9``, a power cut) leaves the journal; the next run that resumes the job
(``--skip-existing``, ``--in-place``) starts from it, and counts a sealed input only if its output
is the file the seal names (an output never renamed into place does not count: that input is
converted again). The rejects file is then written from the journal, which is removed.

Layout: a first line (:data:`MAGIC`), then blocks. A block is the NDJSON lines of the rejects file
(each starts with ``{``) followed by a seal line ``#sealed {...}`` giving its length in bytes. The
first block is the base: what the rejects file held when the journal was started by a resuming
run. Anything after the last seal (a run killed while writing) is dropped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from pathlib import Path
from typing import BinaryIO

import msgspec

from .errors import InputError, os_reason
from .files import AtomicFile, open_input

__all__ = ["JOURNAL", "MAGIC", "RejectsJournal", "journal_path"]

MAGIC = b"migrate1to2 rejects journal 1\n"
#: The name of a journal: ``.NAME.migrate1to2-journal`` for the rejects file NAME.
JOURNAL = re.compile(r"\.(.+)\.migrate1to2-journal")
_SEAL = b"#sealed "


def journal_path(rejects: str | os.PathLike[str]) -> Path:
    """Where the journal of the rejects file ``rejects`` is kept (beside the file it points to)."""
    real = Path(os.path.realpath(rejects))
    return real.with_name(f".{real.name}.migrate1to2-journal")


def _identity(facts: os.stat_result) -> dict[str, int]:
    return {"dev": facts.st_dev, "ino": facts.st_ino, "size": facts.st_size, "mtime_ns": facts.st_mtime_ns}


class RejectsJournal:
    """The rejects of a job, input by input (see the module docstring).

    ``resume``: the job adds to what earlier runs did (``--skip-existing``, ``--in-place``): an
    existing journal is taken up, else the existing rejects file is the base. Otherwise an old
    journal is discarded and the rejects file will be replaced.
    """

    def __init__(self, rejects: str, *, resume: bool, sync: bool = True) -> None:
        self.rejects = rejects
        self.sync = sync
        self.path = journal_path(rejects)
        #: Bytes of the current input's rejects written since the last seal.
        self.pending = 0
        try:
            self._file: BinaryIO = open(self.path, "a+b")  # noqa: SIM115 - closed by finish
        except OSError as error:
            raise InputError(f"cannot write {rejects}: {os_reason(error)}") from None
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise InputError(f"cannot write {rejects}: another run is writing it (its journal {self.path} is "
                             "locked); wait for it, or give another --rejects file") from None
        try:
            end = self._load() if resume else None
            if end is None:  # a new journal
                self._file.truncate(0)
                self._file.write(MAGIC)
                if resume and self._copy_base():
                    self._flush()  # what earlier runs rejected now lives here too
                else:
                    self._file.flush()
            else:
                self._file.truncate(end)  # what a killed run wrote after its last seal
            self._file.seek(0, os.SEEK_END)
            self.sealed_end = self._file.tell()
        except OSError as error:
            self._file.close()
            raise InputError(f"cannot write {rejects}: {os_reason(error)}") from None

    # --- writing -------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Add rejects (NDJSON lines) of the input being converted."""
        try:
            self._file.write(data)
        except OSError as error:
            raise InputError(f"cannot write {self.rejects}: {os_reason(error)}") from None
        self.pending += len(data)

    def seal(self, source: str, output: str, facts: os.stat_result | None) -> None:
        """The rejects written since the last seal are those of ``source``, whose output ``output`` is
        about to become the file described by ``facts`` (``None``: not a file that is replaced)."""
        if not self.pending:
            return
        entry: dict[str, object] = {"input": source, "output": os.path.realpath(output), "bytes": self.pending}
        if facts is not None:
            entry.update(_identity(facts))
        self._seal(entry)

    def _seal(self, entry: dict[str, object]) -> None:
        try:
            self._file.write(_SEAL + msgspec.json.encode(entry) + b"\n")
            self._flush()
        except OSError as error:
            raise InputError(f"cannot write {self.rejects}: {os_reason(error)}") from None
        self.pending = 0
        self.sealed_end = self._file.tell()

    def _flush(self) -> None:
        self._file.flush()
        if self.sync:
            os.fsync(self._file.fileno())

    def _copy_base(self) -> bool:
        """Start from the rejects file of earlier runs (decompressed, if it is compressed); whether it held any."""
        if not os.path.isfile(self.rejects):
            return False
        size = 0
        with open_input(self.rejects) as earlier:
            while block := earlier.read(1 << 20):
                self._file.write(block)
                size += len(block)
        if size:
            if not _ends_line(self._file):
                self._file.write(b"\n")
                size += 1
            self._file.write(_SEAL + msgspec.json.encode({"base": True, "bytes": size}) + b"\n")
        return size > 0

    # --- reading -------------------------------------------------------------------------------

    def _load(self) -> int | None:
        """Check an existing journal; the offset after its last seal (``None``: none to take up)."""
        self._file.seek(0)
        if self._file.readline() != MAGIC:
            return None
        end = self._file.tell()
        for line in iter(self._file.readline, b""):
            if line.startswith(_SEAL) and line.endswith(b"\n"):
                end = self._file.tell()
        return end

    def blocks(self) -> list[tuple[int, int]]:
        """The ``(offset, length)`` of every block that counts, in order: the base, and each sealed input
        whose output is the file its seal names (the last seal of an output counts, once)."""
        self._file.flush()
        self._file.seek(0)
        self._file.readline()
        found: list[tuple[int, int, dict[str, object]]] = []
        start = self._file.tell()
        while self._file.tell() < self.sealed_end:
            line = self._file.readline()
            if not line.startswith(_SEAL):
                continue
            position = self._file.tell()
            with contextlib.suppress(msgspec.DecodeError, KeyError, TypeError, ValueError):
                entry = msgspec.json.decode(line[len(_SEAL):], type=dict[str, object])
                length = int(entry["bytes"])  # type: ignore[call-overload]
                if position - len(line) - length >= start:
                    found.append((position - len(line) - length, length, entry))
            start = position
        last: dict[object, int] = {}
        for index, (_, _, entry) in enumerate(found):
            if not entry.get("base"):
                last[entry.get("output")] = index
        kept = []
        for index, (offset, length, entry) in enumerate(found):
            if entry.get("base") or (last.get(entry.get("output")) == index and _is_output(entry)):
                kept.append((offset, length))
        return kept

    # --- the end -------------------------------------------------------------------------------

    def finish(self) -> None:
        """Write the rejects file (atomically) from the blocks that count, then remove the journal."""
        with AtomicFile(self.rejects, sync=self.sync) as out:
            for offset, length in self.blocks():
                self._file.seek(offset)
                left = length
                while left > 0:
                    block = self._file.read(min(left, 1 << 20))
                    if not block:
                        break
                    out.write(block)
                    left -= len(block)
        self.path.unlink(missing_ok=True)
        self._file.close()

    def close(self) -> None:
        """Leave the journal as it is (the run could not write the rejects file: a rerun takes it up)."""
        self._file.close()


def _ends_line(stream: BinaryIO) -> bool:
    """Whether what was written to ``stream`` so far ends with a newline."""
    stream.flush()
    stream.seek(-1, os.SEEK_END)
    return stream.read(1) == b"\n"


def _is_output(entry: dict[str, object]) -> bool:
    """Whether the output a seal names is the file it was about to become (it was renamed into place)."""
    output = entry.get("output")
    if not isinstance(output, str):
        return False
    try:
        facts = os.stat(output)
    except OSError:
        return False
    if "ino" not in entry:
        return True  # a device or a pipe: written directly
    return _identity(facts) == {key: entry.get(key) for key in ("dev", "ino", "size", "mtime_ns")}
