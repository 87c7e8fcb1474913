"""The source-code detectors, registered by the rule ids they report. Pure.

A detector is a small function from a :class:`SourceFile` to findings, registered
with :func:`detector` under the ids of the rules (:data:`.rules.RULES`) it may
report and the languages it reads (:mod:`.languages`). :func:`scan` runs, in
registration order, every detector that applies to a file. Adding a rule is a
``Rule`` row in :mod:`.rules` plus one registered function; adding a language is one
row in :mod:`.languages`.

The detectors live in :mod:`.webcontainer` (``tC.trigger`` definitions),
:mod:`.source` (collect call sites) and :mod:`.keys` (source keys); importing this
module registers them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .comments import blank_comments
from .languages import Language
from .model import Finding
from .rules import RULES

__all__ = ["DETECTORS", "Detector", "SourceFile", "detector", "scan"]


@dataclass
class SourceFile:
    """One file as the detectors read it: the text, the text with comments blanked (same offsets), how it
    is read, and a cache detectors share (the parse tree, the spans of web containers)."""

    text: str
    language: Language
    #: A configuration file: values may be written unquoted.
    config: bool = False
    blanked: str = ""
    shared: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.blanked:
            self.blanked = blank_comments(self.text, self.language.style)

    @property
    def unquoted(self) -> bool:
        """Whether values may be written without quotes (configuration files, shell scripts, plain text)."""
        return self.config or self.language.unquoted


Detect = Callable[[SourceFile], list[Finding]]


@dataclass(frozen=True)
class Detector:
    """A registered detector: its name, the rules it reports, and which files it reads."""

    name: str
    rules: tuple[str, ...]
    run: Detect
    #: Whether it reads a file of this language; configuration files are read by ``keys`` detectors only.
    applies: Callable[[Language], bool]
    keys: bool = False


#: Every detector, in the order they run.
DETECTORS: list[Detector] = []


def _everywhere(language: Language) -> bool:
    return True


def detector(name: str, *rules: str, applies: Callable[[Language], bool] = _everywhere,
             keys: bool = False) -> Callable[[Detect], Detect]:
    """Register the decorated function as the detector ``name`` reporting ``rules`` (ids of :data:`RULES`).

    ``keys``: it finds source keys, so it also reads configuration files.
    """
    unknown = [rule for rule in rules if rule not in RULES]
    if unknown or not rules:
        raise ValueError(f"detector {name!r}: unknown rule ids {unknown}")

    def register(run: Detect) -> Detect:
        DETECTORS.append(Detector(name, rules, run, applies, keys))
        return run

    return register


def scan(source: SourceFile, *, keys_only: bool = False) -> list[Finding]:
    """Every finding of every detector that applies to ``source`` (``keys_only``: the source-key detectors)."""
    _load()
    findings: list[Finding] = []
    for item in DETECTORS:
        if (item.keys or not keys_only) and item.applies(source.language):
            findings.extend(item.run(source))
    return findings


def _load() -> None:
    """Import the modules that register detectors (once; they import this module)."""
    from . import keys, source, webcontainer  # noqa: F401
