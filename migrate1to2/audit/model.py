"""What an audit reports: severities, findings, per-file payload counts and the whole report. Pure data."""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..version import Version
from .kinds import Severity

__all__ = ["VERSION_KEYS", "AuditReport", "Finding", "PayloadStats", "Severity", "fingerprint"]

#: The keys of :attr:`PayloadStats.versions`, in report order.
VERSION_KEYS = ("1.0", "2.0", "either", "invalid")


@functools.lru_cache(maxsize=4096)
def _fingerprint(rule: str, path: str, match: str) -> str:
    basis = "\0".join((rule, path, match))
    return hashlib.sha256(basis.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def fingerprint(rule: str, path: str, match: str) -> str:
    """The :attr:`Finding.fingerprint` of a finding of ``rule`` at ``path`` about ``match``."""
    return _fingerprint(rule, path, match)


@dataclass(frozen=True)
class Finding:
    """One thing the audit found, located in a file.

    ``version`` is :attr:`Version.V1` (equal to ``"1.0"``) when the finding shows 1.0 still being produced,
    :attr:`Version.V2` (``"2.0"``) for an informational 2.0 site, ``None`` otherwise. ``match`` is the
    normalised (and masked) text the finding is about; with ``rule`` and ``path``
    it makes the :attr:`fingerprint`, which does not change when lines shift.
    """

    rule: str
    severity: Severity
    path: str
    line: int
    column: int | None
    message: str
    version: Version | None
    match: str = ""
    json_path: str | None = None

    @property
    def fingerprint(self) -> str:
        """A stable identity for baselines: rule, path and matched text, never the line number."""
        return _fingerprint(self.rule, self.path, self.match)

    def at(self, path: str, line: int, column: int | None = None) -> Finding:
        """The same finding, located at ``path:line[:column]``."""
        return Finding(self.rule, self.severity, path, line, column, self.message, self.version, self.match,
                       self.json_path)

    def location(self) -> str:
        """``path:line[:column]``, as compilers print it."""
        column = f":{self.column}" if self.column is not None else ""
        return f"{self.path}:{self.line}{column}"

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON data (the ``findings`` entries of the JSON report)."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "version": None if self.version is None else str(self.version),
            "json_path": self.json_path,
            "fingerprint": self.fingerprint,
        }


def _zero_versions() -> dict[str, int]:
    return dict.fromkeys(VERSION_KEYS, 0)


@dataclass
class PayloadStats:
    """The records of one payload file (or of the request bodies of one capture), counted."""

    path: str
    #: ``records`` (NDJSON, a JSON object or array), ``har`` or ``postman``.
    kind: str
    records: int = 0
    versions: dict[str, int] = field(default_factory=_zero_versions)
    events: dict[str, int] = field(default_factory=dict)
    #: The line of the first 1.0 record, if any.
    first_v1_line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry of the JSON report's ``payloads`` list."""
        return {
            "path": self.path,
            "kind": self.kind,
            "records": self.records,
            "versions": dict(self.versions),
            "events": dict(sorted(self.events.items())),
        }


@dataclass
class AuditReport:
    """Everything one audit found.

    ``findings`` lists at most ``limit`` findings per rule and file (see
    :func:`migrate1to2.audit.audit_paths`); ``totals`` counts every finding by
    rule, listed or not, after the baseline; ``seen`` counts every fingerprint
    before the baseline (what ``--write-baseline`` stores).
    """

    findings: list[Finding] = field(default_factory=list)
    payloads: list[PayloadStats] = field(default_factory=list)
    files: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    totals: Counter[str] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)
    unlisted: int = 0
    suppressed: int = 0

    def sort(self) -> None:
        """Put findings and payload entries in report order (path, line, column, rule)."""
        self.findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule, f.message))
        self.payloads.sort(key=lambda p: p.path)
