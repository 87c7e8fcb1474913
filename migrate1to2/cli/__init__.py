"""The command line: parses options, calls the library, reports on stderr. Data goes to stdout only.

One module per command (:mod:`.convert` for ``convert`` and ``downgrade``, :mod:`.audit`), the
options they share defined once (:mod:`.options`), the program around them in :mod:`.app`.

Exit codes: 0 success; 1 records rejected (or the run stopped at one), or audit findings;
2 usage or I/O error; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

from . import audit, convert
from .app import EXIT_INTERRUPTED, EXIT_OK, EXIT_REJECTED, EXIT_TERMINATED, EXIT_USAGE, PROG, app, main, run

# In this order in --help.
app.command("convert")(convert.convert)
app.command("downgrade")(convert.downgrade)
app.command("audit")(audit.audit)

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_REJECTED", "EXIT_TERMINATED", "EXIT_USAGE", "PROG", "app", "main",
           "run"]
