"""The one tree walker: the entries under a folder, in a stable order, with one glob rule.

``convert`` (:mod:`.plan`) and ``audit`` walk trees through :func:`walk`. The walker lists folders,
applies ``--include``/``--exclude`` and reports folders it cannot list; what to do with each entry it
finds (a link to nothing, a pipe, a link leading outside the tree) is the command's to decide, from
the facts in its :class:`Entry`.

The glob rule (:class:`Globs`), the same for both commands:

- a pattern with a ``/`` (not counting a trailing one) matches the path below the folder walked
  (``2023/02/*``, ``src/app.py``; a leading ``/`` or ``./`` is dropped: ``/tmp`` is the ``tmp`` at
  the top of the tree); one without matches the name of the file, or of any folder on the way
  (``tmp``, ``*.gz``);
- ``*``, ``?`` and ``[...]`` as in :func:`fnmatch.fnmatchcase`: ``*`` matches any characters,
  ``/`` included; case matters;
- a pattern ending in ``/`` matches folders only (``tmp/``);
- ``--exclude``: an entry that matches is left out, with nothing said about it; a folder that
  matches is not entered;
- ``--include``: only files that match, or that lie in a folder that matches, are found; the others
  are passed over silently. Folders are entered whatever ``--include`` says.

Paths named on the command line are not walked: globs never apply to them.

Order: in each folder, the entries that are not folders in name order, then each folder in name
order, depth first (the order of :func:`os.walk`).

Listing a folder is the one thing the walker asks of where the tree is stored (:class:`Lister`):
:class:`LocalLister` lists local folders (and knows links); another store lists its prefixes.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

from ..errors import os_reason

__all__ = ["Entry", "Found", "Globs", "Kind", "Lister", "LocalLister", "Unreadable", "walk"]


class Kind(Enum):
    """What an entry of a folder is."""

    FILE = "file"
    FOLDER = "folder"
    #: A symbolic link (local folders only): see :attr:`Entry.target`.
    LINK = "link"
    #: A pipe, a device, a socket: never read.
    OTHER = "other"


@dataclass(frozen=True)
class Entry:
    """One entry of a folder, as a :class:`Lister` lists it."""

    name: str
    kind: Kind
    #: A file's size in bytes (for a link, its target's), where the listing tells it.
    size: int | None = None
    #: Why the entry cannot be read (a link loop), as :func:`migrate1to2.errors.os_reason` says it.
    error: str | None = None
    #: A link's target: a file, a folder or other; ``None`` when there is nothing there (or ``error``).
    target: Kind | None = None
    #: A link's: whether its target is inside the tree walked.
    inside: bool = True

    @property
    def dangling(self) -> bool:
        """A link to nothing (not a link loop, which cannot be read)."""
        return self.kind is Kind.LINK and self.target is None and self.error is None


@dataclass(frozen=True)
class Found:
    """An entry under the tree (anything but a folder that is entered), where it is."""

    #: The path to open it by (the lister's: the root given, joined with the names below it).
    path: str
    #: Its path below the root, with ``/`` between names.
    relative: str
    entry: Entry


@dataclass(frozen=True)
class Unreadable:
    """A folder that cannot be listed: what it holds is not found."""

    path: str
    reason: str


class Lister(Protocol):
    """Where a tree is stored: its folders' entries, and the path of an entry of a folder."""

    def list(self, folder: str) -> Sequence[Entry]:
        """The entries of ``folder`` (a path :meth:`join` made, or the root), in any order.

        Raises :class:`OSError` when the folder cannot be listed.
        """
        ...

    def join(self, folder: str, name: str) -> str:
        """The path of the entry ``name`` of ``folder``."""
        ...


class LocalLister:
    """Local folders, read with :func:`os.scandir`; links are not followed, but their targets are looked at."""

    def __init__(self, root: str) -> None:
        self.real_root = Path(os.path.realpath(root))

    def join(self, folder: str, name: str) -> str:
        return os.path.join(folder, name)

    def list(self, folder: str) -> Sequence[Entry]:
        with os.scandir(folder) as listing:
            items = list(listing)
        entries = []
        for item in items:
            entry = self._entry(item)
            if entry is not None:
                entries.append(entry)
        return entries

    def _entry(self, item: os.DirEntry[str]) -> Entry | None:
        try:
            if item.is_symlink():
                return self._link(item)
            if item.is_dir(follow_symlinks=False):
                return Entry(item.name, Kind.FOLDER)
            facts = item.stat(follow_symlinks=False)
        except FileNotFoundError:  # gone since the folder was listed
            return None
        except OSError as error:
            return Entry(item.name, Kind.OTHER, error=os_reason(error))
        if stat.S_ISREG(facts.st_mode):
            return Entry(item.name, Kind.FILE, size=facts.st_size)
        return Entry(item.name, Kind.OTHER)

    def _link(self, item: os.DirEntry[str]) -> Entry:
        try:
            facts = os.stat(item.path)
        except FileNotFoundError:
            return Entry(item.name, Kind.LINK)
        except OSError as error:  # a link loop, a target below a file
            return Entry(item.name, Kind.LINK, error=os_reason(error))
        target = Path(os.path.realpath(item.path))
        inside = target == self.real_root or self.real_root in target.parents
        if stat.S_ISREG(facts.st_mode):
            return Entry(item.name, Kind.LINK, size=facts.st_size, target=Kind.FILE, inside=inside)
        return Entry(item.name, Kind.LINK, target=Kind.FOLDER if stat.S_ISDIR(facts.st_mode) else Kind.OTHER,
                     inside=inside)


@dataclass(frozen=True)
class _Glob:
    pattern: str
    #: Matched against the path below the root (the pattern has a ``/``), else against the name.
    anchored: bool
    folders_only: bool

    @classmethod
    def of(cls, written: str) -> _Glob:
        folders_only = written.endswith("/")
        pattern = written.rstrip("/")
        anchored = "/" in pattern or written.startswith("/")
        while pattern.startswith("./"):
            pattern = pattern[2:]
        return cls(pattern.lstrip("/"), anchored, folders_only)

    def matches(self, relative: str, name: str, folder: bool) -> bool:
        if self.folders_only and not folder:
            return False
        return fnmatch.fnmatchcase(relative if self.anchored else name, self.pattern)


@dataclass(frozen=True)
class Globs:
    """``--include`` and ``--exclude`` patterns (see the module's documentation for the rule)."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    _include: tuple[_Glob, ...] = field(init=False, repr=False, compare=False)
    _exclude: tuple[_Glob, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_include", tuple(map(_Glob.of, self.include)))
        object.__setattr__(self, "_exclude", tuple(map(_Glob.of, self.exclude)))

    def excludes(self, relative: str, *, folder: bool = False) -> bool:
        """Whether the entry at ``relative`` (below the root) is left out."""
        name = relative.rpartition("/")[2]
        return any(glob.matches(relative, name, folder) for glob in self._exclude)

    def includes(self, relative: str, *, folder: bool = False) -> bool:
        """Whether an include pattern matches the entry at ``relative`` itself (``True`` when there is none)."""
        name = relative.rpartition("/")[2]
        return not self._include or any(glob.matches(relative, name, folder) for glob in self._include)


#: Whether to leave out a folder whatever the globs say: ``(its path, its name)``.
Prune = Callable[[str, str], bool]


def walk(root: str, globs: Globs | None = None, *, lister: Lister | None = None,
         prune: Prune | None = None) -> Iterator[Found | Unreadable]:
    """Every entry under the folder ``root`` that the globs keep, folders entered rather than found.

    ``lister``: where the tree is (local folders by default); ``prune``: folders not to enter (the
    audit's vendored folders). A folder that cannot be listed is an :class:`Unreadable`, and the walk
    goes on with the rest.
    """
    lister = LocalLister(root) if lister is None else lister
    globs = Globs() if globs is None else globs
    stack: list[tuple[str, str, bool]] = [(root, "", not globs.include)]
    while stack:
        folder, relative, selected = stack.pop()
        try:
            entries = sorted(lister.list(folder), key=lambda entry: entry.name)
        except OSError as error:
            yield Unreadable(folder, os_reason(error))
            continue
        folders: list[tuple[str, str, bool]] = []
        for entry in entries:
            below = f"{relative}/{entry.name}" if relative else entry.name
            is_folder = entry.kind is Kind.FOLDER
            if globs.excludes(below, folder=is_folder):
                continue
            path = lister.join(folder, entry.name)
            if is_folder:
                if prune is None or not prune(path, entry.name):
                    folders.append((path, below, selected or globs.includes(below, folder=True)))
            elif selected or globs.includes(below):
                yield Found(path, below, entry)
        stack.extend(reversed(folders))
