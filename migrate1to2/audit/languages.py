"""The languages the audit reads: one table, from file suffix to how a file is read. Pure.

Adding a language is one row here: its suffixes, its comment style, whether web
containers may be in it (JavaScript, TypeScript, markup), whether values may be written
unquoted (shell scripts), and the name of its grammar for the optional parser
(:mod:`.syntax`; ``None`` where no grammar is bundled: the detectors then read the text
with regular expressions only).
"""

from __future__ import annotations

from typing import NamedTuple

from .comments import CommentStyle

__all__ = ["CONFIG", "LANGUAGES", "TEXT", "Language"]


class Language(NamedTuple):
    """How a source file is read: its comment style, whether web containers may be in it, whether values
    may be written unquoted (configuration, text of an unknown kind), its name and its parser grammar."""

    style: CommentStyle
    web: bool = False
    unquoted: bool = False
    name: str = "text"
    grammar: str | None = None


def _rows(*rows: tuple[tuple[str, ...], Language]) -> dict[str, Language]:
    table: dict[str, Language] = {}
    for suffixes, language in rows:
        table.update(dict.fromkeys(suffixes, language))
    return table


_C, _HASH = CommentStyle.C, CommentStyle.HASH
#: Source files by suffix.
LANGUAGES: dict[str, Language] = _rows(
    ((".js", ".mjs", ".cjs", ".jsx"), Language(_C, web=True, name="javascript", grammar="javascript")),
    ((".ts", ".mts", ".cts"), Language(_C, web=True, name="typescript", grammar="typescript")),
    ((".tsx",), Language(_C, web=True, name="tsx", grammar="tsx")),
    # Markup and server-side page templates (Shopify Liquid, Twig, EJS, Handlebars): only `<script>` is read.
    ((".html", ".htm", ".vue", ".svelte", ".liquid", ".twig", ".ejs", ".hbs"),
     Language(CommentStyle.NONE, web=True, name="html", grammar="javascript")),
    ((".java",), Language(_C, name="java", grammar="java")),
    ((".kt", ".kts"), Language(_C, name="kotlin", grammar="kotlin")),
    ((".groovy",), Language(_C, name="groovy")),
    ((".swift",), Language(_C, name="swift", grammar="swift")),
    ((".m", ".mm", ".h"), Language(_C, name="objc")),
    ((".go",), Language(_C, name="go", grammar="go")),
    ((".cs",), Language(_C, name="csharp", grammar="csharp")),
    ((".dart",), Language(_C, name="dart")),
    ((".php",), Language(CommentStyle.PHP, name="php", grammar="php")),
    ((".py",), Language(_HASH, name="python", grammar="python")),
    ((".rb",), Language(_HASH, name="ruby", grammar="ruby")),
    ((".sh", ".bash", ".zsh"), Language(CommentStyle.SHELL, unquoted=True, name="shell")),
)
#: Configuration files by suffix (source keys only): their comment style.
CONFIG: dict[str, CommentStyle] = {
    **dict.fromkeys((".yml", ".yaml", ".toml", ".ini", ".cfg", ".conf", ".properties", ".env"), _HASH),
    **dict.fromkeys((".json", ".xml", ".plist"), CommentStyle.NONE),
}
#: A named file of no known kind, read as text.
TEXT = Language(CommentStyle.NONE, unquoted=True)
