"""Blanking comments out of source text, so commented-out code is not reported. Pure.

Comments become spaces (newlines are kept), so every line and column stays where
it was. String literals are kept: URLs and JSON bodies live in them. The scanner
knows each style's comment markers and the usual string quotes (single, double,
backtick, triple); a string that is not closed ends at the end of its line (only
backtick and triple-quoted strings span lines), which keeps an odd quote from
hiding the rest of a file.
"""

from __future__ import annotations

import re
from enum import Enum

__all__ = ["STRING_LITERAL", "CommentStyle", "blank_comments"]


class CommentStyle(str, Enum):
    """The comment syntax of a family of languages."""

    NONE = "none"  # markup and data (HTML, XML, JSON, lock files): nothing is blanked
    C = "c"  # // and /* */ : JavaScript, TypeScript, Java, Kotlin, Swift, Objective-C, Go, C#, Gradle
    HASH = "hash"  # # : Python, Ruby (Podfile), TOML, YAML
    SHELL = "shell"  # # after a blank or at the start of a line
    PHP = "php"  # //, /* */ and # (not #[ attributes)


_STRINGS = (
    r'"""[\s\S]*?(?:"""|\Z)',
    r"'''[\s\S]*?(?:'''|\Z)",
    r'"(?:\\.|[^"\\\n])*(?:"|$)',
    r"'(?:\\.|[^'\\\n])*(?:'|$)",
    r"`(?:\\[\s\S]|[^`\\])*(?:`|\Z)",
)
#: A string literal in any of the audited languages (single, double, backtick or triple quotes).
STRING_LITERAL = re.compile("|".join(_STRINGS), re.M)
_C_COMMENTS = (r"//[^\n]*", r"/\*[\s\S]*?(?:\*/|\Z)")
_COMMENTS = {
    CommentStyle.C: _C_COMMENTS,
    CommentStyle.HASH: (r"#[^\n]*",),
    CommentStyle.SHELL: (r"(?:(?<=[\s;|&(])|^)#[^\n]*",),
    CommentStyle.PHP: (*_C_COMMENTS, r"#(?!\[)[^\n]*"),
}
_SCANNERS = {
    style: re.compile("|".join(f"(?P<c{i}>{pattern})" for i, pattern in enumerate(comments)) + "|"
                      + "|".join(_STRINGS), re.M)
    for style, comments in _COMMENTS.items()
}
_NOT_NEWLINE = re.compile(r"[^\n]")


def blank_comments(text: str, style: CommentStyle) -> str:
    """``text`` with the comments of ``style`` replaced by spaces; same length, same line breaks."""
    scanner = _SCANNERS.get(style)
    if scanner is None:
        return text
    parts: list[str] = []
    last = 0
    for match in scanner.finditer(text):
        if match.lastgroup is None:  # a string literal: kept
            continue
        parts.append(text[last:match.start()])
        parts.append(_NOT_NEWLINE.sub(" ", match.group()))
        last = match.end()
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)
