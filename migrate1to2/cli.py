"""The command line: parses options, calls the I/O layer, reports on stderr. Data goes to stdout only.

Exit codes: 0 success; 1 records rejected (or the run stopped at one), or audit findings;
2 usage or I/O error; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Annotated

import typer

from .convert.records import Counts, Settings
from .convert.run import JobResult, Options, run_job
from .envelope import parse_pointer
from .errors import MigrateError
from .storage.compression import Codec
from .storage.files import STDIO, STDOUT_CLOSED, OutputClosed, interrupt, stdout_error
from .storage.plan import UsageError, make_plan
from .version import Version

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

Inputs = Annotated[list[str] | None, typer.Argument(
    metavar="INPUT...", show_default=False,
    help="Payload files (NDJSON, a JSON object or an array of objects; gzip, bzip2, xz or zstd compressed or "
         "not) or directories. '-' or none: stdin.")]
Output = Annotated[str, typer.Option(
    "-o", "--output", metavar="OUTPUT", show_default=False,
    help="Write the result to this file instead of stdout; or, for directories and several files, into this "
         "directory (mirroring trees). Files appear atomically.")]
Rejects = Annotated[str | None, typer.Option(
    "--rejects", metavar="FILE", show_default=False,
    help="Set records that cannot be converted aside in FILE (NDJSON, one line each) and go on. "
         "Without it the first such record stops the run.")]
Pretty = Annotated[bool, typer.Option("--pretty", help="Indent the output of a JSON object or array input.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Do not print the summary on stderr.")]
Jobs = Annotated[int | None, typer.Option(
    "-j", "--jobs", metavar="N", show_default="the number of CPUs",
    help="Convert with N workers (threads, or processes where the C accelerator is not compiled), across files "
         "and inside large files; the output is the same.")]
Include = Annotated[list[str] | None, typer.Option(
    "--include", metavar="GLOB", show_default=False,
    help="In directories, convert only files matching GLOB (a name such as '*.ndjson.gz', or a path such as "
         "'2023/*'); repeatable.")]
Exclude = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="GLOB", show_default=False,
    help="In directories, leave out files matching GLOB; repeatable.")]
SkipExisting = Annotated[bool, typer.Option(
    "--skip-existing", help="Skip inputs whose output file exists (outputs appear only when complete, so this "
                            "resumes an interrupted run).")]
InPlace = Annotated[bool, typer.Option(
    "--in-place", help="Replace each input file by its conversion, atomically. A file with nothing to convert "
                       "is left untouched.")]
Backup = Annotated[str | None, typer.Option(
    "--backup", metavar="SUFFIX", show_default=False,
    help="With --in-place, keep each replaced file under its name plus SUFFIX (e.g. .v1).")]
Compress = Annotated[Codec | None, typer.Option(
    "--compress", case_sensitive=False, show_default=False,
    help="Compress the output with this format (default: as the output file's name says; in directories, "
         "as each input was). File names get the matching suffix.")]
Stats = Annotated[str | None, typer.Option(
    "--stats", metavar="FILE", show_default=False,
    help="Write a JSON report to FILE: per input, records in, converted, unchanged, rejected, bytes and seconds.")]
PayloadPath = Annotated[str, typer.Option(
    "--payload-path", metavar="POINTER", show_default=False,
    help="The payload is inside each record at this JSON Pointer (e.g. /body), as an object or a JSON string; "
         "the rest of the record is left untouched.")]
Fsync = Annotated[bool, typer.Option(
    "--fsync/--no-fsync",
    help="Flush each output file (and the rejects and stats files) to disk before it appears under its name, so "
         "that it is complete even after a crash or power cut and --skip-existing can trust it. --no-fsync leaves "
         "the writing to the system: faster while outputs fit in memory, but after a crash rerun without "
         "--skip-existing.")]
MaxRecordBytes = Annotated[str, typer.Option(
    "--max-record-bytes", metavar="SIZE", show_default="16M",
    help="Reject a record larger than SIZE (bytes, or with K, M or G) instead of loading it.")]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)B?\s*", text, re.IGNORECASE)
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--max-record-bytes takes a size such as 65536, 512K or 16M, not {text!r}")
    return int(match.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[match.group(2).upper()]


def _summary(result: JobResult, target: Version, rejects: str | None, *, per_file: bool) -> str:
    counts: Counts = result.counts
    already = "1.0" if target is Version.V1 else "2.0"
    files = sum(1 for file in result.files if not file.status.startswith("skipped"))
    where = f" in {files} file{'s' if files != 1 else ''}" if per_file else ""
    line = (f"{PROG}: {counts.records} records{where}: {counts.converted} converted, "
            f"{counts.unchanged} unchanged (already {already} or the same in both), {counts.rejected} rejected")
    if counts.rejected and rejects:
        line += f" (see {rejects})"
    existing = sum(1 for file in result.files if file.status == "skipped: output exists")
    if existing:
        line += f"; {existing} file{'s' if existing != 1 else ''} skipped, output already there"
    failed = len(result.failed)
    if failed:
        line += f"; {failed} path{'s' if failed != 1 else ''} could not be read (not converted: see above)"
    return line


def _convert(target: Version, inputs: list[str] | None, *, output: str, rejects: str | None, pretty: bool,
             quiet: bool, jobs: int | None, include: list[str] | None, exclude: list[str] | None,
             skip_existing: bool, in_place: bool, backup: str | None, compress: Codec | None, stats: str | None,
             payload_path: str, max_record_bytes: str, fsync: bool) -> int:
    try:
        if backup is not None and not in_place:
            raise UsageError("--backup goes with --in-place")
        if in_place and compress is not None:
            raise UsageError("--in-place keeps each file's name and compression: --compress cannot go with it")
        if in_place and not fsync:
            raise UsageError("--in-place replaces the only copy of each file: it always flushes it to disk first, "
                             "and --no-fsync cannot go with it")
        if jobs is not None and jobs < 1:
            raise UsageError("--jobs takes a number of workers, 1 or more")
        try:
            pointer = parse_pointer(payload_path)
        except ValueError as error:
            raise UsageError(f"--payload-path: {error}") from None
        settings = Settings(target, stop_at_reject=rejects is None, pretty=pretty, payload_path=pointer,
                            max_record_bytes=_size(max_record_bytes))
        names = inputs or [STDIO]
        if STDIO in names and (sys.stdin is None or sys.stdin.isatty()):
            raise UsageError("no input: give payload files, or pipe payloads to stdin")
        if in_place and skip_existing:
            raise UsageError("--skip-existing skips inputs whose output exists: with --in-place every output exists; "
                             "rerunning --in-place is safe on its own (files with nothing to convert are left alone)")
        sides = [(option, path) for option, path in (("--rejects", rejects), ("--stats", stats)) if path is not None]
        plan = make_plan(names, output, include=include or (), exclude=exclude or (), in_place=in_place,
                         compress=compress, side_outputs=sides, backup=backup)
        if pretty and plan.output is not None and len(plan.tasks) > 1:
            raise UsageError("--pretty goes with a single input: several inputs are joined into one NDJSON output")
        options = Options(settings, jobs=jobs or os.cpu_count() or 1, rejects=rejects, skip_existing=skip_existing,
                          backup=backup, in_place=in_place, compress=compress if plan.output is not None else None,
                          stats=stats, fsync=fsync)
        with _terminate_as_interrupt():
            result = run_job(plan, options, warn=lambda text: _say(f"{PROG}: warning: {text}"),
                             show_progress=not quiet and sys.stderr.isatty(), note=lambda text: _say(f"{PROG}: {text}"))
    except MigrateError as error:
        if isinstance(error, OutputClosed):
            _silence_stdout()
        _say(f"{PROG}: error: {error}")
        return EXIT_USAGE
    except (KeyboardInterrupt, Terminated) as stop:
        how = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
        resume = "rerun to finish" if in_place else "rerun with --skip-existing to resume"
        _say(f"{PROG}: {how}; finished output files are complete, unfinished ones were not written ({resume})")
        return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED
    for skipped in result.skipped:
        _say(f"{PROG}: skipped {skipped.path}: {skipped.reason}")
    for failed in result.failed:
        _say(f"{PROG}: error: {failed.path}: {failed.reason}")
    if result.stopped_at is not None:
        _say(result.stopped_at.message())
        _say(f"{PROG}: stopped at the first record that cannot be converted; {_unwritten(result, plan.output)}. "
             "Use --rejects FILE to set such records aside and convert the rest.")
        return EXIT_USAGE if result.failed else EXIT_REJECTED
    if not quiet:
        _say(_summary(result, target, rejects, per_file=plan.output is None))
    if result.failed:
        return EXIT_USAGE
    return EXIT_REJECTED if result.counts.rejected else EXIT_OK


class Terminated(BaseException):
    """SIGTERM arrived: the job unwinds as on Ctrl-C (temporary files removed, finished files kept)."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While converting, SIGTERM stops the job as Ctrl-C does, and neither cuts a write to an output in half
    (see :func:`migrate1to2.storage.files.shielded`). Only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(number: int, frame: object) -> None:
        for each in (signal.SIGINT, signal.SIGTERM):  # one is enough: let the clean-up finish
            signal.signal(each, signal.SIG_IGN)
        interrupt(Terminated() if number == signal.SIGTERM else KeyboardInterrupt())

    # A signal ignored by whoever started this (nohup, a background job) stays ignored.
    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(number) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _silence_stdout() -> None:
    """Point stdout at /dev/null: its reader is gone, and Python would complain when flushing it at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _unwritten(result: JobResult, output: str | None) -> str:
    if output is None:
        stopped = result.files[-1]
        done = sum(1 for file in result.files if file.status == "converted")
        finished = (f"the {done} files finished before it are complete" if done > 1 else
                    "the file finished before it is complete" if done else "")
        return f"{stopped.output} was not written" + (f"; {finished}" if finished else "")
    if output != STDIO:
        return f"{output} was not written"
    before = result.counts.converted + result.counts.unchanged
    if before:
        return f"the {before} record{'s' if before > 1 else ''} before it went to stdout"
    return "nothing was written"


@app.command()
def convert(inputs: Inputs = None, output: Output = STDIO, rejects: Rejects = None, pretty: Pretty = False,
            quiet: Quiet = False, jobs: Jobs = None, include: Include = None, exclude: Exclude = None,
            skip_existing: SkipExisting = False, in_place: InPlace = False, backup: Backup = None,
            compress: Compress = None, stats: Stats = None, payload_path: PayloadPath = "",
            max_record_bytes: MaxRecordBytes = "16M", fsync: Fsync = True) -> int:
    """Convert payloads from format 1.0 to 2.0. Records already in 2.0 pass through unchanged."""
    return _convert(Version.V2, inputs, output=output, rejects=rejects, pretty=pretty, quiet=quiet, jobs=jobs,
                    include=include, exclude=exclude, skip_existing=skip_existing, in_place=in_place, backup=backup,
                    compress=compress, stats=stats, payload_path=payload_path, max_record_bytes=max_record_bytes,
                    fsync=fsync)


@app.command()
def downgrade(inputs: Inputs = None, output: Output = STDIO, rejects: Rejects = None, pretty: Pretty = False,
              quiet: Quiet = False, jobs: Jobs = None, include: Include = None, exclude: Exclude = None,
              skip_existing: SkipExisting = False, in_place: InPlace = False, backup: Backup = None,
              compress: Compress = None, stats: Stats = None, payload_path: PayloadPath = "",
              max_record_bytes: MaxRecordBytes = "16M", fsync: Fsync = True) -> int:
    """Convert payloads from format 2.0 back to 1.0. Records already in 1.0 pass through unchanged."""
    return _convert(Version.V1, inputs, output=output, rejects=rejects, pretty=pretty, quiet=quiet, jobs=jobs,
                    include=include, exclude=exclude, skip_existing=skip_existing, in_place=in_place, backup=backup,
                    compress=compress, stats=stats, payload_path=payload_path, max_record_bytes=max_record_bytes,
                    fsync=fsync)


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
        _silence_stdout()
        _say(f"{PROG}: error: stdout was closed before everything was written")
        return EXIT_USAGE
    return code if isinstance(code, int) else EXIT_OK


def run() -> None:
    """The console script (a whole program, so it may tune the process: see ``retain_freed_memory``)."""
    try:
        from ._speedups import retain_freed_memory
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

# migrate1to2 audit: option parsing only; the audit lives in migrate1to2/audit/.

from .audit.kinds import OutputFormat, Severity  # noqa: E402

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
    help="Skip paths matching GLOB (a path such as 'tests/*', or a file or folder name); repeatable.")]
AuditLimit = Annotated[int, typer.Option(
    "--limit", metavar="N", help="List at most N findings per rule and file (0: all); every finding is counted.")]


@app.command()
def audit(paths: AuditPaths = None, *, output_format: AuditFormat = OutputFormat.TEXT,
          baseline: AuditBaseline = None, write_baseline: AuditWriteBaseline = None, fail_on: AuditFailOn = None,
          include_vendored: AuditVendored = False, exclude: AuditExclude = None, limit: AuditLimit = 100) -> int:
    """Find where format 1.0 is still produced: payload files and captures, code, web containers, mobile SDKs.

    Severities: info < warning < error. Exit codes: 0 nothing shows 1.0 being produced; 1 something does (or a
    finding is at or above --fail-on); 2 usage or I/O error.
    """
    from .audit.command import run_audit

    if sys.stdout is None:
        _say(f"{PROG}: error: {STDOUT_CLOSED}")
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
        _say(f"{PROG}: error: {stdout_error(error)}")
        return EXIT_USAGE
    for line in result.diagnostics:
        _say(line)
    return result.exit_code
