"""Walking files and folders and reading them: the audit's only file I/O (besides the baseline).

Directories are walked by :func:`migrate1to2.storage.tree.walk` (the walker and
glob rule of ``convert``), in name order, without following symbolic links to
directories. Vendored and generated directories (:data:`SKIPPED_DIRS`, and any
virtualenv: a directory holding ``pyvenv.cfg``) are skipped unless
``include_vendored``; paths given explicitly are always audited. Payload files
are read through :func:`migrate1to2.storage.files.open_input` (compressed archives) and
:func:`migrate1to2.convert.read.iter_records`, in bounded memory: NDJSON and JSON
arrays are streamed record by record, and a record (an NDJSON line, an array
element or a JSON object document) over :data:`MAX_RECORD_BYTES` is not read (it
is reported ``too-large`` from its size); HAR captures and Postman collections
are read whole up to :data:`MAX_DOCUMENT_BYTES` (a larger one is skipped with a
note). Source, build, configuration and text files are read whole up to
:data:`MAX_TEXT_BYTES` (a larger one is skipped with a note), as UTF-8 with
undecodable bytes replaced.
Whether a file found in a folder may be audited is decided from its name before
it is read (:func:`.classify.may_audit`).

Paths in the report are the argument as given followed by the path below it,
with forward slashes (``src/app.js`` for ``audit .``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import cast

from ..convert.read import BrokenRecord, Record, TruncatedRecord, Work, iter_record_chunks
from ..convert.records import MAX_RECORD_BYTES, OVERSIZED_HEAD
from ..errors import MigrateError, os_reason
from ..jsontext import JSON_WS
from ..storage.files import input_size, open_input, open_raw
from ..storage.payloads import Framing
from ..storage.tree import Entry, Globs, Kind, Unreadable, walk
from ..storage.urls import is_url, mask
from .capture import Capture, read_har, read_postman
from .census import Quick, column, compiled_chunk, looks_spaced, quick_chunk, quick_record, quick_spaced
from .classify import (
    SNIFF_BYTES,
    Plan,
    compression,
    json_payload_kind,
    looks_like_payloads,
    may_audit,
    named_plan,
    plan,
)
from .comments import CommentStyle, blank_comments
from .detectors import SourceFile, scan
from .languages import Language
from .masking import hide
from .model import AuditReport, Finding, PayloadStats
from .payload import EventAudit, audit_record, invalid_record, oversized_record
from .project import SdkProject, xcframework_root
from .rules import finding
from .sdk import SdkFile, scan_build, vendored_aar
from .sink import Sink
from .syntax import use_parser

__all__ = ["MAX_DOCUMENT_BYTES", "MAX_EVENT_NAMES", "MAX_RECORD_BYTES", "MAX_TEXT_BYTES", "SKIPPED_DIRS",
           "AuditUsageError", "audit_paths"]

#: Directories skipped unless ``include_vendored``: version control, dependencies, build output, caches.
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "bower_components", "jspm_packages", "vendor", "Pods", "Carthage",
    ".build", "build", "dist", "out", "target", ".gradle", ".venv", "venv", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".eggs", "site-packages", "DerivedData", ".next", ".nuxt",
    ".svelte-kit", ".dart_tool", ".pub-cache", ".terraform", "coverage",
})
#: Source, build, configuration and text files larger than this are not read (a note says so).
MAX_TEXT_BYTES = 32 << 20
#: HAR captures and Postman collections larger than this are not read (a note says so).
#: (NDJSON lines, array elements and JSON objects over :data:`MAX_RECORD_BYTES`, 16 MiB, are reported
#: ``too-large`` unread.)
MAX_DOCUMENT_BYTES = 128 << 20
#: How many distinct event names a payload file's counts keep; the rest count as ``(other)``.
MAX_EVENT_NAMES = 1000
_HEAD_BYTES = 8192
_ANDROID_GROUP = "com.tagcommander.lib"
_JVM = (".kt", ".kts", ".java", ".groovy")


class AuditUsageError(MigrateError):
    """A path to audit that does not exist (exit code 2)."""


def _display(argument: str, relative: str | None) -> str:
    base = argument.replace(os.sep, "/")
    if relative is not None:
        relative = relative.replace(os.sep, "/")
        base = relative if base in (".", "./") else base.rstrip("/") + "/" + relative
    while base.startswith("./") and len(base) > 2:
        base = base[2:]
    return base


def _vendored(folder: str, name: str) -> bool:
    """Whether the folder at ``folder``, named ``name``, is vendored or generated (or a virtualenv)."""
    return name in SKIPPED_DIRS or os.path.isfile(os.path.join(folder, "pyvenv.cfg"))


def _files(argument: str, *, include_vendored: bool, exclude: Sequence[str],
           report: AuditReport) -> Iterator[tuple[str, str, Entry | None]]:
    """``(file system path, display path, entry)`` of every file under ``argument`` (``None``: given explicitly).

    Folders are walked by :func:`migrate1to2.storage.tree.walk`, with its glob rule for ``exclude``; so are
    prefixes of object stores (URLs).
    """
    if is_url(argument):
        yield from _objects(argument, include_vendored=include_vendored, exclude=exclude, report=report)
        return
    if not os.path.isdir(argument):
        yield argument, _display(argument, None), None
        return
    for found in walk(argument, Globs(exclude=tuple(exclude)), prune=None if include_vendored else _vendored):
        if isinstance(found, Unreadable):
            report.errors.append(f"cannot read {found.path}: {found.reason}")
        else:
            yield os.path.normpath(found.path), _display(argument, found.relative), found.entry


def _objects(argument: str, *, include_vendored: bool, exclude: Sequence[str],
             report: AuditReport) -> Iterator[tuple[str, str, Entry | None]]:
    """The objects of a URL: the object itself, or every object under a prefix (walked as folders are, with
    the same glob rule and vendored folders left out). A prefix that cannot be listed is an error of the report."""
    from ..storage.objects import ObjectLister, is_prefix

    shown = mask(argument)
    try:
        prefix = is_prefix(argument)
    except MigrateError as error:
        report.errors.append(str(error))
        return
    if not prefix:
        yield argument, shown, None
        return
    prune = None if include_vendored else (lambda path, name: name in SKIPPED_DIRS)
    lister = ObjectLister()
    for found in walk(argument, Globs(exclude=tuple(exclude)), lister=lister, prune=prune):
        if isinstance(found, Unreadable):
            report.errors.append(f"cannot read {mask(found.path)}: {lister.reasons.get(found.path, found.reason)}")
        else:
            yield found.path, shown.rstrip("/") + "/" + found.relative, found.entry


def _size(size: int) -> str:
    """``32 MiB``, or ``4096 bytes`` for a size that is not a whole number of MiB."""
    return f"{size >> 20} MiB" if size >= 1 << 20 and not size % (1 << 20) else f"{size} bytes"


def _read_head(path: str, size: int) -> bytes:
    with open_raw(path) if is_url(path) else open(path, "rb") as stream:
        return stream.read(size)


def _count(stats: PayloadStats, audit: EventAudit, line: int) -> None:
    stats.records += 1
    stats.versions[audit.version] += 1
    if audit.version == "1.0" and stats.first_v1_line is None:
        stats.first_v1_line = line
    name = audit.event_name
    if name is not None:
        if name not in stats.events and len(stats.events) >= MAX_EVENT_NAMES:
            name = "(other)"
        stats.events[name] = stats.events.get(name, 0) + 1


def _v1_summary(stats: PayloadStats, what: str) -> Finding | None:
    count = stats.versions["1.0"]
    if not count or stats.first_v1_line is None:
        return None
    return finding("payload-1.0", f"{count} of {stats.records} {what} are in format 1.0 (first at line "
                                  f"{stats.first_v1_line}); convert stored payloads with `migrate1to2 convert` and "
                                  "fix what produces them", path=stats.path, line=stats.first_v1_line)


class _Auditor:
    """Audits files into a report, one at a time."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.report = sink.report
        self.project = SdkProject()

    def finish(self) -> None:
        """Judge what waited for every file (versions set elsewhere, package pins, vendored frameworks)."""
        for item in self.project.finish():
            self.sink.start_file()
            self.sink.add(item)

    def add(self, findings: Iterable[Finding], path: str) -> None:
        for item in findings:
            self.sink.add(item.at(path, item.line, item.column))

    def note(self, message: str) -> None:
        self.report.notes.append(message)

    def file(self, path: str, display: str, entry: Entry | None) -> None:
        """Audit a file found in a folder (``entry``: what the walk saw) or named (``None``)."""
        name = os.path.basename(path)
        explicit = entry is None
        vendored = vendored_aar(name)
        if vendored is not None:  # a binary: told by its name, never read; reported if its module links it
            self.project.aar(display, vendored.at(display, 1))
            self.report.files += 1
            return
        if entry is not None:  # in a folder: decided before reading
            if not may_audit(name):  # (a dangling link too)
                return
            if entry.dangling:  # in a folder, a note; named on the command line, an error
                self.note(f"skipped {display}: a link to something that does not exist")
                return
            if entry.error is not None:  # a link loop
                self.report.errors.append(f"cannot read {display}: {entry.error}")
                return
            if Kind.FILE not in (entry.kind, entry.target):  # a pipe or a device (or a link to one): never read
                return
        elif os.path.exists(path) and not os.path.isfile(path):  # a pipe or a device: never read
            self.note(f"skipped {display}: not a regular file")
            return
        try:
            head = _read_head(path, _HEAD_BYTES)
        except OSError as error:
            self.report.errors.append(f"cannot read {display}: {os_reason(error)}")
            return
        except MigrateError as error:  # an object store's error, naming the URL
            self.report.errors.append(str(error))
            return
        self.sink.start_file()
        try:
            how = plan(os.path.basename(path), head)
            if how is None and explicit:
                how = self.named(path, display, head)
            if how is None:
                return
            audited = self.payload_file(path, display, how, explicit) if how.payload else self.text_file(
                path, display, how)
            self.report.files += audited
        except MigrateError as error:
            self.report.errors.append(str(error))
        except OSError as error:
            self.report.errors.append(f"cannot read {display}: {os_reason(error)}")
        except RecursionError:
            self.report.errors.append(f"cannot audit {display}: it is nested too deeply")

    def named(self, path: str, display: str, head: bytes) -> Plan | None:
        """How to audit a file named on the command line whose name does not say (see :func:`.classify.named_plan`)."""
        compressed = compression(head)
        if not compressed and b"\0" in head:
            self.note(f"skipped {display}: a binary file")
            return None
        with open_input(path) as stream:
            inner = stream.read(SNIFF_BYTES)
        how = named_plan(inner, compressed)
        if how is None:
            self.note(f"skipped {display}: {compressed}-compressed, but it holds neither JSON records nor text")
        return how

    def text_file(self, path: str, display: str, how: Plan) -> bool:
        """Audit a source, build, configuration or text file; False if it was not read."""
        if how.compressed is None and input_size(path) > MAX_TEXT_BYTES:
            self.note(f"skipped {display}: larger than {_size(MAX_TEXT_BYTES)}")
            return False
        text = self._whole_text(path, display)
        if text is None:
            return False
        self.text(text, display, how)
        return True

    def text(self, text: str, display: str, how: Plan) -> None:
        sdk = how.sdk
        if sdk is None and how.language is not None and display.endswith(_JVM) and (
                _ANDROID_GROUP in text or "buildSrc/" in f"/{display}"):
            # buildSrc constants: `const val tc = "com.tagcommander.lib:ServerSide:${Versions.tc}"` and the
            # versions they name (`Versions.kt`)
            sdk = SdkFile.GRADLE
        framework = xcframework_root(display)
        if framework is not None:
            if display.endswith(f"{framework[0]}/Info.plist"):
                self.project.framework(*framework, display)
            elif display.endswith("/Headers/ServerSideGenerated.h"):
                header = scan_build(text, SdkFile.FRAMEWORK_HEADER).findings
                if header and self.project.header(framework[0], header[0]):
                    self.add(header[:1], display)
        if sdk is SdkFile.GRADLE and display.endswith(("build.gradle", "build.gradle.kts")):
            self.project.script(display, blank_comments(text, CommentStyle.C))
        if sdk is not None:
            build = scan_build(text, sdk)
            self.add(build.findings, display)
            self.project.add(display, build)
        if how.language is not None:
            self.add(scan(SourceFile(text, how.language)), display)
        if how.config is not None:
            self.add(scan(SourceFile(text, Language(how.config), config=True), keys_only=True), display)

    def payload_file(self, path: str, display: str, how: Plan, explicit: bool) -> bool:
        """Audit a payload file (or, for JSON that is not payloads, its source keys); False if skipped."""
        framing = how.payload
        if framing in (Framing.JSON, Framing.RECORDS):
            with open_input(path) as stream:
                head = stream.read(SNIFF_BYTES)
            found = (json_payload_kind(head) if framing is Framing.JSON else
                     Framing.RECORDS if looks_like_payloads(head) else None)
            if found is None:  # configuration, data sets, logs: not payloads
                if framing is Framing.RECORDS:
                    if not explicit:
                        return False
                    self.note(f"{display}: no record in its first {SNIFF_BYTES >> 10} KB is an event (none has "
                              "`event_name` at its root): audited for source keys only")
                text = self._whole_text(path, display)
                if text is None:
                    return False
                self.text(text, display, Plan(config=CommentStyle.NONE))
                return True
            framing = found
        if framing is not None and framing.capture:
            with open_input(path) as stream:
                data = stream.read(MAX_DOCUMENT_BYTES + 1)
            if len(data) > MAX_DOCUMENT_BYTES:
                what = "HAR capture" if framing is Framing.HAR else "Postman collection"
                self.note(f"skipped {display}: a {what} larger than {_size(MAX_DOCUMENT_BYTES)} is not read")
                return False
            self.capture(read_har(data) if framing is Framing.HAR else read_postman(data), display, framing)
            return True
        self.records(path, display)
        return True

    def _whole_text(self, path: str, display: str) -> str | None:
        with open_input(path) as stream:
            data = stream.read(MAX_TEXT_BYTES + 1)
        if len(data) > MAX_TEXT_BYTES:
            self.note(f"skipped {display}: larger than {_size(MAX_TEXT_BYTES)}")
            return None
        return data.decode("utf-8", "replace")

    def records(self, path: str, display: str) -> None:
        """Audit the records of a payload file (NDJSON lines in the common case through :mod:`.census`)."""
        stats = PayloadStats(display, Framing.RECORDS.value)
        self.report.payloads.append(stats)
        with open_input(path) as stream:
            for record in iter_record_chunks(stream, display, limit=MAX_RECORD_BYTES):
                if isinstance(record, Work):
                    self.lines(stats, record.data, record.first_line, display)
                else:
                    self.record(stats, record, display)
        summary = _v1_summary(stats, "records")
        if summary is not None:
            self.sink.add(summary)

    def lines(self, stats: PayloadStats, chunk: bytes, first_line: int, display: str) -> None:
        """Audit a chunk of whole NDJSON lines: each as :mod:`.census` tells (compiled where it can), else the slow way.

        Lines are cut as :func:`migrate1to2.convert.read.iter_records` cuts them. Counts are kept in order, so
        the event names kept under :data:`MAX_EVENT_NAMES` are the same as record by record.
        """
        lines: Sequence[bytes]
        judged: list[Quick | None] | None
        compiled = compiled_chunk(chunk, MAX_RECORD_BYTES)
        if compiled is not None:
            lines, judged = compiled
            ascii_only, carriage = chunk.isascii(), b"\r" in chunk
        else:
            ascii_only = chunk.isascii()
            if not ascii_only:
                try:
                    chunk.decode("utf-8")
                except UnicodeDecodeError:  # the raw decoder does not look inside strings: every line the slow way
                    for number, written in enumerate(chunk.split(b"\n"), first_line):
                        self._line(stats, number, written.removesuffix(b"\r"), display)
                    return
            carriage = b"\r" in chunk
            regular = not carriage and b"\n\n" not in chunk and chunk[:1] == b"{"
            spaced = regular and looks_spaced(chunk)
            whole = quick_chunk(chunk) if regular and not spaced else None
            lines, judged = whole if whole is not None else (chunk.split(b"\n"), None)
            if judged is None and regular:  # not compact: whitespace between tokens, most likely
                lines = chunk.splitlines()
                judged = quick_spaced(lines)
            if judged is None:
                judged = [quick_record(line) if line[:1] == b"{" else None
                          for line in (lines if not carriage else [line.removesuffix(b"\r") for line in lines])]
        start = 0
        for index, quick in enumerate(judged):  # runs of judged records in bulk, the others one by one, in order
            if quick is None:
                self._run(stats, lines, judged, start=start, stop=index, first_line=first_line, display=display,
                          ascii_only=ascii_only)
                self._line(stats, first_line + index, lines[index].removesuffix(b"\r") if carriage else lines[index],
                           display)
                start = index + 1
        self._run(stats, lines, judged, start=start, stop=len(judged), first_line=first_line, display=display,
                  ascii_only=ascii_only)

    def _run(self, stats: PayloadStats, lines: Sequence[bytes], judged: list[Quick | None], *, start: int, stop: int,
             first_line: int, display: str, ascii_only: bool) -> None:
        """Count the records ``start`` to ``stop`` of a chunk, all judged by :mod:`.census`: in bulk, in order."""
        if start >= stop:
            return
        quick = cast("list[Quick]", judged[start:stop])
        stats.records += len(quick)
        versions = Counter(map(itemgetter(0), quick))
        for version, count in versions.items():
            stats.versions[version] += count
        if versions["1.0"] and stats.first_v1_line is None:
            stats.first_v1_line = first_line + start + next(
                i for i, (version, _, _) in enumerate(quick) if version == "1.0")
        events = stats.events
        for name, count in Counter(map(itemgetter(1), quick)).items():  # in order of first appearance
            kept = "(other)" if name not in events and len(events) >= MAX_EVENT_NAMES else name
            events[kept] = events.get(kept, 0) + count
        add, skip = self.sink.add, self.sink.skip
        for index, (_, _, found) in enumerate(quick, start):
            for problem, offset in found:
                if not skip(problem.rule, display, problem.match):
                    add(problem.build().at(display, first_line + index,
                                           offset + 1 if ascii_only else column(lines[index], offset)))

    def _line(self, stats: PayloadStats, number: int, line: bytes, display: str) -> None:
        if len(line) > MAX_RECORD_BYTES:  # a chunk may hold a line over the limit but under the chunk size
            self.record(stats, TruncatedRecord(number, line[:OVERSIZED_HEAD], len(line)), display)
        elif line.strip(JSON_WS):
            self.record(stats, Record(number, line), display)

    def record(self, stats: PayloadStats, record: Record | TruncatedRecord | BrokenRecord, display: str) -> None:
        """Audit one record of a payload file the slow way (every check on the decoded record)."""
        if isinstance(record, TruncatedRecord):
            audits = [oversized_record(record.size, MAX_RECORD_BYTES)]
            start = 1
        elif isinstance(record, BrokenRecord):  # the array breaks here: the rest is one invalid record
            audits = [invalid_record(record.reason)]
            start = record.column
        else:
            audits = audit_record(record.data)
            start = record.column  # an array element's first line starts where the element does
        for audit in audits:
            _count(stats, audit, record.line)
            for item in audit.findings:
                column_at = item.column + start - 1 if item.line == 1 and item.column is not None else item.column
                self.sink.add(item.at(display, record.line + item.line - 1, column_at))

    def capture(self, capture: Capture, display: str, framing: Framing) -> None:
        stats = PayloadStats(display, framing.value)
        self.report.payloads.append(stats)
        if capture.error is not None:
            error = capture.error
            self.sink.add(finding("invalid-json", f"invalid JSON: {error.reason}", path=display, line=error.lineno,
                                  column=error.colno, match=error.reason))
            return
        self.add(capture.findings, display)
        for body in capture.bodies:
            for audit in audit_record(body.data):
                _count(stats, audit, body.line)
                for item in audit.findings:
                    message = hide(item.message, capture.secrets)
                    if item.rule == "invalid-json":
                        message += f" (in the request body, at its line {item.line}, column {item.column})"
                    self.sink.add(finding(item.rule, message, path=display, line=body.line, column=body.column,
                                          match=hide(item.match, capture.secrets), json_path=item.json_path))
        summary = _v1_summary(stats, "events sent to the collect endpoint")
        if summary is not None:
            self.sink.add(summary)


def audit_paths(paths: str | Sequence[str], *, include_vendored: bool = False, exclude: Sequence[str] = (),
                limit: int = 100, baseline: Counter[str] | None = None, parser: bool | None = None) -> AuditReport:
    """Audit files and folders (one path, or several); return the report (findings sorted by path, line, column).

    ``limit`` lists at most that many findings per rule and file (0: all; every
    finding is still counted). ``baseline`` maps fingerprints to how many findings
    each suppresses. Files that cannot be read are named in ``report.errors``;
    a path that does not exist raises :class:`AuditUsageError` before anything is read.

    ``parser``: read code with the optional parser (:mod:`.syntax`) where it is installed
    (the default, unless ``MIGRATE1TO2_AUDIT_PARSER=regex`` is set), or with regular
    expressions only (``False``).
    """
    if parser is None:
        parser = os.environ.get("MIGRATE1TO2_AUDIT_PARSER", "").strip().lower() != "regex"
    previous = use_parser(parser)
    try:
        return _audit(paths, include_vendored=include_vendored, exclude=exclude, limit=limit, baseline=baseline)
    finally:
        use_parser(previous)


def _audit(paths: str | Sequence[str], *, include_vendored: bool, exclude: Sequence[str], limit: int,
           baseline: Counter[str] | None) -> AuditReport:
    if isinstance(paths, str):
        paths = [paths]
    missing = [path for path in paths if not is_url(path) and not os.path.lexists(path)]
    if missing:
        raise AuditUsageError(f"{missing[0]}: no such file or directory")
    report = AuditReport()
    auditor = _Auditor(Sink(report, limit=limit, baseline=baseline))
    for argument in paths:
        for path, display, entry in _files(argument, include_vendored=include_vendored, exclude=exclude,
                                           report=report):
            auditor.file(path, display, entry)
    auditor.finish()
    report.sort()
    return report
