"""The C accelerator (``migrate1to2/_speedups.c``), loaded where it is compiled.

Each entry point is ``None`` where it is not: the same conversion then runs in Python
(:mod:`migrate1to2.rawjson`, :mod:`migrate1to2.convert.records`).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["COMPILED", "MixedChunk", "convert_chunk", "convert_mixed", "convert_text", "element_end"]

#: The common case of a chunk of lines: (output, converted, unchanged), or None where the C code declines it.
convert_chunk: Callable[[bytes, bool], tuple[bytes, int, int] | None] | None
#: Where an array element ends, where compiled.
element_end: Callable[[bytes, int], int] | None
#: What the C code makes of a chunk: (output, converted, unchanged, newlines, declined), each declined
#: record as (line from 0, start, end, where its output goes, converted before, unchanged before).
#: With a callback, each declined record is given to it instead: (line, start, end, converted before,
#: unchanged before) -> its output, or None to stop there.
MixedChunk = Callable[[bytes, bool, int, Callable[[int, int, int, int, int], bytes | None] | None],
                      "tuple[bytes, int, int, int, list[tuple[int, int, int, int, int, int]]]"]
#: Every record of a chunk the C code can do, the others listed for Python.
convert_mixed: MixedChunk | None
#: One record (see ``convert_text`` in the C code).
convert_text: Callable[[bytes, bool], bytes | None] | None
try:
    from ._speedups import convert_chunk, convert_mixed, convert_text, element_end
except ImportError:  # not compiled on this machine: the same conversion runs in Python
    convert_chunk = element_end = convert_mixed = convert_text = None

#: Whether the C accelerator is compiled here (the tests require it; it is an optional speed-up).
COMPILED = convert_chunk is not None
