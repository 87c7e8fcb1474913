"""The optional parser: tree-sitter grammars through ``ast-grep-py`` (the ``audit`` extra). Pure.

Detectors ask :func:`parse` for a syntax tree and fall back to their regular-expression
reading when it returns ``None``: when ``ast-grep-py`` is not installed, when the
language has no bundled grammar (Objective-C, Dart, shell), or when the parser is
turned off (:func:`use_parser`, or ``MIGRATE1TO2_AUDIT_PARSER=regex`` in the
environment, read by the command line). Offsets in the tree are character offsets
into the text given.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["available", "enabled", "parse", "use_parser"]

_state = {"enabled": True}
_module: list[Any] = []


def _load() -> Any:
    if not _module:
        try:
            _module.append(importlib.import_module("ast_grep_py"))
        except ImportError:
            _module.append(None)
    return _module[0]


def available() -> bool:
    """Whether the parser is installed (``pip install 'migrate1to2[audit]'``)."""
    return _load() is not None


def enabled() -> bool:
    """Whether detectors use the parser: installed and not turned off."""
    return _state["enabled"] and available()


def use_parser(on: bool) -> bool:
    """Turn the parser on or off (off: every detector reads the text with regular expressions); returns the
    previous setting."""
    previous = _state["enabled"]
    _state["enabled"] = on
    return previous


def parse(text: str, grammar: str | None) -> Any | None:
    """The root node of ``text`` parsed with ``grammar`` (an ast-grep language name), or ``None`` when the
    parser is off, missing, or has no such grammar."""
    if grammar is None or not enabled():
        return None
    module = _load()
    try:
        return module.SgRoot(text, grammar).root()
    except BaseException:  # an unknown grammar (ast-grep raises a Rust panic for some): read as text
        return None
