"""A job's terms: the :class:`Options` it runs with, and what it reports (:class:`JobResult`).

Plain data: :mod:`.run` fills these in; the command line prints them and ``--stats`` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..storage.compression import Codec
from ..storage.files import display_name, printable
from ..storage.plan import Skipped
from .records import Counts, Reject, Settings

__all__ = ["FileReport", "JobResult", "Options", "Status"]


@dataclass(frozen=True)
class Options:
    """How a job runs (what each record becomes is in ``settings``)."""

    settings: Settings
    jobs: int = 1
    rejects: str | None = None
    skip_existing: bool = False
    #: In-place runs: the suffix under which each replaced file is kept.
    backup: str | None = None
    in_place: bool = False
    #: The compression of the single output (``None``: as its name says).
    compress: Codec | None = None
    stats: str | None = None
    #: Flush every output file to disk before renaming it into place (see :class:`AtomicFile`).
    fsync: bool = True


class Status(str, Enum):
    """What became of one input (its value is what ``--stats`` writes)."""

    CONVERTED = "converted"
    #: In place, with nothing to convert: the file was left as it was.
    UNCHANGED = "unchanged"
    #: The run stopped at a record of this input.
    STOPPED = "stopped"
    SKIPPED_EXISTING = "skipped: output exists"
    SKIPPED_NOT_PAYLOADS = "skipped: not a payload file"

    @property
    def skipped(self) -> bool:
        return self in (Status.SKIPPED_EXISTING, Status.SKIPPED_NOT_PAYLOADS)


@dataclass
class FileReport:
    """What happened to one input."""

    input: str
    output: str | None
    status: Status
    counts: Counts = field(default_factory=Counts)
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        output = None if self.output is None else display_name(self.output)
        return {"input": display_name(self.input), "output": output, "status": self.status.value,
                "records": self.counts.records,
                "converted": self.counts.converted, "unchanged": self.counts.unchanged,
                "rejected": self.counts.rejected, "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
                "seconds": round(self.seconds, 6)}


@dataclass
class JobResult:
    files: list[FileReport] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    skipped: list[Skipped] = field(default_factory=list)
    #: Entries of a tree that could not be read (see :attr:`Plan.failed`): the run fails (exit code 2).
    failed: list[Skipped] = field(default_factory=list)
    #: The record that stopped the run (when not collecting rejects).
    stopped_at: Reject | None = None

    def stats(self, seconds: float) -> dict[str, object]:
        """The ``--stats`` report."""
        counts = self.counts
        return {
            "files": [file.to_dict() for file in self.files],
            "total": {"files": len(self.files), "failed": len(self.failed), "records": counts.records,
                      "converted": counts.converted,
                      "unchanged": counts.unchanged, "rejected": counts.rejected,
                      "bytes_in": sum(file.bytes_in for file in self.files),
                      "bytes_out": sum(file.bytes_out for file in self.files),
                      "seconds": round(seconds, 6)},
            "skipped": [{"path": printable(skipped.path), "reason": skipped.reason} for skipped in self.skipped],
            "failed": [{"path": printable(failed.path), "reason": failed.reason} for failed in self.failed],
        }
