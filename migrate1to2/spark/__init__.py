"""PySpark (extra ``spark``): payload archives and tables converted on a cluster.

- **Files mode** (:func:`convert_files`, and ``spark-submit .../migrate1to2/spark/__main__.py SRC DEST``):
  one task per input file, the output tree byte for byte what the command line writes, every output
  atomic, reruns going on where the last run stopped, one rejects file and one run report.
- **DataFrame mode** (:func:`convert_column`): a string or binary column of JSON payloads converted
  through ``mapInArrow`` and :func:`migrate1to2.arrow.convert_array`, with ``status`` and ``reason``
  columns; :func:`read_lines` reads NDJSON trees as rows of lines, safely (see :mod:`.frames`).
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError as error:  # pragma: no cover - the test extra installs it
    raise ImportError("migrate1to2.spark needs pyspark: pip install 'migrate1to2[spark]'") from error

from .files import CRASH_HOOK, convert_files
from .frames import LINES_SCHEMA, convert_column, read_lines

__all__ = ["CRASH_HOOK", "LINES_SCHEMA", "convert_column", "convert_files", "read_lines"]
