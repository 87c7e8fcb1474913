"""Where findings go while files are audited: baseline suppression, per-file listing limit, totals. Pure."""

from __future__ import annotations

from collections import Counter

from .model import AuditReport, Finding, fingerprint

__all__ = ["Sink"]


class Sink:
    """Collects findings into a report.

    Every finding's fingerprint is counted in ``report.seen`` (what a new baseline
    stores). A finding whose fingerprint the baseline still holds is suppressed
    (each baseline entry suppresses as many findings as it counts). The others
    are counted in ``report.totals``; at most ``limit`` per rule and file are
    listed (``limit`` 0: all), which keeps memory bounded on large archives.
    """

    def __init__(self, report: AuditReport, *, limit: int = 0, baseline: Counter[str] | None = None) -> None:
        self.report = report
        self.limit = limit
        self.baseline = Counter(baseline or {})
        self._listed: Counter[str] = Counter()

    def start_file(self) -> None:
        """A new file: the listing limit starts again."""
        self._listed = Counter()

    def skip(self, rule: str, path: str, match: str) -> bool:
        """Count a finding of ``rule`` at ``path`` about ``match`` that would not be listed (the baseline knows
        it, or its rule's listing is full for this file) as :meth:`add` would, and say so; False (nothing
        counted) when it would be listed: then build it and :meth:`add` it."""
        known = fingerprint(rule, path, match)
        if self.baseline[known] > 0:
            self.report.seen[known] += 1
            self.baseline[known] -= 1
            self.report.suppressed += 1
            return True
        if self.limit and self._listed[rule] >= self.limit:
            self.report.seen[known] += 1
            self.report.totals[rule] += 1
            self.report.unlisted += 1
            return True
        return False

    def add(self, finding: Finding) -> None:
        fingerprint = finding.fingerprint
        self.report.seen[fingerprint] += 1
        if self.baseline[fingerprint] > 0:
            self.baseline[fingerprint] -= 1
            self.report.suppressed += 1
            return
        self.report.totals[finding.rule] += 1
        if self.limit and self._listed[finding.rule] >= self.limit:
            self.report.unlisted += 1
            return
        self._listed[finding.rule] += 1
        self.report.findings.append(finding)
