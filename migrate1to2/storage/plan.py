"""Planning a job: which input goes to which output. Reads directories, never file contents.

- Files (or ``-``) into one output (``-o FILE`` or stdout): each converted in turn, joined.
- Files or directory trees into a directory (``-o DIR``): a tree is mirrored (``SRC/a/x.ndjson``
  -> ``DIR/a/x.ndjson``), a file given by name lands in ``DIR`` under its own name.
- ``--in-place``: every file is replaced by its conversion.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import MigrateError
from .compression import Codec, codec_for_name
from .files import STDIO, TEMPORARY, printable
from .journal import JOURNAL, journal_path
from .tree import Globs, Kind, Unreadable, walk
from .urls import is_url

__all__ = ["Plan", "Skipped", "Task", "UsageError", "make_plan"]


class UsageError(MigrateError):
    """Arguments that do not fit together (exit code 2)."""


@dataclass(frozen=True)
class Task:
    """One input to convert, and where its output goes (``None``: the job's single output)."""

    input: str
    output: str | None
    #: Found by walking a tree: a file that is not a payload file is then skipped and reported.
    discovered: bool = False
    #: The output's compression when it is not told by its name (``None``: keep the input's).
    codec: Codec | None = None


@dataclass(frozen=True)
class Skipped:
    """A file found in a tree that is not converted, and why."""

    path: str
    reason: str


@dataclass
class Plan:
    tasks: list[Task] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    #: Entries of a tree that could not be read (a folder, a link loop): what they hold is not converted.
    failed: list[Skipped] = field(default_factory=list)
    #: The single output all tasks write to (``-`` for stdout), or ``None`` when each has its own.
    output: str | None = None


def _same_file(a: str, b: str) -> bool:
    if is_url(a) or is_url(b):
        return a == b
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _resolve(path: str | Path) -> Path:
    """``Path(path).resolve()``, also for a link loop (which Python 3.10-3.12 raise ``RuntimeError`` for)."""
    return Path(os.path.realpath(path))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _identity(path: str) -> str:
    """What tells two names of one file or object apart: the resolved path, or the URL itself."""
    return path if is_url(path) else str(_resolve(path))


def _is_dir(name: str, doing: str = "read") -> bool:
    """A directory, or for a URL a prefix of objects (a bucket, a name ending with ``/``, a folder holding objects)."""
    if is_url(name):
        from .objects import is_prefix

        return is_prefix(name, doing)
    return Path(name).is_dir()


def _walk_objects(source: str, globs: Globs, plan: Plan) -> Iterator[tuple[str, PurePosixPath]]:
    """The objects under the prefix ``source`` (the same walker and glob rule as folders), with their path
    relative to it; a prefix that cannot be listed goes to ``plan.failed``."""
    from .objects import ObjectLister

    lister = ObjectLister()
    for found in walk(source, globs, lister=lister):
        if isinstance(found, Unreadable):
            reason = lister.reasons.get(found.path, found.reason)
            plan.failed.append(Skipped(printable(found.path), f"cannot be read: {reason}"))
        elif found.entry.kind is Kind.FILE:
            yield found.path, PurePosixPath(found.relative)


def _join(destination: str, relative: PurePosixPath) -> str:
    if is_url(destination):
        return destination.rstrip("/") + "/" + relative.as_posix()
    return str(Path(destination) / relative)


def _is_backup(path: Path, backup: str | None) -> bool:
    """Whether ``path`` is a backup kept by ``--backup SUFFIX``: named NAME plus the suffix, beside NAME."""
    name = path.name
    if not backup or not name.endswith(backup) or len(name) == len(backup):
        return False
    return os.path.lexists(path.with_name(name[: -len(backup)]))


def _backup_note(backup: str | None) -> str:
    return f"a backup kept by --backup {backup} (backups are never converted)"


def _walk(source: Path, globs: Globs, plan: Plan, backup: str | None = None) -> Iterator[tuple[Path, PurePosixPath]]:
    """Files under ``source`` (through :func:`.tree.walk`, with its glob rule), with their path relative to it.

    Links to directories are not followed; links to files are followed only when the file is
    inside ``source``. Both cases are reported in ``plan.skipped`` otherwise, as are dangling links, this
    program's own temporary files and the backups named with ``backup``. What cannot be read (a folder,
    a link loop) goes to ``plan.failed``.
    """
    skipped, failed = plan.skipped, plan.failed
    for found in walk(str(source), globs):
        if isinstance(found, Unreadable):
            failed.append(Skipped(found.path, f"cannot be read: {found.reason}"))
            continue
        path, entry = Path(found.path), found.entry
        if entry.kind is Kind.LINK and entry.target is Kind.FOLDER:
            skipped.append(Skipped(str(path), "a link to a directory is not followed"))
            continue
        if TEMPORARY.fullmatch(entry.name):
            skipped.append(Skipped(str(path), "a temporary file left by an interrupted run (safe to delete)"))
            continue
        if JOURNAL.fullmatch(entry.name):
            skipped.append(Skipped(str(path), "the rejects journal of an interrupted run (resume it to "
                                              "finish its rejects file)"))
            continue
        if _is_backup(path, backup):
            skipped.append(Skipped(str(path), _backup_note(backup)))
            continue
        if entry.error is not None:  # a link loop
            failed.append(Skipped(str(path), f"cannot be read: {entry.error}"))
            continue
        if entry.kind is Kind.LINK:
            if entry.dangling:
                skipped.append(Skipped(str(path), "a link to something that does not exist"))
                continue
            if not entry.inside:
                skipped.append(Skipped(str(path), f"a link leading outside {source} is not followed"))
                continue
            if entry.target is not Kind.FILE:
                skipped.append(Skipped(str(path), "a link to something that is not a file"))
                continue
        elif entry.kind is not Kind.FILE:
            skipped.append(Skipped(str(path), "not a regular file"))
            continue
        yield path, PurePosixPath(found.relative)


def _contains(source: str, destination: str) -> bool:
    """Whether the output directory ``destination`` is inside the input tree ``source``."""
    if is_url(source) or is_url(destination):
        base = source.rstrip("/") + "/"
        return is_url(source) and is_url(destination) and (destination.rstrip("/") + "/").startswith(base)
    return _inside(_resolve(destination), _resolve(source))


def _renamed(relative: PurePosixPath, codec: Codec | None) -> PurePosixPath:
    """The output's relative path: the same, with the compression suffix swapped when ``codec`` says so."""
    if codec is None:
        return relative
    if codec_for_name(relative.name) is not Codec.NONE:
        relative = relative.with_suffix("")
    return relative.with_name(relative.name + codec.suffix)


def make_plan(inputs: Sequence[str], output: str, *, include: Sequence[str] = (), exclude: Sequence[str] = (),
              in_place: bool = False, compress: Codec | None = None,
              side_outputs: Sequence[tuple[str, str]] = (), backup: str | None = None) -> Plan:
    """Decide which input goes where. Raises :class:`UsageError` for combinations that cannot work.

    ``side_outputs``: the other files the job writes, as ``(option, path)`` (``--rejects``,
    ``--stats``): none may be an input or an output; found in a source tree, one is left out.
    ``backup``: the ``--backup`` suffix of an in-place run; files named so are backups, never inputs.
    """
    if list(inputs).count(STDIO) > 1:
        raise UsageError("stdin ('-') can be read only once")
    plan = _plan(inputs, output, Globs(tuple(include), tuple(exclude)), in_place=in_place, compress=compress,
                 backup=backup)
    seen: dict[str, str] = {}
    for option, path in side_outputs:
        real = _identity(path)
        if option == "--rejects" and not is_url(path):  # its journal, found in a tree, is this run's own: no news
            journal = str(journal_path(path))
            plan.skipped[:] = [skipped for skipped in plan.skipped
                               if is_url(skipped.path) or str(_resolve(skipped.path)) != journal]
        if real in seen:
            raise UsageError(f"{option} and {seen[real]} name the same file: give each its own")
        seen[real] = option
        for task in list(plan.tasks):
            if task.discovered and _identity(task.input) == real:
                plan.tasks.remove(task)
                plan.skipped.append(Skipped(task.input, f"this run's {option} file"))
                continue
            if task.input != STDIO and (_identity(task.input) == real or _same_file(task.input, path)):
                raise UsageError(f"{option} {path} is also an input: write it somewhere else")
            if task.output not in (None, STDIO) and _identity(str(task.output)) == real:
                raise UsageError(f"{option} {path} is also an output: write it somewhere else")
        if plan.output not in (None, STDIO) and _identity(str(plan.output)) == real:
            raise UsageError(f"{option} {path} is also the output: write it somewhere else")
    return plan


def _plan(inputs: Sequence[str], output: str, globs: Globs, *, in_place: bool, compress: Codec | None,
          backup: str | None) -> Plan:
    plan = Plan()
    urls = [name for name in inputs if is_url(name)]
    if in_place and urls:
        raise UsageError(f"--in-place cannot replace {printable(urls[0])}: an object in a store cannot be "
                         "renamed over or backed up in one step, so a failure could lose it; convert into "
                         "another prefix with -o DEST/ instead (then swap the prefixes)")
    directories = [name for name in inputs if name != STDIO and _is_dir(name)]
    if in_place:
        if output != STDIO:
            raise UsageError("--in-place replaces each input: it cannot be used with -o")
        if STDIO in inputs:
            raise UsageError("--in-place needs files, not stdin")
        for name in inputs:
            if name in directories:
                plan.tasks.extend(Task(str(path), str(path), True, compress)
                                  for path, _ in _walk(Path(name), globs, plan, backup))
            elif _is_backup(Path(name), backup):  # e.g. a shell glob: backups are never converted
                plan.skipped.append(Skipped(name, _backup_note(backup)))
            else:
                plan.tasks.append(Task(name, name, False, compress))
        return plan
    to_directory = bool(directories) or (output != STDIO and (
        (output.endswith("/") or _is_dir(output, "write")) if is_url(output) else (Path(output).is_dir()
                                                                          or output.endswith(os.sep))))
    if not to_directory:
        plan.output = output
        for name in inputs:
            if STDIO not in (name, output) and _same_file(name, output):
                raise UsageError(f"the output {output} is also an input: write the result to another file "
                                 "(or use --in-place)")
            plan.tasks.append(Task(name, None))
        return plan
    if output == STDIO:
        raise UsageError(f"{directories[0]} is a directory: give -o DEST_DIR (the tree is mirrored there) "
                         "or --in-place")
    if not is_url(output) and Path(output).exists() and not Path(output).is_dir():
        raise UsageError(f"{output} is a file: a directory input needs -o DEST_DIR")
    claimed: dict[str, str] = {}
    for name in inputs:
        if name == STDIO:
            raise UsageError("stdin cannot go into an output directory: give -o FILE")
        pairs: list[tuple[str | Path, PurePosixPath]]
        if name in directories:
            if _contains(name, output):
                raise UsageError(f"the output directory {printable(output)} is inside the input {printable(name)}: "
                                 "choose a destination outside it")
            if is_url(name):
                pairs = [(url, _renamed(relative, compress)) for url, relative in _walk_objects(name, globs, plan)]
            else:
                pairs = [(path, _renamed(relative, compress)) for path, relative in _walk(Path(name), globs, plan)]
            discovered = True
        else:
            pairs = [(name if is_url(name) else Path(name), _renamed(PurePosixPath(Path(name).name), compress))]
            discovered = False
        for path, relative in pairs:
            target = _join(output, relative)
            if _same_file(str(path), str(target)):
                raise UsageError(f"{path} would be written over itself: use --in-place, or another -o directory")
            if target in claimed:
                raise UsageError(f"{printable(str(path))} and {printable(claimed[target])} would both be written to "
                                 f"{printable(target)}")
            claimed[target] = str(path)
            plan.tasks.append(Task(str(path), str(target), discovered, compress))
    return plan
