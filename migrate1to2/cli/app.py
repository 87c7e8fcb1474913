"""The program: the typer application the commands register with, :func:`main` and the console script."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

import typer

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
PROG = "migrate1to2"

app = typer.Typer(
    name=PROG,
    help="Convert Commanders Act tracking payloads between format 1.0 and 2.0, exactly, and audit where 1.0 is "
         "still produced.",
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)


def say(message: str) -> None:
    """A line on stderr (diagnostics, summaries): stdout carries only data."""
    print(message, file=sys.stderr, flush=True)


def silence_stdout() -> None:
    """Point stdout at /dev/null: its reader is gone, and Python would complain when flushing it at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=list(argv) if argv is not None else None, prog_name=PROG, standalone_mode=False)
    except typer.TyperException as error:
        error.show()  # type: ignore[attr-defined]
        return int(getattr(error, "exit_code", EXIT_USAGE))
    except typer.Abort:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        silence_stdout()
        say(f"{PROG}: error: stdout was closed before everything was written")
        return EXIT_USAGE
    return code if isinstance(code, int) else EXIT_OK


def run() -> None:
    """The console script (a whole program, so it may tune the process: see ``retain_freed_memory``)."""
    try:
        from .._speedups import retain_freed_memory
    except ImportError:
        pass
    else:
        retain_freed_memory(64 << 20)
    code = main()
    # Everything this program writes is written and closed by now: leave without tearing down every
    # module and object one by one, which takes tens of milliseconds on every run. Where stdout or
    # stderr cannot be flushed, the usual exit reports it.
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with that descriptor closed
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)
