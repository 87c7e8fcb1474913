"""Where payloads are sent: the collect endpoint in its spellings. Pure."""

from __future__ import annotations

import re

__all__ = ["ENDPOINT", "endpoint_kind", "is_collect_url"]

#: The collect host (with or without its ``/events`` path), ``/cdp/events`` on a first-party
#: domain, the 2.0 batch path, and the retired pre-1.0 draft endpoint. The configuration API
#: ``api.commander1.com/v2/...`` (sources, destinations) does not match.
ENDPOINT = re.compile(r"""
    (?P<draft>api\.commander1\.com/v2/[^/\s"'`?#]+/events)(?![\w/-])
  | (?P<collect>collect\.commander1\.com(?:/events(?:/batch)?)?)
  | (?P<cdp>/cdp/events(?:/batch)?)
  | (?P<batch>/events/batch)
""", re.X | re.I)

_SITE_PARAM = re.compile(r"tc_s\b", re.I)


def endpoint_kind(match: re.Match[str], line: str) -> str | None:
    """The kind of an :data:`ENDPOINT` match (``collect``, ``cdp``, ``batch``, ``draft``), or ``None``
    for a bare ``/events/batch`` without a ``tc_s`` site parameter in ``line`` (the text around the
    match on its line): another vendor's API."""
    kind = match.lastgroup
    if kind == "batch" and not _SITE_PARAM.search(line):
        return None
    return kind


def is_collect_url(url: str) -> bool:
    """True when ``url`` posts to the collect endpoint (or the retired draft endpoint)."""
    return any(endpoint_kind(match, url) for match in ENDPOINT.finditer(url))
