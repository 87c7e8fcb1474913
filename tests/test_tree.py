"""The one tree walker (storage.tree): its order, the facts of each entry, the glob rule, and that convert
and audit find the same files through it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from migrate1to2.audit import audit_paths
from migrate1to2.storage.plan import make_plan
from migrate1to2.storage.tree import Entry, Found, Globs, Kind, LocalLister, Unreadable, walk

V1 = '{"event_name":"a","properties":{}}\n'


def make(root: Path, names: Sequence[str]) -> Path:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(V1)
    return root


def found(root: str, globs: Globs | None = None, **options: object) -> list[str]:
    return [item.relative if isinstance(item, Found) else f"unreadable {item.path}"
            for item in walk(root, globs, **options)]  # type: ignore[arg-type]


TREE = ["b.ndjson", "a.ndjson", "z/x.ndjson", "c/d/e.ndjson", "c/a.ndjson", "tmp/t.ndjson", "c/tmp/u.ndjson",
        "logs.d/x.ndjson", "c/sub.ndjson/y.ndjson"]


def test_order_is_names_then_folders_depth_first(tmp_path: Path) -> None:
    make(tmp_path, TREE)
    assert found(str(tmp_path)) == ["a.ndjson", "b.ndjson", "c/a.ndjson", "c/d/e.ndjson", "c/sub.ndjson/y.ndjson",
                                    "c/tmp/u.ndjson", "logs.d/x.ndjson", "tmp/t.ndjson", "z/x.ndjson"]
    assert found(str(tmp_path)) == [os.path.relpath(os.path.join(folder, name), tmp_path).replace(os.sep, "/")
                                    for folder, dirs, files in os.walk(tmp_path) if not dirs.sort()
                                    for name in sorted(files)]


@pytest.mark.parametrize(("include", "exclude", "expected"), [
    pytest.param([], ["tmp"], ["a.ndjson", "b.ndjson", "c/a.ndjson", "c/d/e.ndjson", "c/sub.ndjson/y.ndjson",
                               "logs.d/x.ndjson", "z/x.ndjson"], id="name-matches-any-folder-on-the-way"),
    pytest.param([], ["/tmp"], ["a.ndjson", "b.ndjson", "c/a.ndjson", "c/d/e.ndjson", "c/sub.ndjson/y.ndjson",
                                "c/tmp/u.ndjson", "logs.d/x.ndjson", "z/x.ndjson"], id="leading-slash-the-top-only"),
    pytest.param([], ["c/*"], ["a.ndjson", "b.ndjson", "logs.d/x.ndjson", "tmp/t.ndjson", "z/x.ndjson"],
                 id="path-glob"),
    pytest.param([], ["*.ndjson/"], ["a.ndjson", "b.ndjson", "c/a.ndjson", "c/d/e.ndjson", "c/tmp/u.ndjson",
                                     "logs.d/x.ndjson", "tmp/t.ndjson", "z/x.ndjson"], id="trailing-slash-folders-only"),
    pytest.param([], ["c/*/*.ndjson"], ["a.ndjson", "b.ndjson", "c/a.ndjson", "logs.d/x.ndjson", "tmp/t.ndjson",
                                        "z/x.ndjson"], id="star-matches-slashes-as-fnmatch"),
    pytest.param(["c"], [], ["c/a.ndjson", "c/d/e.ndjson", "c/sub.ndjson/y.ndjson", "c/tmp/u.ndjson"],
                 id="include-a-folder-takes-what-it-holds"),
    pytest.param(["c/d", "b.*"], [], ["b.ndjson", "c/d/e.ndjson"], id="include-path-and-name"),
    pytest.param(["c"], ["tmp"], ["c/a.ndjson", "c/d/e.ndjson", "c/sub.ndjson/y.ndjson"], id="exclude-wins"),
    pytest.param(["A.NDJSON"], [], [], id="case-matters"),
])
def test_glob_rule(tmp_path: Path, include: list[str], exclude: list[str], expected: list[str]) -> None:
    make(tmp_path, TREE)
    assert found(str(tmp_path), Globs(include, exclude)) == expected


@pytest.mark.parametrize("exclude", [["tmp"], ["tmp/"], ["c/*"], ["*.ndjson"], ["c/tmp"], ["/c"], ["c/d/e.ndjson"],
                                     ["sub.ndjson"], ["x.*"], []])
def test_convert_and_audit_find_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               exclude: list[str]) -> None:
    source = make(tmp_path / "src", TREE)
    monkeypatch.chdir(source)
    planned = [os.path.relpath(task.input, source) for task in make_plan(["."], str(tmp_path / "out"),
                                                                          exclude=exclude).tasks]
    audited = [stats.path for stats in audit_paths(["."], exclude=exclude).payloads]
    assert planned == audited == found(".", Globs(exclude=exclude))


def test_entries_say_what_they_are(tmp_path: Path) -> None:
    root = make(tmp_path / "root", ["a.ndjson", "sub/b.ndjson"])
    (tmp_path / "outside.ndjson").write_text(V1)
    (root / "inside").symlink_to(root / "a.ndjson")
    (root / "outside").symlink_to(tmp_path / "outside.ndjson")
    (root / "folder").symlink_to(root / "sub", target_is_directory=True)
    (root / "gone").symlink_to(root / "nothing")
    (root / "loop").symlink_to("loop")
    os.mkfifo(root / "pipe")
    entries = {entry.name: entry for entry in LocalLister(str(root)).list(str(root))}
    size = len(V1)
    assert entries == {
        "a.ndjson": Entry("a.ndjson", Kind.FILE, size=size),
        "sub": Entry("sub", Kind.FOLDER),
        "inside": Entry("inside", Kind.LINK, size=size, target=Kind.FILE, inside=True),
        "outside": Entry("outside", Kind.LINK, size=size, target=Kind.FILE, inside=False),
        "folder": Entry("folder", Kind.LINK, target=Kind.FOLDER, inside=True),
        "gone": Entry("gone", Kind.LINK),
        "loop": Entry("loop", Kind.LINK, error="too many levels of symbolic links"),
        "pipe": Entry("pipe", Kind.OTHER),
    }
    assert entries["gone"].dangling and not entries["loop"].dangling and not entries["inside"].dangling
    # A link to a folder is found, not entered.
    assert found(str(root)) == ["a.ndjson", "folder", "gone", "inside", "loop", "outside", "pipe", "sub/b.ndjson"]


class Store:
    """Another place a tree may be kept (as an object store lists prefixes): the walker needs only `list` and `join`."""

    def __init__(self, keys: dict[str, int], unreadable: Sequence[str] = ()) -> None:
        self.keys, self.unreadable = keys, set(unreadable)

    def join(self, folder: str, name: str) -> str:
        return f"{folder.rstrip('/')}/{name}"

    def list(self, folder: str) -> Sequence[Entry]:
        if folder in self.unreadable:
            raise PermissionError(13, "Permission denied", folder)
        prefix = folder.rstrip("/") + "/"
        entries: dict[str, Entry] = {}
        for key, size in self.keys.items():
            if key.startswith(prefix):
                name, below, _ = key[len(prefix):].partition("/")
                entries[name] = Entry(name, Kind.FOLDER) if below else Entry(name, Kind.FILE, size=size)
        return list(entries.values())


def test_another_lister_walks_the_same_way() -> None:
    store = Store({"bucket/p/b.ndjson": 3, "bucket/p/a/x.ndjson": 1, "bucket/p/tmp/y.ndjson": 2,
                   "bucket/p/locked/z.ndjson": 4, "bucket/p/c/d.ndjson": 5}, unreadable=["bucket/p/locked"])
    items = list(walk("bucket/p/", Globs(exclude=["tmp"]), lister=store))
    assert items == [
        Found("bucket/p/b.ndjson", "b.ndjson", Entry("b.ndjson", Kind.FILE, size=3)),
        Found("bucket/p/a/x.ndjson", "a/x.ndjson", Entry("x.ndjson", Kind.FILE, size=1)),
        Found("bucket/p/c/d.ndjson", "c/d.ndjson", Entry("d.ndjson", Kind.FILE, size=5)),
        Unreadable("bucket/p/locked", "permission denied"),
    ]


def test_an_unreadable_folder_is_reported_and_the_walk_goes_on(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, TREE)
    real_scandir = os.scandir
    locked = tmp_path / "c"

    def scandir(path: str) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert found(str(tmp_path)) == ["a.ndjson", "b.ndjson", f"unreadable {locked}", "logs.d/x.ndjson",
                                    "tmp/t.ndjson", "z/x.ndjson"]


def test_prune_leaves_folders_out(tmp_path: Path) -> None:
    make(tmp_path, TREE)
    assert found(str(tmp_path), prune=lambda path, name: name == "c" and os.path.isdir(path)) == [
        "a.ndjson", "b.ndjson", "logs.d/x.ndjson", "tmp/t.ndjson", "z/x.ndjson"]
