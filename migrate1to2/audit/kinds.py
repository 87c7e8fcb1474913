"""The audit's option values (severities and report formats) and the version a record is counted under:
light, as the CLI imports them at start-up."""

from __future__ import annotations

from enum import Enum

__all__ = ["OutputFormat", "RecordVersion", "Severity"]


class Severity(str, Enum):
    """How serious a finding is. Ordered: ``info`` < ``warning`` < ``error``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error."""
        return _RANKS[self.value]

    def __str__(self) -> str:
        return self.value


_RANKS = {"info": 0, "warning": 1, "error": 2}


class OutputFormat(str, Enum):
    """How the report is written."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


class RecordVersion(str, Enum):
    """What a record of a payload is counted as: its format (as :func:`migrate1to2.detect_version` tells it),
    or ``invalid`` (not JSON, not an object, or its version cannot be told). The values are the report's."""

    V1 = "1.0"
    V2 = "2.0"
    EITHER = "either"
    INVALID = "invalid"

    def __str__(self) -> str:
        return self.value
