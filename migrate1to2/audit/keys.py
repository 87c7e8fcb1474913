"""Source keys written in code and configuration: found, located and masked. Pure.

A key is 12 or more letters, digits and ``._~+/-`` (placeholders such as
``YOUR_SOURCE_KEY``, ``${TOKEN}``, ``{{token}}`` are not keys); a key found through a
name or an SDK call must hold a letter and a digit. Keys are always masked.

In a file that references the collect endpoint (see :mod:`.source`):

- within a collect anchor's window: ``token=<key>`` in a URL (not on a line that holds
  another host's URL), ``Bearer <key>``, a ``token`` parameter (``"token": "<key>"``),
  and a key assigned to a name that says token, key or secret (``apiKey = "..."``);
- anywhere in the file: a key assigned to a name that says it is the source key
  (``token``, ``SOURCE_KEY``, ``TC_TOKEN``, ``SITE_TOKEN``, ``collect_token``, ``cdpKey``).

In any source file (the SDKs and containers never write the collect host themselves):

- the key handed to a server-side SDK: the second argument of ``TCServerSide(siteID,
  key, ...)`` / ``new TCServerSide(...)``, of the plugins' ``initServerSide(siteID,
  key)``, the ``andSourceKey:`` argument (Swift ``ServerSide(siteID:andSourceKey:...)``,
  Objective-C ``initWithSiteID:andSourceKey:``); a name passed there instead is followed
  to a key assigned to it in the same file. With the optional parser (:mod:`.syntax`)
  the call and its arguments are syntax nodes (which argument a literal is); without it
  (and for Objective-C and Dart) a regular expression reads the call;
- a key assigned to a name that holds ``sourcekey`` once ``_`` and case are ignored
  (``containerSourceKey = '<uuid>'`` in a web container, ``SOURCE_KEY_PROD``,
  ``prodSourceKey``, Swift ``case sourceKey = "..."``);
- the keys an enum, object, class or struct named for source keys holds (``enum class
  SourceKey(val key: String) { PRODUCTION("<uuid>"), ... }``).

Found by a name or a declaration alone (no collect host in the file), a key is letters, digits
and dashes only (UUIDs, random strings): other software's "source keys" are paths and dotted
names (``images/2023/a.png``, ``assets.v2.bundle``).

Values are quoted in code; configuration files and shell scripts may leave them
unquoted (``TC_TOKEN=<key>`` in ``.env``, ``source_key: <key>`` in YAML).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import Any

from .comments import STRING_LITERAL
from .detectors import SourceFile, detector
from .endpoints import ENDPOINT
from .masking import is_placeholder, mask
from .model import Finding
from .rules import finding
from .source import Anchor, Text, collect_anchors, merged_spans
from .syntax import parse

__all__ = ["source_keys"]

_KEY = r"[A-Za-z0-9][A-Za-z0-9._~+/-]{11,}=*"
_TOKEN_PARAM = re.compile(rf"[?&]token=(?P<key>{_KEY})")
_BEARER = re.compile(rf"""\bBearer(?:\s+|["']\s*,\s*@?["'])(?P<key>{_KEY})""")
_TOKEN_FIELD = re.compile(
    rf"""(?:@?["']token["']\s*(?::|=>|,|\]\s*=)|(?<![\w$])token\s*[:=])\s*@?["'](?P<key>{_KEY})["']""")
#: A quoted value that may be a key, then the name it is assigned to (looked for before it).
_QUOTED_KEY = re.compile(rf"""["'](?P<key>{_KEY})["']""")
_NAME_BEFORE = re.compile(r"""(?<![\w$])(?P<name>[\w$-]+)["']?\s*(?::=|=>|=|:)\s*@?$""")
_NAMED_KEY_UNQUOTED = re.compile(
    rf"""^[ \t]*(?:export[ \t]+)?(?P<name>[\w$.-]+)[ \t]*[=:][ \t]*(?P<key>{_KEY})[ \t]*(?:[#;].*)?$""", re.M)
#: Names that say they hold a source key: ``token``, ``SOURCE_KEY``, ``TC_TOKEN``, ``SITE_TOKEN``, ``cdpKey``...
_SOURCE_KEY_NAME = re.compile(r"(?:tc|collect|source|serverside|cdp|commandersact|commanders|commander|site"
                              r"|tracking|tagcommander)*(?:token|key)")
#: Names that say they hold a secret: anything with token or secret, or ending in key(s).
_SECRET_NAME = re.compile(r"token|secret|keys?$")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.I)

_KEY_VALUE = re.compile(_KEY)
#: Names that say source key wherever they are: ``containerSourceKey``, ``SOURCE_KEY_PROD``.
_SOURCE_KEY_WORD = "sourcekey"
#: The SDK calls that take the source key (second argument, or the labelled one).
_SDK_CALLEES = ("TCServerSide", "ServerSide", "initServerSide")
_SDK_LABEL = re.compile(r"^\s*(?:and)?[Ss]ource_?[Kk]ey\s*[:=]\s*")
_ANY_LABEL = re.compile(r"^\s*[\w$]+\s*:(?!:)\s*")
#: Without the parser: the first argument may hold one level of brackets (``Int32(siteId)``), not two.
_SDK_CALL = re.compile(rf"""(?<![\w$])(?:{"|".join(_SDK_CALLEES)})\s*\(\s*(?:[\w$]+\s*:\s*)?"""
                       rf"""(?:[^,()"']|\([^()]*\))*?,\s*"""
                       rf"""(?:(?:and)?[Ss]ource_?[Kk]ey\s*:\s*)?(?P<value>@?["'](?P<key>{_KEY})["']|[\w$.]+)""")
_OBJC_LABEL = re.compile(rf"""\bandSourceKey\s*:\s*(?P<value>@?"(?P<key>{_KEY})"|[\w$.]+)""")
#: A web container's fallback key: ``config.sourceKey || tC.config.sourceKey || containerSourceKey``.
#: ``tC.config.sourceKey = tC.config.sourceKey || "<uuid>"`` holds the key itself.
_FALLBACK_KEY = re.compile(rf"""[Ss]ource_?[Kk]ey\s*\|\|\s*(?:(?P<name>[A-Za-z_$][\w$]*)(?![\w$.(])"""
                           rf"""|["'](?P<key>{_KEY})["'])""")
_DECLARATION = re.compile(r"\b(?:enum|object|class|struct|interface)\s+(?:class\s+)?"
                          r"(?P<name>[\w$]*(?i:source_?keys?)[\w$]*)")
#: What a key found by its name alone (no collect host in the file) looks like: letters, digits and dashes
#: (UUIDs, random strings); a path or a dotted name (``images/2023/a.png``, ``assets.v2``) is none.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{11,}")
#: Whether a text may hold a name that says source key (looked for first: most files hold none).
_MAY_NAME_SOURCE_KEY = re.compile(r"(?i)source_?key")
_BODY_TOKENS = re.compile(STRING_LITERAL.pattern + r"|(?P<brace>[{}])", re.M)
_PATTERNS = {
    "python": ("TCServerSide($$$A)", "ServerSide($$$A)", "$O.initServerSide($$$A)", "initServerSide($$$A)"),
    "ruby": (),
    "go": (),
}
_DEFAULT_PATTERNS = ("TCServerSide($$$A)", "new TCServerSide($$$A)", "ServerSide($$$A)", "new ServerSide($$$A)",
                     "ServerSide.init($$$A)", "$O.initServerSide($$$A)", "initServerSide($$$A)")


def _name(written: str) -> str:
    """A variable's name, compared: the last dotted part, without ``$``, ``_`` and ``-``, in lower case."""
    return written.rsplit(".", 1)[-1].strip("$").replace("_", "").replace("-", "").lower()


def _looks_like_key(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _other_host_on_line(text: Text, offset: int) -> bool:
    """Whether the line of ``offset`` holds a URL and no reference to the collect endpoint."""
    line = text.line_text(text.line_of(offset))
    return _URL.search(line) is not None and ENDPOINT.search(line) is None


def _named_keys(text: str, unquoted: bool) -> Iterator[tuple[str, int, str]]:
    """``(name, offset, key)`` of every value that may be a key assigned to a name (see the module docstring)."""
    for match in _QUOTED_KEY.finditer(text):
        if not _looks_like_key(match.group("key")):  # the caller would drop it: skip the search backwards
            continue
        name = _NAME_BEFORE.search(text, max(0, match.start() - 80), match.start())
        if name is not None:
            yield name.group("name"), match.start("key"), match.group("key")
    if unquoted:
        for match in _NAMED_KEY_UNQUOTED.finditer(text):
            yield match.group("name"), match.start("key"), match.group("key")


def _literal_key(value: str) -> tuple[int, str] | None:
    """``(offset in value, key)`` when ``value`` is a quoted literal holding a key."""
    match = re.fullmatch(rf"""\s*@?(["'])(?P<key>{_KEY})\1\s*""", value)
    return (match.start("key"), match.group("key")) if match else None


def _assigned(text: str, name: str) -> tuple[int, str] | None:
    """Where a key is assigned to ``name`` in the same file (``val KEY = "..."``, ``static let key = "..."``)."""
    pattern = re.compile(rf"""(?<![\w$.]){re.escape(name)}\s*(?::[^=\n]*)?=\s*@?["'](?P<key>{_KEY})["']""")
    match = pattern.search(text)
    return (match.start("key"), match.group("key")) if match else None


def _parsed_sdk_arguments(root: Any, grammar: str) -> Iterator[tuple[int, str]]:
    """``(offset, argument text)`` of the source-key argument of every SDK call in the tree."""
    for pattern in _PATTERNS.get(grammar, _DEFAULT_PATTERNS):
        try:
            calls = root.find_all(pattern=pattern)
        except Exception:  # a pattern the grammar cannot read
            continue
        for call in calls:
            arguments = [node for node in call.get_multiple_matches("A") if node.is_named()]
            labelled = [node for node in arguments if _SDK_LABEL.match(str(node.text()))]
            argument = labelled[0] if labelled else arguments[1] if len(arguments) > 1 else None
            if argument is None:
                continue
            text = str(argument.text())
            label = _SDK_LABEL.match(text) or _ANY_LABEL.match(text)
            skip = label.end() if label else 0
            yield argument.range().start.index + skip, text[skip:]


def _scanned_sdk_arguments(text: str) -> Iterator[tuple[int, str]]:
    for pattern in (_SDK_CALL, _OBJC_LABEL):
        for match in pattern.finditer(text):
            yield match.start("value"), match.group("value")


def _sdk_keys(source: SourceFile) -> list[tuple[int, str, str]]:
    """``(offset, key, how)`` of the keys handed to the server-side SDKs (see the module docstring)."""
    text = source.blanked
    if not any(callee in text for callee in ("ServerSide", "andSourceKey")):
        return []
    grammar = source.language.grammar
    root = parse(text, grammar) if grammar and source.language.name != "html" else None
    arguments = (list(_parsed_sdk_arguments(root, grammar or "")) if root is not None
                 else list(_scanned_sdk_arguments(text)))
    if root is None or root.find(kind="ERROR") is not None:  # no grammar, or code it cannot read
        arguments += [a for a in _scanned_sdk_arguments(text) if a not in arguments]
    else:  # the `andSourceKey:` label belongs to the SDK alone, whatever the call looks like
        arguments += [(m.start("value"), m.group("value")) for m in _OBJC_LABEL.finditer(text)]
    found = []
    for offset, value in arguments:
        literal = _literal_key(value)
        if literal is not None:
            found.append((offset + literal[0], literal[1], "handed to the server-side SDK"))
        elif re.fullmatch(r"[\w$.]+", value.strip()):
            name = value.strip().rsplit(".", 1)[-1]
            resolved = _assigned(text, name)
            if resolved is not None:
                found.append((*resolved, f"`{name}`, handed to the server-side SDK"))
    return found


def _fallback_keys(text: str) -> Iterator[tuple[int, str, str]]:
    """``(offset, key, how)`` of a key a web container falls back to (minified: under any name)."""
    for match in _FALLBACK_KEY.finditer(text):
        if match.group("key"):
            yield match.start("key"), match.group("key"), "the container's default source key"
            continue
        resolved = _assigned(text, match.group("name"))
        if resolved is not None:
            yield (*resolved, "the container's default source key")


def _declared_keys(text: str) -> Iterator[tuple[int, str, str]]:
    """``(offset, key, how)`` of the keys held by an enum, object, class or struct named for source keys."""
    for declaration in _DECLARATION.finditer(text):
        name = declaration.group("name")
        opened = text.find("{", declaration.end(), declaration.end() + 300)
        if opened < 0:
            continue
        depth, end = 0, len(text)
        for token in _BODY_TOKENS.finditer(text, opened):
            brace = token.group("brace")
            if brace == "{":
                depth += 1
            elif brace == "}":
                depth -= 1
                if depth == 0:
                    end = token.start()
                    break
        for match in _QUOTED_KEY.finditer(text, opened, end):
            if _PLAIN_KEY.fullmatch(match.group("key")):
                yield match.start("key"), match.group("key"), f"held by `{name}`"


def _may_name_source_key(text: str) -> bool:
    """Whether ``text`` may hold a name that says source key (substring tests first: they are fast)."""
    return ("ource" in text or "OURCE" in text) and _MAY_NAME_SOURCE_KEY.search(text) is not None


def _key_findings(text: Text, endpoints: list[Anchor], unquoted: bool,
                  first: list[tuple[int, str, str]], may_name: bool) -> list[Finding]:
    found: dict[int, tuple[str, str]] = {}  # key offset -> (key, how it was written)

    def keep(match: re.Match[str], how: str) -> None:
        keep_at(match.start("key"), match.group("key"), how)

    def keep_at(offset: int, key: str, how: str) -> None:
        if not is_placeholder(key) and _looks_like_key(key):
            found.setdefault(offset, (key, how))

    for offset, key, how in first:  # the SDK call or the declaration gives the best reason
        keep_at(offset, key, how)
    windows = merged_spans([(a.start, a.end) for a in endpoints])
    for start, end in windows:
        for match in _TOKEN_PARAM.finditer(text.text, start, end):
            if not _other_host_on_line(text, match.start()):
                keep(match, "`token=` in the collect URL")
        for match in _BEARER.finditer(text.text, start, end):
            keep(match, "`Authorization: Bearer` next to the collect host")
        for match in _TOKEN_FIELD.finditer(text.text, start, end):
            keep(match, "`token` parameter next to the collect host")
    secret_names = []
    starts = [start for start, _ in windows]
    named = _named_keys(text.text, unquoted) if endpoints or may_name else iter(())
    for written, offset, key in named:
        name = _name(written)
        if name == "key" or not _looks_like_key(key):
            continue
        if endpoints and _SOURCE_KEY_NAME.fullmatch(name):
            keep_at(offset, key, f"`{written}` in a file that sends to the collect host")
        elif _SOURCE_KEY_WORD in name and (endpoints or _PLAIN_KEY.fullmatch(key)):
            keep_at(offset, key, f"`{written}`, a name that says source key")
        elif endpoints and _SECRET_NAME.search(name):
            window = bisect.bisect_right(starts, offset) - 1
            if window >= 0 and offset < windows[window][1]:
                secret_names.append((offset, key, f"`{written}` next to the collect host"))
    for offset, key, how in secret_names:  # after the names that say source key: they give the reason
        keep_at(offset, key, how)
    results = []
    for offset, (key, how) in sorted(found.items()):
        line = text.line_of(offset)
        results.append(finding(
            "source-key", f"source key written in code ({how}): {mask(key)}; move it to a secret store and "
                          "rotate it", line=line + 1, column=offset - text.starts[line] + 1, match=mask(key)))
    return results


@detector("source-key", "source-key", keys=True)
def source_keys(source: SourceFile) -> list[Finding]:
    """Source keys in code and configuration (see the module docstring)."""
    text, _, endpoints = collect_anchors(source)
    first = _sdk_keys(source)
    may_name = _may_name_source_key(text.text)
    if may_name:
        first += _declared_keys(text.text)
    if source.language.web:
        first += _fallback_keys(text.text)
    return _key_findings(text, endpoints, source.unquoted, first, may_name)
