"""The public chunk API: NDJSON text in any buffer converted at once, as the command line converts a file.

For pipelines that hold records in memory (a stream consumer's batch of messages, a block read from
an object store, a ``pyarrow.Buffer``): :func:`convert_chunk` converts every record, collects every
reject (it never stops at the first) and accounts for each record, exactly as ``migrate1to2 upgrade``
does with ``--rejects``. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from .convert.records import Counts, Reject, Settings, convert_lines
from .version import Version

__all__ = ["ChunkResult", "Counts", "Reject", "convert_chunk", "target_version"]


@dataclass(frozen=True)
class ChunkResult:
    """What :func:`convert_chunk` made of a chunk.

    - ``output``: one compact line per record that was converted or already in the target version,
      in input order, each ending with ``\\n`` (LF, whatever the input used); rejected records and
      blank lines are left out.
    - ``counts``: a :class:`Counts`, ``records == converted + unchanged + rejected`` always.
    - ``rejects``: a :class:`Reject` per rejected record, in input order, each with its ``source``,
      ``line`` (counted from ``first_line``), ``column`` (for invalid JSON), ``reason``, JSON
      ``path`` (for a collision or an ambiguous version) and the original bytes (``record``);
      :meth:`Reject.message` formats it as the CLI prints it, :meth:`Reject.to_json` as a line of
      its rejects file.
    """

    output: bytes
    counts: Counts
    rejects: list[Reject]


def target_version(target: Version | str) -> Version:
    """``target`` as a :class:`Version`: ``Version.V2``/``"2.0"``/``"2"`` or ``Version.V1``/``"1.0"``/``"1"``."""
    if isinstance(target, Version):
        return target
    spelled = {"2.0": Version.V2, "2": Version.V2, "1.0": Version.V1, "1": Version.V1}.get(str(target).strip())
    if spelled is None:
        raise ValueError(f"unknown target version {target!r}: use '2.0' (upgrade) or '1.0' (downgrade)")
    return spelled


def convert_chunk(data: bytes | bytearray | memoryview | object, target: Version | str, *,
                  first_line: int = 1, source: str = "<chunk>") -> ChunkResult:
    """Convert the NDJSON records in ``data`` to ``target`` (``"2.0"`` upgrades, ``"1.0"`` downgrades).

    ``data`` is any object with the buffer protocol (``bytes``, ``bytearray``, ``memoryview``,
    ``mmap``, ``pyarrow.Buffer``, ...) holding whole lines of UTF-8 NDJSON (a last line without its
    newline is a record too; LF or CRLF line ends; blank lines are not records). Its first line is
    line ``first_line`` of ``source``: rejects are located there. The rules are the command line's:
    values are moved, never rewritten; a record that cannot be converted exactly (invalid JSON or
    UTF-8, a collision, both containers, not an object, larger than 16 MiB) is rejected with its
    location and original bytes, and the others are converted all the same.
    """
    version = target_version(target)
    chunk = data if type(data) is bytes else memoryview(data).tobytes()  # type: ignore[arg-type]
    done = convert_lines(chunk, first_line, source, Settings(version, stop_at_reject=False))
    return ChunkResult(done.output, done.counts, done.rejects)
