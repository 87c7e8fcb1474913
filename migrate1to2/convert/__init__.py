"""``convert`` and ``downgrade`` over files and streams, built on the I/O layer (:mod:`migrate1to2.storage`).

- :mod:`.records`: the units of work and what becomes of them (settings, counts, rejects; chunks of
  lines, documents and array elements converted, pure functions on bytes);
- :mod:`.read`: readers cutting an input into units of work (NDJSON chunks, documents, array
  elements), each with the number of the line it starts on;
- :mod:`.pool`: the workers (threads, or processes with their spool files) and the regions of
  large plain files they read themselves;
- :mod:`.run`: :func:`run_job`, a plan's inputs converted in order and written atomically;
- :mod:`.progress`: the progress line on a terminal.
"""
