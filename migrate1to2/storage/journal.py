"""The rejects file of a job whose inputs each have their own output, kept so that a kill loses nothing.

The rejects file itself appears atomically at the end of the run, like every output. Until then
each input's rejected records go to a journal beside it (``.REJECTS.migrate1to2-journal``):

- just before the input's output is renamed into place, its rejects are *sealed*: a seal line
  names the input, the output and the file about to become it (device, inode, size, modification
  time), and is flushed to disk;
- just after the rename, a *committed* line follows the seal.

A run killed at any moment (``kill -9``, a power cut) leaves the journal. The next run that resumes
the job (``--skip-existing``, ``--in-place``) takes it up: a sealed input counts if it was committed
(its committed line is there or, killed between the rename and that line, its output is the file the
seal names); an input killed before its rename does not count, and the resumed run converts it
again. With ``-o``, rejects are kept per input: every input is sealed (with no rejects too), only
the last committed seal of an output counts (its output was written again), and the rejects that
the base holds for an input converted again are left out. In place, every committed seal counts
(each replacement removed its rejected records from the file). At the end the rejects file is
written from the journal, which is removed.

Layout: a first line (:data:`MAGIC`, or :data:`MAGIC_BASE` when a base block must follow), then
blocks: the NDJSON lines of the rejects file (each starts with ``{``), a seal line ``#sealed {...}``
giving their length in bytes, and ``#committed``. The base block is what the rejects file held when
a resuming run started the journal (a journal whose base was cut short is not taken up). Whatever
follows the last complete seal or committed line (a run killed while writing) is dropped.

A rejects object in a store (``--rejects s3://…``) has no "beside": its journal is a local file of
the machine that runs the job, ``$XDG_CACHE_HOME/migrate1to2/journals/`` (``~/.cache/…`` when the
variable is unset), named from a hash of the URL (without its query string or credentials) and the
object's base name, and locked as a local one is. A resumed run on the same machine takes it up;
the base is the existing rejects object, and at the end the object is written atomically
(:class:`~.objects.AtomicObject`: it appears whole, or not at all) before the journal is removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import msgspec

from ..errors import InputError, os_reason
from .files import AtomicFile, open_input
from .urls import is_url, mask, protocol

__all__ = ["JOURNAL", "MAGIC", "MAGIC_BASE", "RejectsJournal", "journal_path", "journals_folder"]

MAGIC = b"migrate1to2 rejects journal 1\n"
#: The first line of a journal that starts from an existing rejects file (its base block must be sealed).
MAGIC_BASE = b"migrate1to2 rejects journal 1, from the rejects file\n"
#: The name of a journal: ``.NAME.migrate1to2-journal`` for the rejects file NAME.
JOURNAL = re.compile(r"\.(.+)\.migrate1to2-journal")
_SEAL = b"#sealed "
_COMMITTED = b"#committed\n"


def journal_path(rejects: str | os.PathLike[str]) -> Path:
    """Where the journal of the rejects file ``rejects`` is kept (beside the file it points to; for an
    object in a store, in this machine's cache: see the module docstring)."""
    if isinstance(rejects, str) and is_url(rejects):
        return journals_folder() / _object_journal_name(rejects)
    real = Path(os.path.realpath(rejects))
    return real.with_name(f".{real.name}.migrate1to2-journal")


def journals_folder() -> Path:
    """The local folder of the journals of rejects objects: ``$XDG_CACHE_HOME/migrate1to2/journals``."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"  # (the XDG rule: a relative one is ignored)
    return base / "migrate1to2" / "journals"


def _object_journal_name(url: str) -> str:
    """The journal's name of a rejects object: the same for the same object, whatever credentials or query
    string the URL carries (``s3://key:secret@bucket/r.ndjson?versionId=1`` is ``s3://bucket/r.ndjson``)."""
    rest = url.split("://", 1)[1]
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    host, slash, path = rest.partition("/")
    canonical = f"{protocol(url)}://{host.rsplit('@', 1)[-1]}{slash}{path}"
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    name = path.rstrip("/").rsplit("/", 1)[-1] or "rejects"
    return f"{digest}-{name}.migrate1to2-journal"


def _identity(facts: os.stat_result) -> dict[str, int]:
    return {"dev": facts.st_dev, "ino": facts.st_ino, "size": facts.st_size, "mtime_ns": facts.st_mtime_ns}


class _Seal(msgspec.Struct, omit_defaults=True):
    bytes: int
    base: bool = False
    input: str | None = None
    output: str | None = None
    in_place: bool = False
    dev: int | None = None
    ino: int | None = None
    size: int | None = None
    mtime_ns: int | None = None

    def is_output(self) -> bool:
        """Whether its output is now the file it was about to become (it was renamed into place)."""
        if self.output is None:
            return False
        if is_url(self.output):  # an object appears only when complete: there, it is the one sealed
            from .objects import exists

            return exists(self.output)
        try:
            facts = os.stat(self.output)
        except OSError:
            return False
        if self.ino is None:
            return True  # a device or a pipe: written directly
        return _identity(facts) == {"dev": self.dev, "ino": self.ino, "size": self.size, "mtime_ns": self.mtime_ns}


_decode_seal = msgspec.json.Decoder(_Seal).decode


class _Source(msgspec.Struct):
    source: str | None = None


_decode_source = msgspec.json.Decoder(_Source).decode


class _Output(Protocol):
    """Where the rejects are written at the end: an :class:`AtomicFile` or an ``AtomicObject``."""

    def write(self, data: bytes) -> None: ...


@dataclass
class _Block:
    offset: int
    seal: _Seal
    committed: bool


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
        self._blocks: list[_Block] = []
        #: How many of the blocks are decided (see :meth:`_check_committed`).
        self._decided = 0
        #: A rejects object in a store (its journal is local, in the cache: see the module docstring).
        self.url = is_url(rejects)
        try:
            if self.url:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: BinaryIO = open(self.path, "a+b")  # noqa: SIM115 - closed by finish or close
        except OSError as error:
            raise self._error(error) from None
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise InputError(f"cannot write {mask(rejects)}: another run is writing it (its journal {self.path} is "
                             "locked); wait for it, or give another --rejects file") from None
        except OSError:
            pass  # no locks on this file system
        try:
            end = self._load() if resume else None
            if end is None:
                self._blocks.clear()
                self._start(resume)
            else:
                self._file.truncate(end)  # what a killed run wrote after its last complete line
            self._decided = len(self._blocks)
        except BaseException as error:
            self._file.close()
            if isinstance(error, OSError):
                raise self._error(error) from None
            raise

    def _error(self, error: OSError) -> InputError:
        if self.url:  # the journal could not be written (the object is not written before the end)
            return InputError(f"cannot write the journal {self.path} of {mask(self.rejects)}: {os_reason(error)}")
        return InputError(f"cannot write {self.rejects}: {os_reason(error)}")

    def _has_base(self) -> bool:
        """Whether there are rejects of earlier runs (the rejects file or object, not empty)."""
        if self.url:
            from .objects import exists, size

            return exists(self.rejects) and size(self.rejects) > 0
        return os.path.isfile(self.rejects) and os.path.getsize(self.rejects) > 0

    def _start(self, resume: bool) -> None:
        """A new journal, from the rejects file of earlier runs when resuming (decompressed if it is compressed).

        Killed while the base is copied, the journal is not taken up (its first line says a base must
        follow): the rejects file it was copied from is still there, untouched.
        """
        self._file.truncate(0)
        base = resume and self._has_base()
        self._file.write(MAGIC_BASE if base else MAGIC)
        if not base:
            self._file.flush()
            return
        size = 0
        try:
            with open_input(self.rejects) as earlier:
                while block := earlier.read(1 << 20):
                    self._file.write(block)
                    size += len(block)
            if size and not _ends_line(self._file):
                self._file.write(b"\n")
                size += 1
            self._blocks.append(_Block(len(MAGIC_BASE), _Seal(size, base=True), committed=True))
            self._file.write(_SEAL + msgspec.json.encode(_Seal(size, base=True)) + b"\n")
            self._flush()  # what earlier runs rejected lives here now
        except BaseException:
            self.path.unlink(missing_ok=True)  # the rejects file stays as it was
            raise

    def _load(self) -> int | None:
        """Take up an existing journal; the offset after its last complete line (``None``: none to take up).

        Whether each sealed input was committed is decided now, before this run writes anything.
        """
        self._file.seek(0)
        first = self._file.readline()
        if first not in (MAGIC, MAGIC_BASE):
            return None
        end = start = self._file.tell()
        for line in iter(self._file.readline, b""):
            if not line.endswith(b"\n"):
                break
            position = self._file.tell()
            if line == _COMMITTED and self._blocks:
                self._blocks[-1].committed = True
                end = position
            elif line.startswith(_SEAL):
                try:
                    seal = _decode_seal(line[len(_SEAL):-1])
                except (msgspec.DecodeError, msgspec.ValidationError):
                    break
                offset = position - len(line) - seal.bytes
                if offset < start:
                    break
                self._blocks.append(_Block(offset, seal, committed=seal.base))
                end = start = position
        if first == MAGIC_BASE and not (self._blocks and self._blocks[0].seal.base):
            return None  # killed while copying the base: start again from the rejects file
        self._check_committed()  # killed between a rename and its committed line?
        return end

    # --- writing -------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Add rejects (NDJSON lines) of the input being converted."""
        try:
            self._file.write(data)
        except OSError as error:
            raise self._error(error) from None
        self.pending += len(data)

    def seal(self, source: str, output: str, facts: os.stat_result | None, *, in_place: bool) -> None:
        """The rejects written since the last seal are those of ``source`` (as rejects name it), whose output
        ``output`` is about to become the file described by ``facts`` (``None``: not a file that is replaced).

        With ``-o``, an input without rejects is sealed too: it replaces what earlier runs rejected of it.
        """
        if not self.pending and in_place:
            return
        seal = _Seal(self.pending, input=source, output=output if is_url(output) else os.path.realpath(output),
                     in_place=in_place)
        if facts is not None:
            seal.dev, seal.ino, seal.size, seal.mtime_ns = (facts.st_dev, facts.st_ino, facts.st_size,
                                                            facts.st_mtime_ns)
        try:
            self._file.flush()
            offset = self._file.seek(0, os.SEEK_END) - self.pending
            self._file.write(_SEAL + msgspec.json.encode(seal) + b"\n")
            if self.pending:
                self._flush()
            else:  # nothing is lost if it is lost
                self._file.flush()
        except OSError as error:
            raise self._error(error) from None
        self._blocks.append(_Block(offset, seal, committed=False))
        self.pending = 0

    def committed(self) -> None:
        """The output of the last sealed input was renamed into place."""
        if not self._blocks or self._blocks[-1].committed:
            return
        self._blocks[-1].committed = True
        try:
            self._file.write(_COMMITTED)
            self._file.flush()  # not flushed to disk: after a power cut the seal still tells
        except OSError as error:
            raise self._error(error) from None

    def _flush(self) -> None:
        self._file.flush()
        if self.sync:
            os.fsync(self._file.fileno())

    # --- the end -------------------------------------------------------------------------------

    def counted(self) -> tuple[list[_Block], set[str]]:
        """The blocks that count, in order (see the module docstring), and the inputs converted again with
        ``-o`` since the base was written (their rejects in the base are replaced)."""
        last: dict[str | None, int] = {}
        for index, block in enumerate(self._blocks):
            if block.committed and not block.seal.base and not block.seal.in_place:
                last[block.seal.output] = index
        again = {str(block.seal.input) for block in self._blocks
                 if block.committed and not block.seal.base and not block.seal.in_place}
        kept = [block for index, block in enumerate(self._blocks) if block.seal.bytes and block.committed
                and (block.seal.base or block.seal.in_place or last.get(block.seal.output) == index)]
        return kept, again

    def _check_committed(self) -> None:
        """Sealed inputs not known to be committed count if their output is the file their seal names: those of
        a run killed between a rename and its committed line (when the journal is taken up), and this run's
        whose commit was cut short after the rename (at the end). Each is decided once."""
        for block in self._blocks[self._decided:]:
            if not block.committed:
                block.committed = block.seal.is_output()
        self._decided = len(self._blocks)

    def finish(self) -> None:
        """Write the rejects file (atomically) from the blocks that count, then remove the journal."""
        self._check_committed()
        self._file.flush()
        blocks, again = self.counted()
        if self.url:
            from .objects import AtomicObject

            target = AtomicObject(self.rejects)
            try:
                self._copy(target, blocks, again)
            except BaseException:
                target.discard()
                raise
            target.commit()  # (discarded if it fails)
        else:
            with AtomicFile(self.rejects, sync=self.sync) as out:
                self._copy(out, blocks, again)
        self.path.unlink(missing_ok=True)
        self._file.close()

    def _copy(self, out: _Output, blocks: list[_Block], again: set[str]) -> None:
        for block in blocks:
            self._file.seek(block.offset)
            if block.seal.base and again:
                self._copy_lines(out, block.seal.bytes, again)
                continue
            left = block.seal.bytes
            while left > 0 and (data := self._file.read(min(left, 1 << 20))):
                out.write(data)
                left -= len(data)

    def _copy_lines(self, out: _Output, length: int, again: set[str]) -> None:
        """Copy ``length`` bytes of rejects lines, leaving out those of the inputs in ``again``."""
        kept: list[bytes] = []
        size = 0
        while length > 0 and (line := self._file.readline(length)):
            length -= len(line)
            try:
                source = _decode_source(line).source
            except (msgspec.DecodeError, msgspec.ValidationError):
                source = None  # not a line this program wrote: kept as it is
            if source not in again:
                kept.append(line)
                size += len(line)
            if size >= 1 << 20:
                out.write(b"".join(kept))
                kept, size = [], 0
        out.write(b"".join(kept))

    def close(self) -> None:
        """Leave the journal as it is (the rejects file or object could not be written: a rerun takes it up)."""
        self._file.close()


def _ends_line(stream: BinaryIO) -> bool:
    """Whether what was written to ``stream`` so far ends with a newline."""
    stream.flush()
    stream.seek(-1, os.SEEK_END)
    return stream.read(1) == b"\n"
