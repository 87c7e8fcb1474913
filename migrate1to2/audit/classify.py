"""Which files are audited, and how: decided from the name and the first bytes. Pure.

- Payload files: ``.har`` (HAR captures); ``.ndjson`` and ``.jsonl`` files whose
  first 64 KB look like payloads (an ``event_name``, ``event_id`` or ``eventId``
  key, or ``event`` with ``properties``: :func:`looks_like_payloads`); ``.json``
  files that look like payloads, a HAR capture (``{"log": ...``) or a Postman
  collection (``_postman_id`` or its schema URL). Each of these also compressed
  (gzip, bzip2, xz, zstd: told by their magic bytes, named ``.gz``, ``.bz2``,
  ``.xz``, ``.zst``); a compressed file whose inner name has no extension counts
  as NDJSON; other compressed files (``.tar.gz``, ...) are skipped. An NDJSON
  file named on the command line is audited whatever its first bytes.
- Source files: JavaScript/TypeScript (``.js .mjs .cjs .jsx .ts .tsx .mts .cts``,
  and ``.html .htm .vue .svelte`` for web containers), PHP, Python, Java, Kotlin
  (``.kt .kts``), Swift, Objective-C (``.m .mm .h``), Go, Ruby, C#, Dart and shell
  scripts.
- Build files: Gradle (``*.gradle``, ``*.gradle.kts``), version catalogs
  (``*.versions.toml``), ``Podfile``, ``*.podspec``, ``Podfile.lock``,
  ``Package.swift``, ``Package.resolved``.
- Configuration (``.json`` that is not a payload, ``.yml .yaml .toml .ini .cfg
  .conf .properties .xml .plist .env``): source keys only.
- Everything else is skipped, documentation (``.md``, ``.rst``, ``.txt``) included,
  and so is any file with a NUL byte in its first 8 KB (a binary).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..compression import Codec, sniff
from .capture import is_har, is_postman
from .comments import CommentStyle
from .sdk import SdkFile

__all__ = ["SNIFF_BYTES", "Language", "Plan", "compression", "json_payload_kind", "looks_like_payloads", "plan"]

#: How much of a ``.json`` file is read to tell what it is.
SNIFF_BYTES = 1 << 16

_COMPRESSED = (".gz", ".gzip", ".bz2", ".xz", ".zst", ".zstd")
_PAYLOADS = {".ndjson": "records", ".jsonl": "records", ".har": "har", ".json": "json"}
_PAYLOAD_KEYS = re.compile(rb'"(?:event_name|event_id|eventId)"\s*:')
_LEGACY_EVENT = re.compile(rb'"event"\s*:')
_PROPERTIES = re.compile(rb'"properties"\s*:')


class Language(NamedTuple):
    """How a source file is read: its comment style, and whether web containers may be in it."""

    style: CommentStyle
    web: bool = False


_JS = Language(CommentStyle.C, web=True)
_MARKUP = Language(CommentStyle.NONE, web=True)
_C = Language(CommentStyle.C)
_LANGUAGES = {
    **dict.fromkeys((".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts"), _JS),
    **dict.fromkeys((".html", ".htm", ".vue", ".svelte"), _MARKUP),
    **dict.fromkeys((".java", ".kt", ".kts", ".swift", ".m", ".mm", ".h", ".go", ".cs", ".dart"), _C),
    ".php": Language(CommentStyle.PHP),
    ".py": Language(CommentStyle.HASH),
    ".rb": Language(CommentStyle.HASH),
    **dict.fromkeys((".sh", ".bash", ".zsh"), Language(CommentStyle.SHELL)),
}
_CONFIG = {
    **dict.fromkeys((".yml", ".yaml", ".toml", ".ini", ".cfg", ".conf", ".properties", ".env"), CommentStyle.HASH),
    **dict.fromkeys((".json", ".xml", ".plist"), CommentStyle.NONE),
}
_SDK_NAMES = {
    "Podfile": SdkFile.PODFILE,
    "Podfile.lock": SdkFile.PODFILE_LOCK,
    "Package.swift": SdkFile.PACKAGE_SWIFT,
    "Package.resolved": SdkFile.PACKAGE_RESOLVED,
}


class Plan(NamedTuple):
    """What to do with a file. ``payload`` is ``records``, ``har``, ``postman`` or ``json`` (to be sniffed
    once decompressed); ``config`` is the comment style of a file scanned for source keys only."""

    payload: str | None = None
    language: Language | None = None
    sdk: SdkFile | None = None
    config: CommentStyle | None = None
    compressed: str | None = None


def compression(head: bytes) -> str | None:
    """The compression format told by the magic bytes at the start of ``head``, if any."""
    codec = sniff(head)
    return None if codec is Codec.NONE else codec.value


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def looks_like_payloads(head: bytes) -> bool:
    """True when the first bytes of a file hold an ``event_name``, ``event_id`` or ``eventId`` key, or an
    ``event`` key with a ``properties`` key (a 1.0-era web container's records)."""
    return bool(_PAYLOAD_KEYS.search(head) or (_LEGACY_EVENT.search(head) and _PROPERTIES.search(head)))


def json_payload_kind(head: bytes) -> str | None:
    """What a ``.json`` document is from its first bytes: ``har``, ``postman``, ``records`` or ``None``."""
    if is_har(head):
        return "har"
    if is_postman(head):
        return "postman"
    if looks_like_payloads(head):
        return "records"
    return None


def plan(name: str, head: bytes) -> Plan | None:
    """How to audit the file called ``name`` (no directory) starting with ``head``; ``None`` to skip it."""
    compressed = compression(head)
    if compressed:
        inner = next((name[: -len(s)] for s in _COMPRESSED if name.lower().endswith(s)), name)
        kind = _PAYLOADS.get(_suffix(inner)) or ("records" if "." not in inner.lstrip(".") else None)
        return Plan(payload=kind, compressed=compressed) if kind else None
    if b"\0" in head:
        return None
    suffix = _suffix(name)
    if name in _SDK_NAMES:
        sdk = _SDK_NAMES[name]
        return Plan(sdk=sdk, language=_C if sdk is SdkFile.PACKAGE_SWIFT else None)
    if name.endswith((".gradle", ".gradle.kts")):
        return Plan(sdk=SdkFile.GRADLE)
    if name.endswith(".versions.toml"):
        return Plan(sdk=SdkFile.CATALOG)
    if suffix == ".podspec":
        return Plan(sdk=SdkFile.PODSPEC)
    if suffix in _PAYLOADS:
        return Plan(payload=_PAYLOADS[suffix])
    if suffix in _LANGUAGES:
        return Plan(language=_LANGUAGES[suffix])
    if suffix in _CONFIG:
        return Plan(config=_CONFIG[suffix])
    if name == ".env" or name.startswith(".env."):
        return Plan(config=CommentStyle.HASH)
    return None
