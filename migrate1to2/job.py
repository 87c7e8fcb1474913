"""A conversion job: inputs to one output, with rejects and counts. The I/O layer the CLI drives."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .errors import MigrateError
from .files import STDIO, AtomicFile, display_name, open_input
from .records import Counts, Reject, Shape
from .streams import convert_stream
from .version import Version

__all__ = ["JobResult", "UsageError", "check_inputs", "convert_files"]


class UsageError(MigrateError):
    """Arguments that do not fit together (exit code 2)."""


class _Stopped(Exception):
    """Unwinds the job at the first reject, discarding the outputs being written."""


@dataclass
class JobResult:
    counts: Counts = field(default_factory=Counts)
    #: The record that stopped the run (when not collecting rejects).
    stopped_at: Reject | None = None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_inputs(inputs: Sequence[str], output: str) -> None:
    """Fail before any output is written on inputs that cannot be read or that the output would overwrite."""
    for name in inputs:
        if name == STDIO:
            if sys.stdin is None or sys.stdin.isatty():
                raise UsageError("no input: give payload files, or pipe payloads to stdin")
            continue
        open_input(name).close()
        if output != STDIO and _same_file(name, output):
            raise UsageError(f"the output {output} is also an input: write the result to another file")
    if output != STDIO and os.path.isdir(output):
        raise UsageError(f"the output {output} is a directory: give a file name")


def convert_files(inputs: Sequence[str], output: str, target: Version, *, rejects: str | None = None,
                  pretty: bool = False, warn: Callable[[str], object] = print) -> JobResult:
    """Convert ``inputs`` (``-`` is stdin) into ``output`` (``-`` is stdout), keeping each input's shape.

    Without ``rejects`` the first record that cannot be converted stops the job and
    ``output`` is not written (stdout keeps what came before it). With ``rejects``,
    each such record becomes one NDJSON line of that file and the job goes on.
    Files appear atomically.
    """
    check_inputs(inputs, output)
    result = JobResult()
    try:
        with contextlib.ExitStack() as stack:
            if output == STDIO:
                write: Callable[[bytes], object] = sys.stdout.buffer.write
            else:
                write = stack.enter_context(AtomicFile(output)).write
            keep: Callable[[Reject], object] | None = None
            if rejects is not None:
                reject_file = stack.enter_context(AtomicFile(rejects))
                keep = lambda reject: reject_file.write(reject.to_json() + b"\n")  # noqa: E731
            for name in inputs:
                source = display_name(name)
                stream = open_input(name)
                with stream if name != STDIO else contextlib.nullcontext(stream):
                    converted = convert_stream(stream, write, target, source, on_reject=keep,
                                               stop_at_reject=keep is None, pretty=pretty)
                result.counts.add(converted.counts)
                if converted.stopped_at is not None:
                    result.stopped_at = converted.stopped_at
                    raise _Stopped
                if converted.shape is Shape.ARRAY and len(inputs) > 1:
                    raise UsageError(f"{source} is a JSON array: several inputs can only be joined into one "
                                     "output as NDJSON; convert it on its own")
                if pretty and converted.shape is Shape.NDJSON and converted.counts.records > 1:
                    warn(f"{source}: --pretty has no effect on NDJSON input (one record per line)")
    except _Stopped:
        pass
    return result
