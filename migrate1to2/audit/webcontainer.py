"""Web containers: what the ``tC.trigger`` a container defines sends. Pure.

A generated web container (the tagContainer generator's output) defines
``tC.trigger = function (options) { ... }``; some 150 lines into that function it
builds the wire object and sends it with ``navigator.sendBeacon`` (an XHR as the
fallback). That object is what the detector judges:

- 1.0 (error): ``{event, properties, page, device, eventId, version: 1,
  generatorVersion, containerVersion}``: ``version: 1`` or ``properties`` written as a
  key of the object itself (it has no ``event_name``);
- 2.0 (informational): ``{event_name, ...properties, context: {page, device, eventId,
  version: 2, ...}}``: a ``context`` key, or ``version: 2`` inside it.

The wire object is an object literal in the definition's body with ``event`` or
``event_name`` among its own keys (or ``version`` next to ``page`` / ``device`` /
``eventId``); one that states a ``version`` outweighs one judged by its keys alone (a 2.0
container may hand ``{event, properties}`` to listeners), and the outermost is taken (an
object built with ``Object.assign({...}, ..., {...})`` is judged as a whole). The finding
is at the object, and names the definition's line and how it is sent. Calls are never
the wire object: ``tC.trigger({event, properties, config})`` and ``cact('trigger', ...)``
pass an options object that 2.0 containers take too; a stub (``tC.trigger = tC.trigger
|| function () {}``) builds nothing and is not reported.

Reading: with the optional parser (:mod:`.syntax`: the JavaScript / TypeScript grammar)
the definition, its body and the object literals are syntax nodes; without it, the
same facts are read by a scanner that matches brackets outside strings and regular
expression literals. In markup (``.html``, ``.vue``) only ``<script>`` elements are
read.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from .comments import STRING_LITERAL
from .detectors import SourceFile, detector
from .languages import Language
from .model import Finding
from .rules import finding
from .syntax import parse

__all__ = ["trigger_spans", "web_containers"]

_DEFINITION = re.compile(r"(?<![\w$])tC\s*\.\s*trigger\s*=(?!=)\s*(?:[\w$.]+\s*\|\|\s*)?(?=function\b|\()")
_FUNCTION_HEAD = re.compile(r"\s*(?:function\b\s*[\w$]*\s*)?\(")
#: After the parameters: a TypeScript return type, an arrow, then the body.
_ARROW_OR_BODY = re.compile(r"\s*(?::\s*[^{}=;()]+?)?\s*(?:=>\s*)?\{")
_SCRIPT = re.compile(r"(<script\b[^>]*>)([\s\S]*?)(?:</script\s*>|\Z)", re.I)
_NOT_NEWLINE = re.compile(r"[^\n]")
_SEND = re.compile(r"navigator\s*\.\s*sendBeacon|XMLHttpRequest|\bfetch\s*\(|\btC\s*\.\s*track\s*\(")
_SPACE = re.compile(r"[\s(]")
_EVENT_KEYS = frozenset({"event", "event_name"})
_META_KEYS = frozenset({"page", "device", "eventId", "event_id", "generatorVersion", "containerVersion"})
# Reading without the parser: strings, regular expression literals and brackets.
_REGEX_LITERAL = r"(?<=[(,=:\[!&|?{};])\s*/(?![/*])(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n\[])+/[a-z]*"
_TOKENS = re.compile(STRING_LITERAL.pattern + "|" + _REGEX_LITERAL + r"|(?P<bracket>[{}()\[\],])", re.M)
_KEY_AT = re.compile(r"""\s*(?:(?P<q>["'])(?P<quoted>[\w$]+)(?P=q)|(?P<bare>[\w$]+))\s*(?P<sep>:(?!:)|(?=[,}]))""")
_SPREAD_AT = re.compile(r"\s*\.\.\.")
_VALUE = re.compile(r"""\s*["']?(?P<value>\d+)["']?\s*(?=[,}])""")


@dataclass
class _Object:
    """An object literal: where it starts, its own keys (name -> offset of the key) and ``version`` values."""

    start: int
    keys: dict[str, int] = field(default_factory=dict)
    #: ``(value, offset, own)``: ``version: N`` written in the object itself (``own``) or in its ``context``.
    versions: list[tuple[str, int, bool]] = field(default_factory=list)


@dataclass
class _Definition:
    offset: int  # `tC.trigger`
    start: int  # the function's body
    end: int
    objects: list[_Object] = field(default_factory=list)


def _script_only(text: str) -> str:
    """Markup with everything outside ``<script>`` elements blanked (same offsets and lines)."""
    parts, last = [], 0
    for match in _SCRIPT.finditer(text):
        parts.append(_NOT_NEWLINE.sub(" ", text[last:match.start(2)]))
        parts.append(match.group(2))
        last = match.end(2)
    parts.append(_NOT_NEWLINE.sub(" ", text[last:]))
    return "".join(parts)


def _code(source: SourceFile) -> str:
    cached = source.shared.get("web-code")
    if cached is None:
        text = source.blanked
        cached = source.shared["web-code"] = _script_only(text) if source.language.name == "html" else text
    return str(cached)


def _merged(groups: dict[int, list[_Object]]) -> list[_Object]:
    """One object per call that takes several literals (``Object.assign({event_name}, props, {context})``):
    what the call builds holds the keys of all of them."""
    merged = []
    for items in groups.values():
        if len(items) > 1:
            whole = _Object(items[0].start)
            for item in items:
                for name, offset in item.keys.items():
                    whole.keys.setdefault(name, offset)
                whole.versions += item.versions
            merged.append(whole)
    return merged


# With the parser.

def _key_name(node: Any) -> str:
    return str(node.text()).strip("\"'`")


def _object_of(node: Any) -> _Object:
    item = _Object(node.range().start.index)
    for child in node.named_children():
        kind = child.kind()
        if kind == "pair":
            key, value = child.field("key"), child.field("value")
            if key is None:
                continue
            name = _key_name(key)
            item.keys.setdefault(name, key.range().start.index)
            if name == "version" and value is not None:
                item.versions.append((_key_name(value), key.range().start.index, True))
            elif name == "context" and value is not None and value.kind() == "object":
                for inner in value.named_children():
                    inner_key = inner.field("key") if inner.kind() == "pair" else None
                    inner_value = inner.field("value") if inner_key is not None else None
                    if inner_key is not None and inner_value is not None and _key_name(inner_key) == "version":
                        item.versions.append((_key_name(inner_value), inner_key.range().start.index, False))
        elif kind == "shorthand_property_identifier":
            item.keys.setdefault(str(child.text()), child.range().start.index)
    return item


def _function_of(node: Any) -> Any | None:
    """The function a definition's right-hand side holds (``f``, ``tC.trigger || f``, ``(o) => {...}``)."""
    if node is None:
        return None
    if node.kind() in ("function_expression", "function", "arrow_function"):
        return node
    if node.kind() == "binary_expression":
        return _function_of(node.field("right"))
    if node.kind() == "parenthesized_expression":
        children = node.named_children()
        return _function_of(children[0]) if children else None
    return None


def _parsed_definitions(root: Any) -> list[_Definition]:
    found = []
    for node in root.find_all(kind="assignment_expression"):
        left = node.field("left")
        if left is None or re.sub(r"\s+", "", str(left.text())) not in ("tC.trigger", "window.tC.trigger"):
            continue
        function = _function_of(node.field("right"))
        body = function.field("body") if function is not None else None
        if body is None or body.kind() != "statement_block":
            continue
        span = body.range()
        definition = _Definition(left.range().start.index + (len(str(left.text())) - len("tC.trigger")
                                                              if str(left.text()).startswith("window") else 0),
                                 span.start.index, span.end.index)
        groups: dict[int, list[_Object]] = {}
        for literal in body.find_all(kind="object"):
            item = _object_of(literal)
            definition.objects.append(item)
            parent = literal.parent()
            if parent is not None and parent.kind() == "arguments":
                groups.setdefault(parent.range().start.index, []).append(item)
        definition.objects += _merged(groups)
        found.append(definition)
    return found


# Without the parser.

def _matching(text: str, opened: int) -> int:
    """The offset of the bracket closing the one at ``opened`` (outside strings and regular expressions)."""
    depth = 0
    for token in _TOKENS.finditer(text, opened):
        char = token.group("bracket")
        if char in ("{", "(", "["):
            depth += 1
        elif char in ("}", ")", "]"):
            depth -= 1
            if depth == 0:
                return token.start()
    return len(text)


def _scanned_objects(text: str, start: int, end: int) -> list[_Object]:
    objects: list[_Object] = []
    stack: list[tuple[str, int, str | None]] = []  # (bracket, object index or -1, key that opened it)
    calls: dict[int, list[_Object]] = {}  # the literals given directly to a call, by the call's `(`
    parens: list[int] = []
    last_key: dict[int, str] = {}

    def read_key(at: int, index: int) -> None:
        if _SPREAD_AT.match(text, at):
            return
        key = _KEY_AT.match(text, at, end)
        if key is None:
            return
        name = key.group("quoted") or key.group("bare")
        offset = key.start("quoted") if key.group("quoted") else key.start("bare")
        item = objects[index]
        item.keys.setdefault(name, offset)
        last_key[index] = name
        if name == "version" and key.group("sep") == ":":
            value = _VALUE.match(text, key.end(), end)
            if value is not None:
                item.versions.append((value.group("value"), offset, True))

    for token in _TOKENS.finditer(text, start, end):
        char = token.group("bracket")
        if char is None:
            continue
        at = token.start()
        if char == "{":
            parent = stack[-1][1] if stack and stack[-1][0] == "{" else -1
            opener = last_key.get(parent) if parent >= 0 else None
            objects.append(_Object(at))
            if stack and stack[-1][0] == "(" and parens:
                calls.setdefault(parens[-1], []).append(objects[-1])
            stack.append(("{", len(objects) - 1, opener))
            read_key(at + 1, len(objects) - 1)
        elif char in "([":
            stack.append((char, -1, None))
            if char == "(":
                parens.append(at)
        elif char in ")]}":
            if stack:
                opened, index, opener = stack.pop()
                if opened == "(" and parens:
                    parens.pop()
                if char == "}" and index >= 0 and opener == "context" and stack and stack[-1][1] >= 0:
                    outer = objects[stack[-1][1]]
                    outer.versions.extend((v, o, False) for v, o, own in objects[index].versions if own)
        elif char == "," and stack and stack[-1][0] == "{":
            read_key(at + 1, stack[-1][1])
    return objects + _merged(calls)


def _scanned_definitions(text: str) -> list[_Definition]:
    found = []
    for match in _DEFINITION.finditer(text):
        head = _FUNCTION_HEAD.match(text, match.end())
        if head is None:
            continue
        params_end = _matching(text, head.end() - 1)
        body = _ARROW_OR_BODY.match(text, params_end + 1)
        if body is None:
            continue
        start = body.end() - 1
        end = _matching(text, start) + 1
        definition = _Definition(match.start(), start, end)
        definition.objects = _scanned_objects(text, start, end)
        found.append(definition)
    return found


def _definitions(source: SourceFile) -> list[_Definition]:
    cached = source.shared.get("web-definitions")
    if cached is None:
        code = _code(source)
        if _DEFINITION.search(code) is None:
            cached = []
        else:
            root = parse(code, source.language.grammar)
            readable = root is not None and root.find(kind="ERROR") is None
            cached = _parsed_definitions(root) if readable else []
            if not cached:  # no parser, or code it cannot read (TypeScript in a `.vue` file): scan the text
                cached = _scanned_definitions(code)
        source.shared["web-definitions"] = cached
    return list(cached)


def trigger_spans(source: SourceFile) -> list[tuple[int, int]]:
    """The bodies of the ``tC.trigger`` functions ``source`` defines, as ``(start, end)`` offsets."""
    return [(d.start, d.end) for d in _definitions(source)]


def _verdict(item: _Object) -> tuple[str, str] | None:
    """``(version, why)`` of a wire object, or ``None`` if the object is not one."""
    keys = item.keys
    named = not _EVENT_KEYS.isdisjoint(keys) or ("version" in keys and not _META_KEYS.isdisjoint(keys))
    if not named:
        return None
    own = {value for value, _, is_own in item.versions if is_own}
    inner = {value for value, _, is_own in item.versions if not is_own}
    if "1" in own or ("properties" in keys and "context" not in keys and "2" not in own | inner):
        why = "`version: 1`" if "1" in own else "a `properties` key"
        return "1.0", why
    if "context" in keys or "2" in own | inner:
        why = "`version: 2`" if "2" in own | inner else "a `context` key"
        return "2.0", why
    return None


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1


def _is_web(language: Language) -> bool:
    return language.web


@detector("web-container", "web-container-1.0", "web-container-2.0", applies=_is_web)
def web_containers(source: SourceFile) -> list[Finding]:
    """The wire object each ``tC.trigger`` definition builds (see the module docstring)."""
    definitions = _definitions(source)
    if not definitions:
        return []
    code = _code(source)
    lines = _Lines(code)
    findings = []
    for definition in definitions:
        judged = [(item, _verdict(item)) for item in definition.objects]
        wire = [(item, verdict) for item, verdict in judged if verdict is not None]
        if not wire:
            continue
        # An object that states its `version` outweighs one told by its keys (a 2.0 container may hand
        # `{event, properties}` to a listener); then 1.0 first; then the outermost (its parts are inside it).
        stated = [pair for pair in wire if pair[0].versions] or wire
        item, (version, why) = min(stated, key=lambda pair: (pair[1][0] != "1.0", pair[0].start))
        line, column = lines.at(item.start)
        defined, _ = lines.at(definition.offset)
        send = _SEND.search(code, definition.start, definition.end)
        how = f", sent with `{_SPACE.sub('', send.group())}` (line {lines.at(send.start())[0]})" if send else ""
        event = "no `event_name`" if "event_name" not in item.keys else "`event_name`"
        if version == "1.0":
            rule = "web-container-1.0"
            message = (f"the container's `tC.trigger` (defined line {defined}) builds a 1.0 event here ({why}, "
                       f"{event}){how}; regenerate the container so that it builds `context` / `version: 2`")
        else:
            rule = "web-container-2.0"
            message = f"the container's `tC.trigger` (defined line {defined}) builds a 2.0 event here ({why}){how}"
        snippet = " ".join(sorted(item.keys))
        findings.append(finding(rule, message, line=line, column=column, match=f"tC.trigger {snippet}"))
    return findings
