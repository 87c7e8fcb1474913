"""Baselines: the findings already known, by fingerprint and count, so CI fails only on new ones. Pure.

A baseline file is JSON: ``{"tool": "migrate1to2 audit", "format": 1,
"fingerprints": {"<fingerprint>": <count>, ...}}``. A fingerprint hashes the rule,
the path and the matched text (keys masked), never the line number, so known
findings stay known when lines move. Each entry suppresses as many findings as it
counts: a second copy of a known call site is new.
"""

from __future__ import annotations

import json
from collections import Counter

from ..errors import MigrateError

__all__ = ["BaselineError", "dump_baseline", "parse_baseline"]

_TOOL = "migrate1to2 audit"
_FORMAT = 1


class BaselineError(MigrateError):
    """A baseline file that cannot be used (exit code 2)."""


def dump_baseline(seen: Counter[str]) -> bytes:
    """The baseline file for the findings counted in ``seen`` (fingerprint -> count)."""
    document = {"tool": _TOOL, "format": _FORMAT, "fingerprints": dict(sorted(seen.items()))}
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def parse_baseline(data: bytes, source: str) -> Counter[str]:
    """The fingerprint counts of a baseline file's content; :class:`BaselineError` naming ``source`` if invalid."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BaselineError(f"{source} is not a baseline file (invalid JSON: {error})") from None
    fingerprints = document.get("fingerprints") if isinstance(document, dict) else None
    if (not isinstance(document, dict) or document.get("tool") != _TOOL or not isinstance(fingerprints, dict)
            or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v > 0
                       for k, v in fingerprints.items())):
        raise BaselineError(f"{source} is not a baseline file written by `migrate1to2 audit --write-baseline`")
    if document.get("format") != _FORMAT:
        raise BaselineError(f"{source} is a baseline of format {document.get('format')!r}; this version reads "
                            f"format {_FORMAT}: write it again with --write-baseline")
    return Counter(fingerprints)
