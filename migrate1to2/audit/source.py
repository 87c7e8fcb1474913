"""Source code that sends events: the collect call-site detector. Pure: text in, findings out.

Web containers are read by :mod:`.webcontainer`, source keys by :mod:`.keys`; the
detectors are registered in :mod:`.detectors`.

The detection is a set of regular expressions over a window of lines, with a light
reading of brackets, so that every finding can be explained:

1. Comments are blanked first (:mod:`.comments`): commented-out code is never reported.
2. Anchors: a reference to the collect endpoint (:data:`.endpoints.ENDPOINT`); when
   that reference is assigned to a name (``COLLECT_URL = "https://collect..."``,
   ``define('COLLECT_URL', ...)``, ``url = URL(string: "...")``), every line using
   the name instead (once per line; within 30 lines after it for a generic name such
   as ``url``). The result of a request (``resp = requests.post("https://collect...")``)
   is not a URL: such a call is reported where it is. Inside the body of a web
   container's ``tC.trigger`` definition nothing is an anchor nor evidence: the
   container finding (:mod:`.webcontainer`) covers it.
3. Evidence: ``properties`` or ``context`` written as a key of the body. A key counts
   when it is written in the same object literal, map, struct, class or call as
   ``event_name`` or ``event_id`` (``{event_name: n, properties: p}``,
   ``{"event_name": n, ...}``, ``mapOf("event_name" to n, "properties" to p)``,
   ``Map.of("event_name", n, "properties", p)``, ``new { event_name = n, properties = p }``,
   ``new Dictionary<string, object> { { "event_name", n }, { "properties", p } }``,
   ``dict(event_name=n, properties=p)``, a struct, data class or Python class (a
   dataclass, a pydantic model) declaring both fields,
   shorthand ``{ event_name, properties }``, JSON written in a string, escaped quotes
   included: ``"{\\"event_name\\":...,\\"properties\\":{}}"``), or next to such a
   literal as another argument of the same call (``array_merge([...], ['context' => $c])``,
   ``Object.assign({event_name}, {context})``); or when it is assigned into an object
   (``body["properties"] = ...``, ``$body['properties'] = ...``, ``payload[@"context"] = ...``,
   ``payload.put("properties", ...)``, ``body.properties = ...``). Never evidence:
   parameter lists (``def track(name, properties=None)``, ``fun track(properties: Map<...>)``,
   ``(properties) => ...``), local variables (``properties = {...}``, ``let properties: T``),
   destructuring, keys inside the value of another key (Segment's
   ``track({event, properties: {event_name: ...}})``), and reads (``get("properties")``).
   Each piece of evidence belongs to the nearest anchor at most :data:`WINDOW_LINES`
   lines and :data:`WINDOW_CHARS` characters away (the character bound keeps minified
   code apart).
4. A collect anchor is a call site when its window also names ``event_name`` or
   ``event_id``: a ``properties`` key makes it 1.0 (an error), a ``context`` key
   (and no ``properties`` key) 2.0 (informational). An anchor with neither is a plain
   proxy: not reported. The retired pre-1.0 draft endpoint
   ``api.commander1.com/v2/{siteId}/events`` is reported as 1.0 when it is written as
   a URL value: with its scheme (``https://``, or ``//``) at the start of a string
   literal (or of a word, in shell scripts); the configuration API
   ``api.commander1.com/v2/...`` never is.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .comments import STRING_LITERAL, CommentStyle
from .detectors import SourceFile, detector, scan
from .endpoints import ENDPOINT, endpoint_kind
from .languages import Language
from .masking import redact
from .model import Finding
from .rules import finding
from .webcontainer import trigger_spans

__all__ = ["WINDOW_CHARS", "WINDOW_LINES", "call_sites", "collect_anchors", "scan_source"]

#: How far (in lines, and in characters) a payload may be built from the request.
WINDOW_LINES = 15
WINDOW_CHARS = 2000
#: How far after its definition a generic name (``url``) is followed.
GENERIC_USE_LINES = 30

# `properties` / `context` written as a key, in each of the forms the audited languages use.
# Group names say the form; see _Brackets.is_body_key for what each form needs.
_KEYS = re.compile(r"""
    \[\s*@?\\?["'](?P<index>properties|context)\\?["']\s*\]\s*=(?![=>])
  | \[\s*:(?P<symindex>properties|context)\s*\]\s*=(?![=>])
  | (?<=[\w$)\]]\.)(?<!this\.)(?<!self\.)(?P<member>properties|context)\s*=(?![=>~])
  | @?\\?["'](?P<quoted>properties|context)\\?["']\s*(?P<sep>:(?!:)|=>|,|\)|\s+to\b)
  | json:"(?P<tag>properties|context)\b
  | (?<![\w:]):(?P<symbol>properties|context)\s*=>
  | (?<![\w$.@"'\\])(?P<bare>properties|context)(?![\w$])\s*(?P<op>:(?!:)|=(?![=>~]))
  | (?<![\w$.@"'\\])(?P<short>properties|context)\s*(?=[,}])
""", re.X)
_KEY_WORDS = re.compile(r"properties|context")
#: What comes before a shorthand property: `{` or `,`.
_SHORTHAND_BEFORE = re.compile(r"[{,]\s*$")
_DECLARED = re.compile(r"\b(?:let|var|val|const|readonly|public|private|protected|internal|static|final|lateinit"
                       r"|override|open)\s+$")
_EVENT_WORDS = re.compile(r"(?<![\w$])(?:event_name|event_id)(?![\w$])")

# Reading brackets.
_SCANNER = re.compile(STRING_LITERAL.pattern + r"|(?P<bracket>[(){}\[\]])", re.M)
_BRACKETS = re.compile(r"[(){}\[\]]")
_OPENING = {")": "(", "]": "[", "}": "{"}
_TYPE_HEADER = re.compile(r"(?:\b(?:class|struct|interface|record|enum|object|trait|protocol|extension|union)\b"
                          r"[^;{}()=]*|\btype\s+[\w$]+(?:<[^<>]*>)?\s*=\s*)$")
_DEFINITION = re.compile(r"(?:\b(?:def|fun|func|function|fn|sub|constructor)\b[^(){};=,]*"
                         r"|\bfunc\s*\([^()]*\)\s*[\w$]+\s*|(?<![\w.$])init\??\s*)$")
_ARROW = re.compile(r"\s*(?:=>|->)")
_METHOD_BODY = re.compile(r"\s*(?::[^;{}()=\n]*|throws[^;{}()=\n]*)?\{")
_CALLEE = re.compile(r"([\w$]+)\s*$")
_NOT_CALLEES = frozenset({
    "if", "for", "while", "switch", "catch", "with", "return", "elif", "foreach", "using", "lock", "synchronized",
    "when", "match", "until", "unless", "and", "or", "not", "in", "of", "else", "do", "try", "await", "yield",
    "typeof", "sizeof", "case", "guard"})
#: Calls that set a member of an object: `payload.put("properties", ...)`.
_SETTERS = frozenset({"put", "putOpt", "putIfAbsent", "set", "add", "Add", "addProperty", "append", "Append",
                      "store", "setValue", "insert", "with", "field", "TryAdd"})
_NEW = re.compile(r"\bnew\b[^;{}()=]*$")
_CLASS_HEADER = re.compile(r"class\s+\w+[^:\n]*:\s*$")
_DESTRUCTURING = re.compile(r"\s*(?:=(?![=>])|of\b|in\b)")
_ANNOTATION = re.compile(r"(?:@[\w.]+|\[\s*[\w.]+)\s*$")
_ATTRIBUTE_START = re.compile(r"\s*[\w.]+\s*\(")
_LINE_START = re.compile(r"\n[ \t]*$")

# Naming the URL.
_ASSIGN = re.compile(r"""(?P<name>\$?[A-Za-z_][\w$]*)\s*(?::\s*[\w.<>?\[\], ]+?)?\s*(?::=|=(?![=>]))\s*"""
                     r"""(?:(?:new\s+)?(?P<callee>[\w.]+)\s*\(\s*(?:string\s*:\s*)?)?$""")
_DEFINE = re.compile(r"""(?:define\s*\(\s*["'](?P<name>\w+)["']\s*,|#define\s+(?P<macro>\w+))\s*$""")
_OBJECT_KEY = re.compile(r"""(?P<name>[A-Za-z_$][\w$]*)["']?\s*:\s*$""")
_STRING_PREFIX = re.compile(r"[@$fFrRbBuU]{1,2}$")
#: A call that sends the request: what it returns is a response, not the URL.
_REQUEST_CALL = re.compile(r"(?i)(?:^|\.)(?:post\w*|get|put|patch|delete|request\w*|fetch|send\w*|do|exec\w*"
                           r"|urlopen|open|call|invoke|ajax|sendbeacon)$")
_GENERIC = {"url", "uri", "endpoint", "path", "host", "base", "address", "href", "link", "target", "dest",
            "destination", "api", "apiurl", "baseurl", "requesturl", "server"}
#: What follows a name that is not a use of its value: a member, an index, an assignment, a label or key.
_NOT_A_USE = re.compile(r"""["']?\s*(?:\.|\[|->|=(?!=)|:(?!:))""")
#: The scheme of a URL written at the start of a string (or, in shell scripts, of a word).
_URL_START = re.compile(r"""["'`](?:https?:)?//$""")
_SHELL_URL_START = re.compile(r"""(?:^|[\s"'`=])(?:https?:)?//$""")

_PRIORITY = {"use": 0, "url": 1, "draft": 2}
#: How much of an anchor's line is read to see the string it is in (its name, a `tc_s` parameter).
_NEARBY = 300


@dataclass
class Anchor:
    kind: str  # use, url, draft
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


class Text:
    """The blanked text with its line starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def line_text(self, line: int) -> str:
        return self.text[self.starts[line]:self.line_end(line)]

    def line_end(self, line: int) -> int:
        return self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)

    def anchor(self, kind: str, offset: int, label: str) -> Anchor:
        line = self.line_of(offset)
        anchor = Anchor(kind, offset, line, offset - self.starts[line] + 1, label)
        first = max(0, line - WINDOW_LINES)
        last = min(len(self.starts) - 1, line + WINDOW_LINES)
        anchor.start = max(self.starts[first], offset - WINDOW_CHARS)
        anchor.end = min(self.line_end(last), offset + WINDOW_CHARS)
        return anchor


class _Brackets:
    """The bracket groups (``()``, ``[]``, ``{}``) of ``text[lo:hi]``, to tell which literal a key is written in.

    Brackets in string literals do not count, except in strings that hold JSON (they start
    with ``{`` or ``[``, or end with ``}`` or ``]``). A closing bracket that does not match
    closes the groups opened since the matching one (up to 4 levels), else is ignored; a
    group left open ends at ``hi``.
    """

    def __init__(self, text: str, lo: int, hi: int) -> None:
        self.text, self.lo, self.hi = text, lo, hi
        self._params: dict[int, bool] = {}
        self._words: dict[tuple[int, bool], bool] = {}
        opens: list[int] = []
        closes: list[int] = []
        parents: list[int] = []
        kinds: list[str] = []
        stack: list[int] = []
        for token in _SCANNER.finditer(text, lo, hi):
            char = token.group("bracket")
            if char is None:  # a string: its brackets count only if it holds JSON
                value = token.group()
                brackets = ([(m.group(), token.start() + m.start()) for m in _BRACKETS.finditer(value)]
                            if _holds_json(value) else [])
            else:
                brackets = [(char, token.start())]
            for char, offset in brackets:
                if char in "({[":
                    parents.append(stack[-1] if stack else -1)
                    stack.append(len(opens))
                    opens.append(offset)
                    closes.append(hi)
                    kinds.append(char)
                elif stack and kinds[stack[-1]] == _OPENING[char]:
                    closes[stack.pop()] = offset
                else:  # a bracket that does not match: close up to 4 groups opened since the one it matches
                    wanted = _OPENING[char]
                    for depth in range(2, min(len(stack), 4) + 1):
                        if kinds[stack[-depth]] == wanted:
                            for _ in range(depth):
                                closes[stack.pop()] = offset
                            break
        self.opens, self.closes, self.parents, self.kinds = opens, closes, parents, kinds

    def enclosing(self, offset: int) -> int:
        """The innermost group holding ``offset`` (-1: none)."""
        group = bisect.bisect_left(self.opens, offset) - 1
        while group >= 0 and self.closes[group] < offset:
            group = self.parents[group]
        return group

    def _before(self, group: int) -> str:
        return self.text[max(self.lo, self.opens[group] - 150):self.opens[group]]

    def _after(self, group: int) -> str:
        close = self.closes[group]
        return self.text[close + 1:close + 151] if close < self.hi else ""

    def _transparent(self, group: int) -> bool:
        """An annotation's arguments (``@SerialName("event_name")``) or a C# attribute list: part of the literal."""
        if self.kinds[group] == "(":
            return _ANNOTATION.search(self._before(group)) is not None
        if self.kinds[group] == "[":
            opened = self.opens[group]
            return (_ATTRIBUTE_START.match(self.text, opened + 1) is not None
                    and _LINE_START.search(self._before(group)) is not None)
        return False

    def _climb(self, group: int) -> int:
        while group >= 0 and self._transparent(group):
            group = self.parents[group]
        return group

    def _is_params(self, group: int) -> bool:
        """Whether a ``(`` group is the parameter list of a function being defined."""
        if group in self._params:
            return self._params[group]
        result = False
        if self.kinds[group] == "(":
            before = self._before(group)
            if _TYPE_HEADER.search(before):
                result = False  # a class's primary constructor declares its fields
            elif _DEFINITION.search(before) or _ARROW.match(self._after(group)):
                result = True
            else:
                callee = _CALLEE.search(before)
                result = bool(callee and callee.group(1) not in _NOT_CALLEES
                              and _METHOD_BODY.match(self._after(group)))
        self._params[group] = result
        return result

    def _has_words(self, group: int, siblings: bool) -> bool:
        """Whether the event is named in ``group`` itself (``siblings``: or in a literal that is a direct member)."""
        cached = self._words.get((group, siblings))
        if cached is not None:
            return cached
        found = False
        for match in _EVENT_WORDS.finditer(self.text, self.opens[group] + 1, self.closes[group]):
            holder = self._climb(self.enclosing(match.start()))
            if holder == group or (siblings and holder >= 0 and self.parents[holder] == group
                                   and self.kinds[holder] in "{["):
                found = True
                break
        self._words[(group, siblings)] = found
        return found

    def _class_field(self, offset: int) -> bool:
        """Whether ``properties:`` at ``offset`` is a field of a class written by indentation (Python: a
        dataclass, a pydantic model) that also declares ``event_name`` or ``event_id``."""
        text = self.text
        start = text.rfind("\n", self.lo, offset) + 1
        indent = text[start:offset]
        if not indent or indent.strip():
            return False
        words = _EVENT_WORDS
        above = text[max(self.lo, start - WINDOW_CHARS):start].split("\n")[-2::-1]
        below = text[start:min(self.hi, start + WINDOW_CHARS)].split("\n")[1:]
        header, found = None, False
        for lines, upwards in ((above, True), (below, False)):
            for line in lines:
                stripped = line.lstrip()
                if not stripped:
                    continue
                if len(line) - len(stripped) < len(indent):  # the end of the block
                    header = stripped if upwards else header
                    break
                field_name = words.match(stripped) if len(line) - len(stripped) == len(indent) else None
                found = found or (field_name is not None and stripped[field_name.end():].lstrip()[:1] == ":")
        return found and header is not None and _CLASS_HEADER.match(header) is not None

    def _is_pair(self, group: int, key: int) -> bool:
        """Whether ``{ "key", value }`` at ``key`` is a pair of a collection initializer (C#)."""
        parent = self.parents[group]
        return (self.kinds[group] == "{" and parent >= 0 and self.kinds[parent] == "{"
                and not self.text[self.opens[group] + 1:key].strip())

    def is_body_key(self, match: re.Match[str]) -> bool:
        """Whether a :data:`_KEYS` match is a key of an event body (see the module docstring)."""
        form = _form(match)
        if form in ("index", "symindex", "member"):
            return True
        offset = match.start(form)
        group = self.enclosing(offset)
        if form == "quoted" and match.group("sep") == ",":
            callee = _CALLEE.search(self._before(group)) if group >= 0 else None
            if callee and callee.group(1) in _SETTERS:
                return True
            if group >= 0 and self._is_pair(group, match.start()):
                group = self.parents[group]  # C#: new Dictionary<...> { { "event_name", n }, { "properties", p } }
            elif group < 0 or self.kinds[group] != "(":
                return False
        elif form == "quoted" and match.group("sep") == ")" and (group < 0 or not self._transparent(group)):
            return False  # a read (`get("properties")`), not an annotation naming a field
        group = self._climb(group)
        if group < 0:
            return form == "bare" and match.group("op").startswith(":") and self._class_field(offset)
        ancestor = group
        while ancestor >= 0:
            if self._is_params(ancestor):
                return False
            ancestor = self.parents[ancestor]
        kind = self.kinds[group]
        if form == "bare" and match.group("op").startswith(":"):
            declared = _DECLARED.search(self.text, max(0, offset - 40), offset) is not None
            if declared and not _TYPE_HEADER.search(self._before(group)):
                return False  # a variable declared with a type, not a member of the body
        elif form == "bare":  # `properties = ...`: a named argument or an initializer, never a variable
            if not (kind == "(" or (kind == "{" and _NEW.search(self._before(group)))):
                return False
        elif form == "short" and kind != "{":
            return False
        if kind == "{" and _DESTRUCTURING.match(self._after(group)):
            return False
        if self._has_words(group, siblings=kind == "{" and form == "quoted" and match.group("sep") == ","):
            return True
        parent = self.parents[group]
        return kind in "{[" and parent >= 0 and self.kinds[parent] == "(" and self._has_words(parent, True)


_FORMS = ("index", "symindex", "member", "quoted", "tag", "symbol", "bare", "short")


def _form(match: re.Match[str]) -> str:
    """Which form of :data:`_KEYS` matched (its group holds the word)."""
    return next(form for form in _FORMS if match.group(form) is not None)


def _key_matches(text: str) -> Iterator[re.Match[str]]:
    """Every :data:`_KEYS` match, looked for only around the words (the pattern cannot skip ahead by itself)."""
    for word in _KEY_WORDS.finditer(text):
        at = word.start()
        for match in _KEYS.finditer(text, max(0, at - 12), min(len(text), word.end() + 64)):
            if match.start(_form(match)) == at:
                if _form(match) != "short" or _SHORTHAND_BEFORE.search(text, max(0, at - 200), at):
                    yield match
                break


def _holds_json(literal: str) -> bool:
    body = literal.strip("\"'`")
    return body.lstrip()[:1] in ("{", "[") or body.rstrip()[-1:] in ("}", "]")


class _Structure:
    """Bracket groups, read only around the anchors that may get evidence (a file may be megabytes long)."""

    def __init__(self, text: Text, anchors: list[Anchor]) -> None:
        self.text = text
        spans = []
        for anchor in anchors:
            start = max(0, anchor.start - WINDOW_CHARS)
            line_start = text.starts[text.line_of(start)]
            spans.append((line_start if start - line_start <= 2 * WINDOW_CHARS else start,
                          min(len(text.text), anchor.end + WINDOW_CHARS)))
        self.regions = merged_spans(spans)
        self.built: dict[int, _Brackets] = {}
        self.judged: dict[int, bool] = {}

    def is_body_key(self, match: re.Match[str]) -> bool:
        key = match.start()
        if key not in self.judged:
            index = bisect.bisect_right(self.regions, (match.start(), len(self.text.text) + 1)) - 1
            if index < 0 or not self.regions[index][0] <= match.start() < self.regions[index][1]:
                self.judged[key] = False
            else:
                if index not in self.built:
                    self.built[index] = _Brackets(self.text.text, *self.regions[index])
                self.judged[key] = self.built[index].is_body_key(match)
        return self.judged[key]


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
            if pattern is _ASSIGN and match.group("callee") and _REQUEST_CALL.search(match.group("callee")):
                return None  # `resp = requests.post("https://collect...")`: the call is the call site
            return next(name for name in match.groups() if name)
    return None


def _is_generic(name: str) -> bool:
    return len(name.strip("$_")) <= 3 or name.lower().strip("$_").replace("_", "") in _GENERIC


def _is_url_value(text: str, offset: int, style: CommentStyle) -> bool:
    """Whether the host at ``offset`` is written as a URL value: its scheme starts a string (or a shell word)."""
    before = text[max(0, offset - 12):offset]
    pattern = _SHELL_URL_START if style is CommentStyle.SHELL else _URL_START
    return pattern.search(before) is not None


def _collect_anchors(text: Text, style: CommentStyle) -> tuple[list[Anchor], list[Anchor]]:
    """(every anchor the payload evidence may belong to, the endpoint references themselves)."""
    references: list[Anchor] = []
    drafts: list[Anchor] = []
    named: list[tuple[Anchor, str]] = []
    definitions: dict[str, list[int]] = {}  # name -> lines where a collect URL is assigned to it
    for match in ENDPOINT.finditer(text.text):
        line = text.line_of(match.start())
        # The line around the reference (a minified line can be megabytes long).
        start = max(text.starts[line], match.start() - _NEARBY)
        around = text.text[start:min(text.line_end(line), match.end() + _NEARBY)]
        kind = endpoint_kind(match, around)
        if kind is None:
            continue
        if kind == "draft":
            if _is_url_value(text.text, match.start(), style):
                drafts.append(text.anchor("draft", match.start(), match.group()))
            continue
        reference = text.anchor("url", match.start(), match.group())
        references.append(reference)
        name = _assigned_name(around, match.start() - start)
        if name:
            named.append((reference, name))
            lines = definitions.setdefault(name, [])
            if not lines or lines[-1] != line:
                lines.append(line)
    found = _uses(text, definitions)
    uses = [text.anchor("use", offset, f"via `{name}`, line {line + 1}") for offset, name, line in found]
    used = {(name, line) for _, name, line in found}
    for reference, name in named:
        reference.defines = (name, reference.line) in used
    endpoints = [*references, *uses, *drafts]
    return list(endpoints), endpoints


def _uses(text: Text, definitions: dict[str, list[int]]) -> list[tuple[int, str, int]]:
    """``(offset, name, definition line)`` of every line using a name a collect URL is assigned to.

    One scan of the text for all names. A use belongs to the nearest definition before it
    (for a name that is not generic, to the first one if none is before it); generic names
    are followed for :data:`GENERIC_USE_LINES` lines after their definition. The first use
    on a line counts; lines that define the name do not use it.
    """
    if not definitions:
        return []
    names = sorted(definitions, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(name) for name in names) + r")(?![\w$])")
    uses: list[tuple[int, str, int]] = []
    seen: set[tuple[str, int]] = set()
    for match in pattern.finditer(text.text):
        name = match.group()
        if name.startswith("$") and match.start() and text.text[match.start() - 1] == "$":
            continue
        if _NOT_A_USE.match(text.text, match.end()):
            continue
        line = text.line_of(match.start())
        lines = definitions[name]
        at = bisect.bisect_left(lines, line)
        if (name, line) in seen or (at < len(lines) and lines[at] == line):
            continue
        if _is_generic(name):
            if at == 0 or line - lines[at - 1] > GENERIC_USE_LINES:
                continue
            defined = lines[at - 1]
        else:
            defined = lines[at - 1] if at else lines[0]
        seen.add((name, line))
        uses.append((match.start(), name, defined))
    return uses


def _attach_evidence(text: Text, anchors: list[Anchor], excluded: list[tuple[int, int]]) -> None:
    """Give each piece of evidence to the nearest anchor whose window holds it.

    A collect URL assigned to a name only gets evidence that no use of the name (nor
    any other anchor) is near: the uses are where the request is sent. Evidence in the
    ``excluded`` spans (a web container's ``tC.trigger`` body) belongs to no anchor.
    """
    for anchor in anchors:
        if anchor.kind in ("url", "use"):
            anchor.eligible = _EVENT_WORDS.search(text.text, anchor.start, anchor.end) is not None
    candidates = sorted((a for a in anchors if a.eligible and a.kind != "draft"), key=lambda a: a.offset)
    if not candidates:
        return
    structure = _Structure(text, candidates)
    found: list[tuple[str, int, re.Match[str] | None]] = [
        (m.group(_form(m)), m.start(_form(m)), m) for m in _key_matches(text.text)]
    offsets = [a.offset for a in candidates]
    for kind, offset, key in found:
        if any(start <= offset < end for start, end in excluded):
            continue
        # Only anchors within WINDOW_CHARS can have the evidence in their window.
        first = bisect.bisect_left(offsets, offset - WINDOW_CHARS)
        last = bisect.bisect_right(offsets, offset + WINDOW_CHARS)
        near = [a for a in candidates[first:last] if a.start <= offset < a.end]
        if key is not None:
            near = [a for a in near if structure.is_body_key(key)]
        if any(not a.defines for a in near):
            near = [a for a in near if not a.defines]
        if near:
            line = text.line_of(offset)
            best = min(near, key=lambda a: (abs(a.line - line), abs(a.offset - offset), _PRIORITY[a.kind]))
            best.evidence.append((kind, offset))


def _normalised(text: Text, anchor: Anchor) -> str:
    """The text a finding is about, for its fingerprint: the anchor's line (up to 100 characters each side)."""
    start = max(text.starts[anchor.line], anchor.offset - 100)
    end = min(text.line_end(anchor.line), anchor.offset + 100)
    return redact(" ".join(text.text[start:end].split()))


def _first(text: Text, anchor: Anchor, kind: str) -> int | None:
    offsets = [offset for found, offset in anchor.evidence if found == kind]
    return text.line_of(min(offsets)) + 1 if offsets else None


def _anchor_finding(text: Text, anchor: Anchor) -> Finding | None:
    properties = _first(text, anchor, "properties")
    context = _first(text, anchor, "context")
    where = f"({anchor.label})" if anchor.kind == "use" else f"(`{anchor.label}`)"
    if anchor.kind == "draft":
        rule, message = "call-site-1.0", (f"posts to the retired pre-1.0 draft endpoint `{anchor.label}`; "
                                          "send 2.0 events to the collect endpoint instead")
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


def merged_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of ``spans`` as sorted, disjoint spans."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def collect_anchors(source: SourceFile) -> tuple[Text, list[Anchor], list[Anchor]]:
    """(the blanked text, every anchor, the endpoint references): computed once per file, shared with the
    source-key detector (:mod:`.keys`), which looks for keys in the endpoints' windows."""
    cached = source.shared.get("collect")
    if cached is None:
        text = Text(source.blanked)
        anchors, endpoints = _collect_anchors(text, source.language.style)
        cached = source.shared["collect"] = (text, anchors, endpoints)
    return cached


@detector("call-site", "call-site-1.0", "call-site-2.0")
def call_sites(source: SourceFile) -> list[Finding]:
    """Collect call sites and the retired draft endpoint (see the module docstring). Inside a web container's
    ``tC.trigger`` definition the container finding says it all: no call site is reported there."""
    text, anchors, _ = collect_anchors(source)
    if not anchors:
        return []
    inside = trigger_spans(source) if source.language.web else []
    if inside:
        anchors = [a for a in anchors if not any(start <= a.offset < end for start, end in inside)]
    _attach_evidence(text, anchors, inside)
    return [f for f in (_anchor_finding(text, a) for a in anchors) if f is not None]


def scan_source(text: str, style: CommentStyle, *, web: bool = False, config: bool = False,
                keys_only: bool = False) -> list[Finding]:
    """Run the registered detectors (:mod:`.detectors`) over ``text`` read with comment ``style``: collect call
    sites, web containers (``web=True``: JavaScript, TypeScript, HTML) and source keys (only those with
    ``keys_only``).

    ``config``: a configuration file, where values may be unquoted (so may they in shell
    scripts). Findings carry line and column; their path is left empty for the caller to set.
    """
    language = Language(style, web=web, unquoted=style is CommentStyle.SHELL,
                        name="javascript" if web else "text", grammar="javascript" if web else None)
    return scan(SourceFile(text, language, config=config), keys_only=keys_only)
