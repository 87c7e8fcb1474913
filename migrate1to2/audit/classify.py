"""Which files are audited, and how: decided from the name and the first bytes. Pure.

- Payload files, as :mod:`migrate1to2.storage.payloads` (the detector ``convert`` uses too) tells
  them: ``.har`` (HAR captures); ``.ndjson``, ``.jsonl`` and ``.jsonlines`` files whose
  first 64 KB hold a payload (:func:`looks_like_payloads`); ``.json`` files that
  hold payloads, a HAR capture (``{"log": ...``) or a Postman collection
  (``_postman_id`` or its schema URL). Each of these also compressed (gzip, bzip2,
  xz, zstd: told by their magic bytes, named ``.gz``, ``.bz2``, ``.xz``, ``.zst``);
  a compressed file whose inner name has no extension counts as NDJSON; other
  compressed files (``.tar.gz``, ...) are skipped.
- A payload is told by the keys at the root of a record (never by a key nested
  anywhere): ``event_name``; or ``event_id`` with ``properties`` or ``context``; or a
  legacy ``event`` with a Commanders Act key (``eventId``, ``event_id``,
  ``eventTimestamp``, ``event_timestamp``, ``generatorVersion``,
  ``containerVersion``). The records are the lines of NDJSON, the elements of an
  array, the events of a ``{"batch": [...]}`` body, or the one object. So a JSON
  Schema of the event (``{"$schema": ..., "properties": {"event_name": ...}}``), a
  tracking plan (``{"events": [{"event_name": ...}]}``) or a Segment export
  (``event`` and ``properties``, no Commanders Act key) is not a payload file. A
  file whose first 64 KB hold at least one payload is a payload file, and then every
  one of its records is audited (a record that is not a payload gets findings such
  as ``missing-event-name``). JSON that is not payloads is configuration.
- Source files: JavaScript/TypeScript (``.js .mjs .cjs .jsx .ts .tsx .mts .cts``,
  and ``.html .htm .vue .svelte``, and the page templates ``.liquid .twig .ejs .hbs``, for web
  containers: see :mod:`.languages`), PHP, Python, Java, Kotlin
  (``.kt .kts``), Swift, Objective-C (``.m .mm .h``), Go, Ruby, C#, Dart and shell
  scripts.
- Build files: Gradle (``*.gradle``, ``*.gradle.kts``, and Kotlin, Java or Groovy
  sources that name ``com.tagcommander.lib``: ``buildSrc`` constants), version catalogs
  (``*.versions.toml``), ``gradle.properties``, ``Podfile``, ``*.podspec``,
  ``Podfile.lock``, ``Package.swift``, ``Package.resolved``, ``project.pbxproj``,
  ``pubspec.yaml``, ``pubspec.lock``, ``package.json``, ``package-lock.json``,
  ``npm-shrinkwrap.json``, ``yarn.lock``; vendored SDK binaries (``*ServerSide*.aar``
  by name, ``TCServerSide*.xcframework`` by its ``Info.plist`` and version header).
- Configuration (``.json`` that is not a payload, ``.yml .yaml .toml .ini .cfg
  .conf .properties .xml .plist .env``): source keys only.
- Everything else is skipped when a folder is walked, documentation (``.md``,
  ``.rst``, ``.txt``) included, and so is any file with a NUL byte in its first
  8 KB (a binary) that is not compressed. Whether a file may be audited at all is
  decided from its name first (:func:`may_audit`), before it is read.
- A file named on the command line is always audited (:func:`named_plan`): by its
  name as above when its name says what it is (an ``.ndjson`` / ``.jsonl`` file
  that holds no payload is then scanned for source keys only, with a note); else,
  compressed or not, as payload records when it starts like JSON and its first
  64 KB hold a payload (a HAR capture or a Postman collection when it is one), else
  as text (collect call sites and source keys: documentation named on the command
  line is audited too). Only a binary file (or a compressed file holding neither
  JSON nor text) is skipped, with a note; a compressed file is never called binary.
"""

from __future__ import annotations

from typing import NamedTuple

from ..jsontext import TOKEN, skip_ws
from ..storage.compression import Codec, sniff
from ..storage.payloads import Framing, document_framing, file_framing, starts_like_json
from .comments import CommentStyle
from .languages import CONFIG, LANGUAGES, TEXT, Language
from .sdk import SdkFile

__all__ = ["SNIFF_BYTES", "TEXT", "Language", "Plan", "compression", "is_payload_root", "json_payload_kind",
           "looks_like_payloads", "may_audit", "named_plan", "plan", "root_keys"]

#: How much of a ``.json`` file is read to tell what it is.
SNIFF_BYTES = 1 << 16

_MARKERS = frozenset({b"eventId", b"event_id", b"eventTimestamp", b"event_timestamp", b"generatorVersion",
                      b"containerVersion"})
#: How many records of a file's first bytes are looked at.
_SNIFF_RECORDS = 1000


#: ``Package.swift`` is Swift source too.
_SWIFT = LANGUAGES[".swift"]
_LANGUAGES = LANGUAGES
_CONFIG = CONFIG
_SDK_NAMES = {
    "Podfile": SdkFile.PODFILE,
    "Podfile.lock": SdkFile.PODFILE_LOCK,
    "Package.swift": SdkFile.PACKAGE_SWIFT,
    "Package.resolved": SdkFile.PACKAGE_RESOLVED,
    "project.pbxproj": SdkFile.PBXPROJ,
    "pubspec.lock": SdkFile.PUBSPEC_LOCK,
    "package-lock.json": SdkFile.NPM_LOCK,
    "npm-shrinkwrap.json": SdkFile.NPM_LOCK,
    "yarn.lock": SdkFile.NPM_LOCK,
}
#: Build files that also hold configuration (scanned for source keys too).
_SDK_CONFIG_NAMES = {
    "gradle.properties": (SdkFile.GRADLE_PROPERTIES, CommentStyle.HASH),
    "pubspec.yaml": (SdkFile.PUBSPEC, CommentStyle.HASH),
    "package.json": (SdkFile.NPM, CommentStyle.NONE),
}


class Plan(NamedTuple):
    """What to do with a file. ``payload``: how it holds payloads (:attr:`Framing.JSON`: to be told once
    decompressed); ``config`` is the comment style of a file scanned for source keys only."""

    payload: Framing | None = None
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


def root_keys(head: bytes) -> list[set[bytes]]:
    """The keys (as written, without quotes) at the root of each record that starts in ``head``.

    Records: the values at the top level (NDJSON lines, or one document), the elements of a
    top-level array, and the elements of a root ``batch`` array. Only the first bytes of a
    file are read, so the last record may be cut; invalid JSON is read as far as it goes
    (an object opening a line starts a new record).
    """
    records: list[set[bytes]] = []
    stack: list[int] = []  # per open container: the record it is the root of, -1 an array of records, -2 other
    last_key: dict[int, bytes] = {}
    after_key = False  # the token before is a key (a string followed by a colon)
    for token in TOKEN.finditer(head):  # strings and brackets
        at = token.start()
        value = head[at:at + 1]
        if value == b'"':
            if token.group(1) is None:  # a string cut by the end of the head: nothing more to read
                break
            after = skip_ws(head, token.end())
            after_key = head[after:after + 1] == b":"
            if after_key and stack and stack[-1] >= 0:
                key = token.group()[1:-1]
                records[stack[-1]].add(key)
                last_key[stack[-1]] = key
            continue
        if value == b"{":
            if stack and at and head[at - 1:at] == b"\n":
                stack.clear()  # NDJSON after a broken line: a new record
            if not stack or stack[-1] == -1:
                if len(records) >= _SNIFF_RECORDS:
                    break
                records.append(set())
                stack.append(len(records) - 1)
            else:
                stack.append(-2)
        elif value == b"[":
            top = stack[-1] if stack else None
            batch = top is not None and top >= 0 and last_key.get(top) == b"batch" and after_key
            stack.append(-1 if top is None or batch else -2)
        elif stack:  # } or ]
            stack.pop()
        after_key = False
    return records


def is_payload_root(keys: set[bytes]) -> bool:
    """Whether a record with these root keys is a payload (see the module docstring)."""
    if b"event_name" in keys:
        return True
    if b"event_id" in keys and (b"properties" in keys or b"context" in keys):
        return True
    return b"event" in keys and not keys.isdisjoint(_MARKERS)


def looks_like_payloads(head: bytes) -> bool:
    """True when a record that starts in ``head`` (the first bytes of a file) is a payload."""
    return any(is_payload_root(keys) for keys in root_keys(head))


def json_payload_kind(head: bytes) -> Framing | None:
    """What a ``.json`` document is from its first bytes: a HAR capture, a Postman collection, records,
    or ``None`` (not payloads)."""
    framing = document_framing(head)
    if framing is not Framing.JSON:
        return framing
    return Framing.RECORDS if looks_like_payloads(head) else None


def _plain_plan(name: str) -> Plan | None:
    suffix = _suffix(name)
    if name in _SDK_NAMES:
        sdk = _SDK_NAMES[name]
        return Plan(sdk=sdk, language=_SWIFT if sdk is SdkFile.PACKAGE_SWIFT else None)
    if name in _SDK_CONFIG_NAMES:
        sdk, style = _SDK_CONFIG_NAMES[name]
        return Plan(sdk=sdk, config=style)
    if name.endswith((".gradle", ".gradle.kts")):
        return Plan(sdk=SdkFile.GRADLE)
    if name.endswith(".versions.toml"):
        return Plan(sdk=SdkFile.CATALOG)
    if suffix == ".podspec":
        return Plan(sdk=SdkFile.PODSPEC)
    framing = file_framing(name, compressed=False)
    if framing is not None:
        return Plan(payload=framing)
    if suffix in _LANGUAGES:
        return Plan(language=_LANGUAGES[suffix])
    if suffix in _CONFIG:
        return Plan(config=_CONFIG[suffix])
    if name == ".env" or name.startswith(".env."):
        return Plan(config=CommentStyle.HASH)
    return None


def may_audit(name: str) -> bool:
    """Whether a file called ``name`` may be audited when a folder is walked, before reading it: false for
    names that :func:`plan` skips whatever the file holds (``logo.png``, ``NOTES.md``)."""
    return _plain_plan(name) is not None or file_framing(name, compressed=True) is not None


def plan(name: str, head: bytes) -> Plan | None:
    """How to audit the file called ``name`` (no directory) starting with ``head``; ``None`` to skip it."""
    compressed = compression(head)
    if compressed:
        framing = file_framing(name, compressed=True)
        return Plan(payload=framing, compressed=compressed) if framing else None
    if b"\0" in head:
        return None
    return _plain_plan(name)


def named_plan(head: bytes, compressed: str | None) -> Plan | None:
    """How to audit a file named on the command line that :func:`plan` does not know, from its first bytes
    (decompressed): ``None`` only for binary data."""
    if b"\0" in head:
        return None
    head = head.removeprefix(b"\xef\xbb\xbf")
    framing = json_payload_kind(head) if starts_like_json(head) else None
    if framing is not None:
        return Plan(payload=framing, compressed=compressed)
    return Plan(language=TEXT, compressed=compressed)
