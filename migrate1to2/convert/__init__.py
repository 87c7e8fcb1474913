"""``convert`` and ``downgrade`` over files and streams, built on the I/O layer (:mod:`migrate1to2.storage`).

- :mod:`.records`: the units of work and what becomes of them (settings, counts, rejects; chunks of
  lines, documents and array elements converted, pure functions on bytes);
- :mod:`.read`: readers cutting an input into units of work (NDJSON chunks, documents, array
  elements), each with the number of the line it starts on;
- :mod:`.pool`: the ordered pool, converting units here or in workers (threads, or processes with
  their spool files; large plain files cut into regions the workers read themselves), their
  results given back in order;
- :mod:`.outputs`: each input's atomic file or the job's single output, array framing, rejects;
- :mod:`.job`: the options of a job and its report (statuses, counts, ``--stats``);
- :mod:`.run`: :func:`~.run.run_job`, a plan's inputs converted in order and written atomically;
- :mod:`.progress`: the progress line on a terminal.
"""
