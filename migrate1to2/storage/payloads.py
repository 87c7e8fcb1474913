"""The one payload detector: whether a file holds payloads, and how they are framed, from its name and
its first bytes. Pure (names and bytes in); ``convert`` and ``audit`` both ask it.

By name (a compression suffix left out: ``x.ndjson.gz``):

- ``.ndjson``, ``.jsonl``, ``.jsonlines``: :attr:`Framing.RECORDS` (NDJSON; the readers also read an
  array or one object written there, as its bytes tell);
- ``.json``: :attr:`Framing.JSON`, a JSON document told by its first bytes (:func:`document_framing`):
  records (an array, or one object), a HAR capture or a Postman collection;
- ``.har``: :attr:`Framing.HAR`, a HAR capture (logged requests: the events are in their bodies);
- a compressed file whose inner name has no extension (``events.gz``, a rotated log): NDJSON.

By its first bytes (decompressed): a file that does not start with a JSON object or array (after
whitespace) holds no payloads (:func:`starts_like_json`); a JSON document starting ``{"log":`` is a
HAR capture, one naming ``_postman_id`` or the Postman schema a Postman collection.

What each command makes of it: ``convert`` takes in a tree every file that starts like JSON (and
empty files named as :data:`RECORDS` or :data:`JSON`), but never a HAR capture or a Postman collection
(reported as skipped: converting one would wrap the whole capture in ``context``); ``audit`` reads
the files named as above, and HAR captures and Postman collections for the events they sent.
"""

from __future__ import annotations

import re
from enum import Enum

from ..jsontext import JSON_WS
from .compression import COMPRESSED_SUFFIXES

__all__ = ["Framing", "document_framing", "file_framing", "is_har", "is_postman", "named_framing",
           "starts_like_json"]


class Framing(str, Enum):
    """How a payload file holds its payloads (the values are the audit report's ``kind`` of a payload file)."""

    #: Records: NDJSON lines (or an array of records, or one record, as the bytes tell).
    RECORDS = "records"
    #: A JSON document, to be told by its first bytes: records, a HAR capture or a Postman collection.
    JSON = "json"
    #: A HAR capture: the payloads are the bodies of its requests to the collect endpoint.
    HAR = "har"
    #: A Postman collection: the payloads are the bodies of its requests.
    POSTMAN = "postman"

    @property
    def capture(self) -> bool:
        """Whether the payloads are request bodies inside a capture (HAR, Postman), not records of their own."""
        return self in (Framing.HAR, Framing.POSTMAN)


_BY_SUFFIX = {".ndjson": Framing.RECORDS, ".jsonl": Framing.RECORDS, ".jsonlines": Framing.RECORDS,
              ".json": Framing.JSON, ".har": Framing.HAR}
_BOM = b"\xef\xbb\xbf"
_HAR = re.compile(rb"\s*(?:\xef\xbb\xbf)?\{\s*\"log\"\s*:")


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _inner(name: str) -> str | None:
    """The name without its compression suffix (``x.ndjson`` for ``x.ndjson.gz``), ``None`` without one."""
    lowered = name.lower()
    return next((name[: -len(suffix)] for suffix in COMPRESSED_SUFFIXES if lowered.endswith(suffix)), None)


def named_framing(name: str) -> Framing | None:
    """What a file's name says it holds, a compression suffix left out (``x.json.gz``: JSON); ``None``: not payloads."""
    inner = _inner(name)
    return _BY_SUFFIX.get(_suffix(name if inner is None else inner))


def file_framing(name: str, *, compressed: bool) -> Framing | None:
    """What a file holds by its name, knowing whether its bytes are compressed.

    Compressed: as :func:`named_framing`, and an inner name without an extension (``events.gz``) is
    NDJSON. Not compressed, the name as it is tells (``x.ndjson.gz`` holding plain text: nothing).
    """
    if not compressed:
        return _BY_SUFFIX.get(_suffix(name))
    inner = _inner(name)
    inner = name if inner is None else inner
    return _BY_SUFFIX.get(_suffix(inner)) or (Framing.RECORDS if "." not in inner.lstrip(".") else None)


def starts_like_json(head: bytes) -> bool:
    """Whether a file's first bytes (decompressed) start like payloads: a JSON object or array (a BOM aside)."""
    return head.removeprefix(_BOM).lstrip(JSON_WS)[:1] in (b"{", b"[")


def is_har(head: bytes) -> bool:
    """True when a JSON document starts like a HAR capture (``{"log": ...``)."""
    return _HAR.match(head) is not None


def is_postman(head: bytes) -> bool:
    """True when a JSON document looks like a Postman collection (``_postman_id`` or its schema URL)."""
    return b'"_postman_id"' in head or b"schema.getpostman.com" in head


def document_framing(head: bytes) -> Framing:
    """What a JSON document is from its first bytes: a HAR capture, a Postman collection, or :attr:`Framing.JSON`."""
    if is_har(head):
        return Framing.HAR
    if is_postman(head):
        return Framing.POSTMAN
    return Framing.JSON
