"""Convert Commanders Act tracking payloads between HTTP tracking API format 1.0 and 2.0, exactly.

The library is pure: functions on dicts (:func:`upgrade`, :func:`downgrade`,
:func:`detect_version`) and on JSON text (:func:`upgrade_json`,
:func:`downgrade_json`, which copy every value byte for byte). No I/O, no
printing; importing it does not import the command line.
"""

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

__version__ = "0.1.0"

__all__ = [
    "RESERVED",
    "AmbiguousVersionError",
    "CollisionError",
    "ConversionError",
    "DuplicateKeyError",
    "InputError",
    "InvalidJSONError",
    "JsonResult",
    "MigrateError",
    "NotAnObjectError",
    "Version",
    "__version__",
    "convert_json",
    "detect_version",
    "downgrade",
    "downgrade_json",
    "upgrade",
    "upgrade_json",
]
