"""The I/O layer (storage): where inputs are opened and outputs written, whatever they hold.

- :mod:`.compression`: codecs told by magic bytes (reading) or by name (writing), threaded (de)compression;
- :mod:`.files`: opening inputs and stdin/stdout, atomic output files, interrupts that never cut a write;
- :mod:`.flowing`: stdin pipes read as their data arrives;
- :mod:`.payloads`: the one payload detector (convert's and the audit's): names and first bytes;
- :mod:`.tree`: the one tree walker (convert's and the audit's), with the glob rule, over a folder lister;
- :mod:`.plan`: inputs (files, directories, stdin) and their outputs;
- :mod:`.journal`: the rejects journal of runs with one output per input;
- :mod:`.urls` and :mod:`.objects`: fsspec URLs of object stores behind the same names (imported on the
  first URL: a run on local files never loads fsspec).

Nothing here knows about records or the command line: ``convert`` and ``audit`` build on it.
The interface is names in (paths, ``-``, or URLs), readers and atomic writers out.
"""
