"""``migrate1to2 audit``: option parsing only; the audit lives in :mod:`migrate1to2.audit`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..audit.kinds import OutputFormat, Severity
from ..storage.files import STDOUT_CLOSED, stdout_error
from .app import EXIT_USAGE, PROG, say
from .options import StorageOption, storage_options

AuditPaths = Annotated[list[str] | None, typer.Argument(
    metavar="PATH...", show_default=False,
    help="Files and folders to audit (default: the current folder).")]
AuditFormat = Annotated[OutputFormat, typer.Option(
    "--format", "-f", case_sensitive=False,
    help="text: `path:line:col: rule: message` and a summary; json; sarif (SARIF 2.1.0, for code scanning).")]
AuditBaseline = Annotated[str | None, typer.Option(
    "--baseline", metavar="FILE", show_default=False,
    help="Suppress the findings known in FILE (written by --write-baseline): only new ones are reported.")]
AuditWriteBaseline = Annotated[str | None, typer.Option(
    "--write-baseline", metavar="FILE", show_default=False,
    help="Store every finding of this run in FILE as known, and exit 0.")]
AuditFailOn = Annotated[Severity | None, typer.Option(
    "--fail-on", case_sensitive=False, show_default=False,
    help="Also exit 1 on any finding at or above this severity (info < warning < error).")]
AuditVendored = Annotated[bool, typer.Option(
    "--include-vendored", help="Also audit .git, node_modules, vendor, Pods, build output, virtualenvs and caches.")]
AuditExclude = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="GLOB", show_default=False,
    help="Skip files and folders matching GLOB (a name such as 'tests', or a path below the folder audited such "
         "as 'tests/*'); repeatable.")]
AuditLimit = Annotated[int, typer.Option(
    "--limit", metavar="N", help="List at most N findings per rule and file (0: all); every finding is counted.")]


def audit(paths: AuditPaths = None, *, output_format: AuditFormat = OutputFormat.TEXT,
          baseline: AuditBaseline = None, write_baseline: AuditWriteBaseline = None, fail_on: AuditFailOn = None,
          include_vendored: AuditVendored = False, exclude: AuditExclude = None, limit: AuditLimit = 100,
          storage_option: StorageOption = None) -> int:
    """Find where format 1.0 is still produced: payload files and captures, code, web containers, mobile SDKs.

    Severities: info < warning < error. Exit codes: 0 nothing shows 1.0 being produced; 1 something does (or a
    finding is at or above --fail-on); 2 usage or I/O error.
    """
    from ..audit.command import run_audit
    from ..errors import MigrateError
    from ..storage.urls import local_path, set_storage_options

    if storage_option:
        try:
            set_storage_options(storage_options(storage_option))
        except MigrateError as error:
            say(f"{PROG}: error: {error}")
            return EXIT_USAGE
    paths = [local_path(path) for path in paths] if paths else paths
    if sys.stdout is None:
        say(f"{PROG}: error: {STDOUT_CLOSED}")
        return EXIT_USAGE
    result = run_audit(paths or ["."], output_format=output_format, baseline=baseline, write_baseline=write_baseline,
                       fail_on=fail_on, include_vendored=include_vendored, exclude=exclude or (), limit=limit)
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(result.output.encode("utf-8", "backslashreplace"))
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise  # main() reports it
    except OSError as error:
        say(f"{PROG}: error: {stdout_error(error)}")
        return EXIT_USAGE
    for line in result.diagnostics:
        say(line)
    return result.exit_code
