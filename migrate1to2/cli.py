"""The command line: parses options, calls the I/O layer, reports on stderr. Data goes to stdout only.

Exit codes: 0 success; 1 records rejected (or the run stopped at one); 2 usage or I/O error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from .errors import MigrateError
from .files import STDIO
from .job import UsageError, convert_files
from .records import Counts
from .version import Version

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
PROG = "migrate1to2"

app = typer.Typer(
    name=PROG,
    help="Convert Commanders Act tracking payloads between format 1.0 and 2.0, exactly.",
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)

Inputs = Annotated[list[str] | None, typer.Argument(
    metavar="INPUT...", show_default=False,
    help="Payload files: NDJSON, one JSON object, or a JSON array of objects. '-' or none: stdin.")]
Output = Annotated[str, typer.Option(
    "-o", "--output", metavar="OUTPUT", show_default=False,
    help="Write the result to this file (it appears atomically) instead of stdout.")]
Rejects = Annotated[str | None, typer.Option(
    "--rejects", metavar="FILE", show_default=False,
    help="Set records that cannot be converted aside in FILE (NDJSON, one line each) and go on. "
         "Without it the first such record stops the run.")]
Pretty = Annotated[bool, typer.Option("--pretty", help="Indent the output of a JSON object or array input.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Do not print the summary line on stderr.")]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _summary(counts: Counts, target: Version, rejects: str | None) -> str:
    already = "1.0" if target is Version.V1 else "2.0"
    line = (f"{PROG}: {counts.records} records: {counts.converted} converted, "
            f"{counts.unchanged} unchanged (already {already} or the same in both), {counts.rejected} rejected")
    if counts.rejected and rejects:
        line += f" (see {rejects})"
    return line


def _convert(target: Version, inputs: list[str] | None, *, output: str, rejects: str | None, pretty: bool,
             quiet: bool) -> int:
    try:
        result = convert_files(inputs or [STDIO], output, target, rejects=rejects, pretty=pretty,
                               warn=lambda text: _say(f"{PROG}: warning: {text}"))
    except UsageError as error:
        _say(f"{PROG}: error: {error}")
        return EXIT_USAGE
    except MigrateError as error:
        _say(f"{PROG}: error: {error}")
        return EXIT_USAGE
    if result.stopped_at is not None:
        _say(result.stopped_at.message())
        before = result.counts.converted + result.counts.unchanged
        if output != STDIO:
            written = f"{output} was not written"
        elif before:
            written = f"the {before} record{'s' if before > 1 else ''} before it went to stdout"
        else:
            written = "nothing was written"
        _say(f"{PROG}: stopped at the first record that cannot be converted; {written}. "
             "Use --rejects FILE to set such records aside and convert the rest.")
        return EXIT_REJECTED
    if not quiet:
        _say(_summary(result.counts, target, rejects))
    return EXIT_REJECTED if result.counts.rejected else EXIT_OK


@app.command()
def convert(inputs: Inputs = None, output: Output = STDIO, rejects: Rejects = None, pretty: Pretty = False,
            quiet: Quiet = False) -> int:
    """Convert payloads from format 1.0 to 2.0. Records already in 2.0 pass through unchanged."""
    return _convert(Version.V2, inputs, output=output, rejects=rejects, pretty=pretty, quiet=quiet)


@app.command()
def downgrade(inputs: Inputs = None, output: Output = STDIO, rejects: Rejects = None, pretty: Pretty = False,
              quiet: Quiet = False) -> int:
    """Convert payloads from format 2.0 back to 1.0. Records already in 1.0 pass through unchanged."""
    return _convert(Version.V1, inputs, output=output, rejects=rejects, pretty=pretty, quiet=quiet)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=list(argv) if argv is not None else None, prog_name=PROG, standalone_mode=False)
    except typer.TyperException as error:
        error.show()  # type: ignore[attr-defined]
        return int(getattr(error, "exit_code", EXIT_USAGE))
    except typer.Abort:
        return 130
    except BrokenPipeError:
        _say(f"{PROG}: the output was closed before every record was written")
        return EXIT_REJECTED
    return code if isinstance(code, int) else EXIT_OK


def run() -> None:
    """The console script."""
    sys.exit(main())
