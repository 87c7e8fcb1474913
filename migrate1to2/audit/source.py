"""Source code that sends events: collect call sites, web containers and source keys. Pure: text in, findings out.

The detection is a set of regular expressions over a window of lines, so that
every finding can be explained:

1. Comments are blanked first (:mod:`.comments`): commented-out code is never reported.
2. Anchors: a reference to the collect endpoint (:data:`.endpoints.ENDPOINT`); when
   that reference is assigned to a name (``COLLECT_URL = "https://collect..."``,
   ``define('COLLECT_URL', ...)``), every line using the name instead (within 30
   lines for a generic name such as ``url``); in JavaScript, TypeScript and HTML,
   ``tC.trigger``.
3. Evidence: ``properties`` or ``context`` written as a key (``"properties":``,
   ``properties:``, ``'properties' =>``, ``put("properties", ...)``,
   ``"properties" to``, ``["properties"] =``, ``json:"properties"``, ...). Each
   piece of evidence belongs to the nearest anchor at most :data:`WINDOW_LINES`
   lines and :data:`WINDOW_CHARS` characters away (the character bound keeps
   minified code apart).
4. A collect anchor is a call site when its window also names ``event_name`` or
   ``event_id``: ``properties`` makes it 1.0 (an error), ``context`` alone 2.0
   (informational). An anchor with neither is a plain proxy: not reported.
   The retired pre-1.0 draft endpoint ``api.commander1.com/v2/{siteId}/events``
   is always reported as 1.0; the configuration API ``api.commander1.com/v2/...``
   never is.
5. ``tC.trigger`` builds 1.0 when its window has ``version: 1`` (or else
   ``properties``), 2.0 with ``version: 2`` (or else ``context``).
6. Source keys: ``token=<key>`` in a string on a collect anchor's line,
   ``Bearer <key>`` or a ``token`` parameter in a collect anchor's window, and a
   key assigned to a name containing ``token`` / ``source_key`` anywhere in a file
   that references the collect endpoint. Placeholders (``YOUR_SOURCE_KEY``,
   ``${TOKEN}``, ``{{token}}``) are not keys. Keys are always masked.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from .comments import CommentStyle, blank_comments
from .endpoints import ENDPOINT, endpoint_kind
from .masking import is_placeholder, mask, redact
from .model import Finding
from .rules import finding

__all__ = ["WINDOW_CHARS", "WINDOW_LINES", "scan_source"]

#: How far (in lines, and in characters) a payload may be built from the request.
WINDOW_LINES = 15
WINDOW_CHARS = 2000
#: How far after its definition a generic name (``url``) is followed.
GENERIC_USE_LINES = 30


def _key(name: str) -> re.Pattern[str]:
    """``name`` written as a key or a field being set, in any of the languages audited."""
    return re.compile(
        rf"""(?<![\w$]){name}(?![\w$])\s*(?::(?!:)|=(?![=>~])|=>)"""
        rf"""|@?["']{name}["']\s*(?::|=>|,|\)|\]\s*=(?!=)|\s+to\b)"""
        rf"""|json:"{name}\b""")


_PROPERTIES = _key("properties")
_CONTEXT = _key("context")
_EVENT_WORDS = re.compile(r"(?<![\w$])(?:event_name|event_id)(?![\w$])")
_TRIGGER = re.compile(r"(?<![\w$])tC\.trigger(?![\w$])")
_VERSION = re.compile(r"""(?<![\w$])["']?version["']?\s*:\s*["']?([12])(?![\w])""")

_ASSIGN = re.compile(r"""(?P<name>\$?[A-Za-z_][\w$]*)\s*(?::\s*[\w.<>?\[\], ]+?)?\s*(?::=|=(?![=>]))\s*"""
                     r"""(?:(?:new\s+)?[\w.]+\s*\(\s*(?:string\s*:\s*)?)?$""")
_DEFINE = re.compile(r"""(?:define\s*\(\s*["'](?P<name>\w+)["']\s*,|#define\s+(?P<macro>\w+))\s*$""")
_OBJECT_KEY = re.compile(r"""(?P<name>[A-Za-z_$][\w$]*)["']?\s*:\s*$""")
_STRING_PREFIX = re.compile(r"[@$fFrRbBuU]{1,2}$")
_GENERIC = {"url", "uri", "endpoint", "path", "host", "base", "address", "href", "link", "target", "dest",
            "destination", "api", "apiurl", "baseurl", "requesturl", "server"}

_KEY = r"[A-Za-z0-9][A-Za-z0-9._~+/-]{11,}=*"
_TOKEN_PARAM = re.compile(rf"[?&]token=(?P<key>{_KEY})")
_BEARER = re.compile(rf"""\bBearer(?:\s+|["']\s*,\s*@?["'])(?P<key>{_KEY})""")
_TOKEN_FIELD = re.compile(
    rf"""(?:@?["']token["']\s*(?::|=>|,|\]\s*=)|(?<![\w$])token\s*[:=])\s*@?["'](?P<key>{_KEY})["']""")
_TOKEN_NAME = re.compile(
    rf"""(?<![\w$])(?P<name>[\w$]+)["']?\s*(?::=|=>|=|:)\s*@?["'](?P<key>{_KEY})["']""")
#: Names that hold a source key: ``token``, ``SOURCE_KEY``, ``tcToken``, ``collect_token``, ...
_KEY_NAME = re.compile(r"(?:tc|collect|source|serverside|cdp|commandersact)?(?:source)?(?:token|key)", re.I)

_PRIORITY = {"trigger": 0, "use": 1, "url": 2, "draft": 3}
#: How much of an anchor's line is read to see the string it is in (its name, a `tc_s` parameter).
_NEARBY = 300


@dataclass
class _Anchor:
    kind: str  # trigger, use, url, draft
    offset: int
    line: int  # 0-based
    column: int  # 1-based
    label: str
    start: int = 0  # the window
    end: int = 0
    eligible: bool = True
    #: A collect URL assigned to a name that is used elsewhere: the uses are the call sites.
    defines: bool = False
    evidence: list[tuple[str, int]] = field(default_factory=list)  # (properties|context|version, offset)


class _Text:
    """The blanked text with its line starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def line_text(self, line: int) -> str:
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[line]:end]

    def line_end(self, line: int) -> int:
        return self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)

    def anchor(self, kind: str, offset: int, label: str) -> _Anchor:
        line = self.line_of(offset)
        anchor = _Anchor(kind, offset, line, offset - self.starts[line] + 1, label)
        first = max(0, line - WINDOW_LINES)
        last = min(len(self.starts) - 1, line + WINDOW_LINES)
        anchor.start = max(self.starts[first], offset - WINDOW_CHARS)
        anchor.end = min(self.line_end(last), offset + WINDOW_CHARS)
        return anchor


def _assigned_name(line: str, column: int) -> str | None:
    """The name a string starting before ``column`` (0-based) of ``line`` is assigned to, if any."""
    quote = max(line.rfind(q, 0, column) for q in "\"'`")
    if quote < 0:
        return None
    prefix = line[:quote]
    statement = max(prefix.rfind(c) for c in ";{}") + 1  # the assignment is in the same statement
    prefix = _STRING_PREFIX.sub("", prefix[max(statement, len(prefix) - 120):])
    for pattern in (_DEFINE, _ASSIGN, _OBJECT_KEY):
        match = pattern.search(prefix)
        if match:
            return next(name for name in match.groups() if name)
    return None


def _is_generic(name: str) -> bool:
    return len(name.strip("$_")) <= 3 or name.lower().strip("$_").replace("_", "") in _GENERIC


def _collect_anchors(text: _Text, web: bool) -> tuple[list[_Anchor], list[_Anchor]]:
    """(every anchor the payload evidence may belong to, the endpoint references themselves)."""
    anchors: list[_Anchor] = []
    endpoints: list[_Anchor] = []
    for match in ENDPOINT.finditer(text.text):
        line = text.line_of(match.start())
        # The line around the reference (a minified line can be megabytes long).
        start = max(text.starts[line], match.start() - _NEARBY)
        around = text.text[start:min(text.line_end(line), match.end() + _NEARBY)]
        kind = endpoint_kind(match, around)
        if kind is None:
            continue
        if kind == "draft":
            endpoints.append(text.anchor("draft", match.start(), match.group()))
            continue
        reference = text.anchor("url", match.start(), match.group())
        name = _assigned_name(around, match.start() - start)
        uses = [text.anchor("use", offset, f"via `{name}`, line {line + 1}")
                for offset in (_uses(text, name, line) if name else [])]
        reference.defines = bool(uses)
        anchors.extend([reference, *uses])
        endpoints.extend([reference, *uses])
    anchors.extend(a for a in endpoints if a.kind == "draft")
    if web:
        anchors.extend(text.anchor("trigger", m.start(), m.group()) for m in _TRIGGER.finditer(text.text))
    unique = {(a.kind, a.offset): a for a in anchors}
    return list(unique.values()), list({(a.kind, a.offset): a for a in endpoints}.values())


def _uses(text: _Text, name: str, defined_at: int) -> list[int]:
    # `$NAME` counts: string templates (Kotlin, Groovy, Swift-like, shell) write names so.
    before = r"(?<![\w$])" if name.startswith("$") else r"(?<!\w)"
    # A use passes the name on: not a member access (`url.searchParams`) nor a new assignment.
    pattern = re.compile(rf"{before}{re.escape(name)}(?![\w$])(?!\s*(?:\.|\[|->|=(?!=)))")
    last = defined_at + GENERIC_USE_LINES if _is_generic(name) else len(text.starts)
    uses = []
    for match in pattern.finditer(text.text):
        line = text.line_of(match.start())
        if line != defined_at and (line > defined_at or not _is_generic(name)) and line <= last:
            uses.append(match.start())
    return uses


def _attach_evidence(text: _Text, anchors: list[_Anchor]) -> None:
    """Give each piece of evidence to the nearest anchor whose window holds it.

    A collect URL assigned to a name only gets evidence that no use of the name (nor
    any other anchor) is near: the uses are where the request is sent.
    """
    for anchor in anchors:
        if anchor.kind in ("url", "use"):
            anchor.eligible = _EVENT_WORDS.search(text.text, anchor.start, anchor.end) is not None
    found = [("properties", m.start()) for m in _PROPERTIES.finditer(text.text)]
    found += [("context", m.start()) for m in _CONTEXT.finditer(text.text)]
    found += [(f"version {m.group(1)}", m.start()) for m in _VERSION.finditer(text.text)]
    anchors = sorted(anchors, key=lambda a: a.offset)
    offsets = [a.offset for a in anchors]
    for kind, offset in found:
        line = text.line_of(offset)
        # Only anchors within WINDOW_CHARS can have the evidence in their window.
        first = bisect.bisect_left(offsets, offset - WINDOW_CHARS)
        last = bisect.bisect_right(offsets, offset + WINDOW_CHARS)
        near = [a for a in anchors[first:last] if a.eligible and a.kind != "draft" and a.start <= offset < a.end
                and (a.kind == "trigger" or not kind.startswith("version"))]
        if any(not a.defines for a in near):
            near = [a for a in near if not a.defines]
        if near:
            best = min(near, key=lambda a: (abs(a.line - line), abs(a.offset - offset), _PRIORITY[a.kind]))
            best.evidence.append((kind, offset))


def _normalised(text: _Text, anchor: _Anchor) -> str:
    """The text a finding is about, for its fingerprint: the anchor's line (up to 100 characters each side)."""
    start = max(text.starts[anchor.line], anchor.offset - 100)
    end = min(text.line_end(anchor.line), anchor.offset + 100)
    return redact(" ".join(text.text[start:end].split()))


def _first(text: _Text, anchor: _Anchor, kind: str) -> int | None:
    offsets = [offset for found, offset in anchor.evidence if found == kind]
    return text.line_of(min(offsets)) + 1 if offsets else None


def _anchor_finding(text: _Text, anchor: _Anchor) -> Finding | None:
    properties = _first(text, anchor, "properties")
    context = _first(text, anchor, "context")
    where = f"({anchor.label})" if anchor.kind == "use" else f"(`{anchor.label}`)"
    if anchor.kind == "draft":
        rule, message = "call-site-1.0", (f"posts to the retired pre-1.0 draft endpoint `{anchor.label}`; "
                                          "send 2.0 events to the collect endpoint instead")
    elif anchor.kind == "trigger":
        version_1, version_2 = _first(text, anchor, "version 1"), _first(text, anchor, "version 2")
        if version_1 or (not version_2 and properties):
            why = f"`version: 1`, line {version_1}" if version_1 else f"`properties`, line {properties}"
            rule, message = "web-container-1.0", (f"`tC.trigger` builds a 1.0 event ({why}); regenerate the "
                                                  "container so that it builds `context` / `version: 2`")
        elif version_2 or context:
            why = f"`version: 2`, line {version_2}" if version_2 else f"`context`, line {context}"
            rule, message = "web-container-2.0", f"`tC.trigger` builds a 2.0 event ({why})"
        else:
            return None
    elif properties:
        rule, message = "call-site-1.0", (f"sends a 1.0 payload to the collect endpoint {where}: the body is built "
                                          f"with `properties` (line {properties}); build the 2.0 body with "
                                          "`context` instead")
    elif context:
        rule, message = "call-site-2.0", (f"sends a 2.0 payload to the collect endpoint {where}: the body is built "
                                          f"with `context` (line {context})")
    else:
        return None
    return finding(rule, message, line=anchor.line + 1, column=anchor.column,
                   match=_normalised(text, anchor))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of ``spans`` as sorted, disjoint spans."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _key_findings(text: _Text, endpoints: list[_Anchor]) -> list[Finding]:
    found: dict[int, tuple[str, str]] = {}  # key offset -> (key, how it was written)

    def keep(match: re.Match[str], how: str) -> None:
        key = match.group("key")
        if not is_placeholder(key):
            found.setdefault(match.start("key"), (key, how))

    on_lines = _merged([(max(text.starts[a.line], a.start), min(text.line_end(a.line), a.end)) for a in endpoints])
    windows = _merged([(a.start, a.end) for a in endpoints])
    for start, end in on_lines:
        for match in _TOKEN_PARAM.finditer(text.text, start, end):
            keep(match, "`token=` in the collect URL")
    for start, end in windows:
        for match in _BEARER.finditer(text.text, start, end):
            keep(match, "`Authorization: Bearer` next to the collect host")
        for match in _TOKEN_FIELD.finditer(text.text, start, end):
            keep(match, "`token` parameter next to the collect host")
    if endpoints:
        for match in _TOKEN_NAME.finditer(text.text):
            name = match.group("name").strip("$").replace("_", "")
            if _KEY_NAME.fullmatch(name) and name.lower() != "key":
                keep(match, f"`{match.group('name')}` in a file that sends to the collect host")
    results = []
    for offset, (key, how) in sorted(found.items()):
        line = text.line_of(offset)
        results.append(finding(
            "source-key", f"source key written in code ({how}): {mask(key)}; move it to a secret store and "
                          "rotate it", line=line + 1, column=offset - text.starts[line] + 1, match=mask(key)))
    return results


def scan_source(text: str, style: CommentStyle, *, web: bool = False) -> list[Finding]:
    """Find collect call sites, web containers (``web=True``: JavaScript, TypeScript, HTML) and source keys.

    Findings carry line and column; their path is left empty for the caller to set.
    """
    blanked = _Text(blank_comments(text, style))
    anchors, endpoints = _collect_anchors(blanked, web)
    _attach_evidence(blanked, anchors)
    findings = [f for f in (_anchor_finding(blanked, a) for a in anchors) if f is not None]
    findings.extend(_key_findings(blanked, endpoints))
    return findings
