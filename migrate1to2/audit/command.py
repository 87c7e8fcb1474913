"""``migrate1to2 audit`` without its option parsing: run the audit, read and write baselines, pick the exit code.

The command line prints :attr:`AuditRun.output` on stdout and the diagnostics on
stderr. Exit codes: 0 nothing shows 1.0 being produced (and nothing at or above
``fail_on``); 1 something does; 2 a usage error, an unreadable path or baseline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import __version__
from ..errors import MigrateError
from ..storage.files import open_atomic, open_input
from .baseline import dump_baseline, parse_baseline
from .model import AuditReport, Severity
from .report import OutputFormat, render
from .rules import RULES
from .walk import audit_paths

__all__ = ["EXIT_FOUND", "EXIT_OK", "EXIT_USAGE", "AuditRun", "exit_code", "run_audit"]

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
_PROG = "migrate1to2"


@dataclass
class AuditRun:
    """What the command prints and returns."""

    output: str
    diagnostics: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    report: AuditReport | None = None


def exit_code(report: AuditReport, fail_on: Severity | None = None) -> int:
    """1 when a finding shows 1.0 being produced or is at or above ``fail_on``, else 0 (2 for unreadable files)."""
    if report.errors:
        return EXIT_USAGE
    for rule_id, count in report.totals.items():
        rule = RULES[rule_id]
        if count and (rule.version == "1.0" or (fail_on is not None and rule.severity.rank >= fail_on.rank)):
            return EXIT_FOUND
    return EXIT_OK


def _read_baseline(path: str) -> Counter[str]:
    with open_input(path) as stream:
        data = stream.read()
    return parse_baseline(data, path)


def run_audit(paths: Sequence[str], *, output_format: OutputFormat = OutputFormat.TEXT,
              baseline: str | None = None, write_baseline: str | None = None, fail_on: Severity | None = None,
              include_vendored: bool = False, exclude: Sequence[str] = (), limit: int = 100) -> AuditRun:
    """Audit ``paths`` and render the report; with ``write_baseline``, also store every finding as known
    (the run then exits 0 unless a file cannot be read)."""
    if limit < 0:
        return AuditRun("", [f"{_PROG}: error: --limit must be 0 (no limit) or more"], EXIT_USAGE)
    try:
        known = _read_baseline(baseline) if baseline is not None else None
        report = audit_paths(paths or ["."], include_vendored=include_vendored, exclude=exclude, limit=limit,
                             baseline=known)
    except (MigrateError, OSError) as error:
        return AuditRun("", [f"{_PROG}: error: {error}"], EXIT_USAGE)
    diagnostics = [f"{_PROG}: note: {note}" for note in report.notes]
    diagnostics += [f"{_PROG}: error: {error}" for error in report.errors]
    code = exit_code(report, fail_on)
    if write_baseline is not None:
        try:
            out = open_atomic(write_baseline)
            try:
                out.write(dump_baseline(report.seen))
                out.commit()
            except BaseException:
                out.discard()
                raise
        except MigrateError as error:
            diagnostics.append(f"{_PROG}: error: {error}")
            return AuditRun(render(report, output_format, tool_version=__version__), diagnostics, EXIT_USAGE,
                            report)
        diagnostics.append(f"{_PROG}: wrote {sum(report.seen.values())} known findings to {write_baseline}")
        code = EXIT_USAGE if report.errors else EXIT_OK
    return AuditRun(render(report, output_format, tool_version=__version__), diagnostics, code, report)
