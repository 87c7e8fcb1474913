"""Convert Commanders Act tracking payloads between HTTP tracking API format 1.0 and 2.0, exactly.

The conversion is pure: functions on dicts (:func:`upgrade`, :func:`downgrade`,
:func:`detect_version`) and on JSON text (:func:`upgrade_json`,
:func:`downgrade_json`, which copy every value byte for byte), with no I/O and no
printing. The audit (:func:`audit_payload` on a dict, :func:`audit_paths`, which
reads the files and folders it is given) is loaded on first use. :func:`convert_chunk`
converts NDJSON held in memory (any buffer) as the command line converts a file, and
:mod:`migrate1to2.arrow` (extra ``arrow``) converts Arrow string and binary arrays. Importing the
package does not import the command line.
"""

from typing import TYPE_CHECKING, Any

from .chunks import ChunkResult, Counts, Reject, convert_chunk
from .errors import (
    AmbiguousVersionError,
    CollisionError,
    ConversionError,
    DuplicateKeyError,
    InputError,
    InvalidJSONError,
    MigrateError,
    NotAnObjectError,
)
from .rawjson import JsonResult, convert_json, downgrade_json, upgrade_json
from .transform import RESERVED, downgrade, upgrade
from .version import Version, detect_version

if TYPE_CHECKING:
    from .audit import AuditReport, Finding, PayloadStats, Severity, audit_paths, audit_payload

__version__ = "0.1.0"
_AUDIT = ("AuditReport", "Finding", "PayloadStats", "Severity", "audit_paths", "audit_payload")


def __getattr__(name: str) -> Any:
    if name in _AUDIT:
        from . import audit

        value = getattr(audit, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "RESERVED",
    "AmbiguousVersionError",
    "AuditReport",
    "ChunkResult",
    "CollisionError",
    "ConversionError",
    "Counts",
    "DuplicateKeyError",
    "Finding",
    "InputError",
    "InvalidJSONError",
    "JsonResult",
    "MigrateError",
    "NotAnObjectError",
    "PayloadStats",
    "Reject",
    "Severity",
    "Version",
    "__version__",
    "audit_paths",
    "audit_payload",
    "convert_chunk",
    "convert_json",
    "detect_version",
    "downgrade",
    "downgrade_json",
    "upgrade",
    "upgrade_json",
]
