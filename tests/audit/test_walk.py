"""Walking folders: what is skipped, how paths are shown, and errors that name the file."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from migrate1to2.audit import AuditUsageError, audit_paths
from migrate1to2.audit.classify import may_audit, plan
from tests.audit.helpers import as_tuples

V1_CALL = ('import requests\nbody = {"event_name": "x", "properties": {}}\n'
           'requests.post("https://collect.commander1.com/events", json=body)\n')


def tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tree(tmp_path, {
        "src/app.py": V1_CALL,
        "node_modules/lib/index.js": V1_CALL.replace("import requests\n", ""),
        ".git/hooks/post.py": V1_CALL,
        "vendor/lib.py": V1_CALL,
        "build/generated.py": V1_CALL,
        "Pods/TCServerSide/Podfile": "pod 'TCServerSide', '5.0.0'\n",
        "env-3.11/pyvenv.cfg": "home = /usr\n",
        "env-3.11/lib/x.py": V1_CALL,
        "assets/logo.py": b"\x89PNG\0\0" + V1_CALL.encode(),
        "README.md": V1_CALL,
        "tests/test_app.py": V1_CALL,
    })
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_vendored_generated_and_binary_files_are_skipped(project: Path) -> None:
    report = audit_paths(["."])
    assert [(f.path, f.line) for f in report.findings] == [("src/app.py", 3), ("tests/test_app.py", 3)]
    assert report.files == 2


def test_include_vendored(project: Path) -> None:
    report = audit_paths(["."], include_vendored=True)
    assert sorted({f.path for f in report.findings}) == [
        ".git/hooks/post.py", "Pods/TCServerSide/Podfile", "build/generated.py", "env-3.11/lib/x.py",
        "node_modules/lib/index.js", "src/app.py", "tests/test_app.py", "vendor/lib.py",
    ]


@pytest.mark.parametrize(("exclude", "left"), [
    pytest.param(["tests"], ["src/app.py"], id="folder-name"),
    pytest.param(["tests/*"], ["src/app.py"], id="path-glob"),
    pytest.param(["*.py"], [], id="file-glob"),
    pytest.param(["src/app.py"], ["tests/test_app.py"], id="one-file"),
])
def test_exclude(project: Path, exclude: list[str], left: list[str]) -> None:
    assert [f.path for f in audit_paths(["."], exclude=exclude).findings] == left


@pytest.mark.parametrize(("argument", "exclude", "left"), [
    pytest.param("src", ["sub/*"], ["src/app.py"], id="path-below-the-folder-given"),
    pytest.param("src", ["src/sub/*"], ["src/app.py", "src/sub/v1.py"], id="the-folder-given-is-not-in-the-path"),
    pytest.param("src", ["src"], ["src/app.py", "src/sub/v1.py"], id="the-folder-given-is-not-a-folder-on-the-way"),
    pytest.param(".", ["/sub"], ["src/app.py", "src/sub/v1.py", "tests/test_app.py"], id="leading-slash-anchors"),
    pytest.param(".", ["sub/"], ["src/app.py", "tests/test_app.py"], id="trailing-slash-folders-only"),
    pytest.param(".", ["app.py/"], ["src/app.py", "src/sub/v1.py", "tests/test_app.py"], id="not-a-file"),
])
def test_exclude_is_matched_below_the_folder_given(project: Path, argument: str, exclude: list[str],
                                                   left: list[str]) -> None:
    """The glob rule of convert (storage.tree): a pattern with '/' matches the path below the folder walked,
    one without the name of the file or of a folder below it (both used to see the path as shown)."""
    (project / "src" / "sub").mkdir()
    (project / "src" / "sub" / "v1.py").write_text(V1_CALL)
    assert [f.path for f in audit_paths([argument], exclude=exclude).findings] == left


@pytest.mark.parametrize(("argument", "shown"), [
    pytest.param(".", "src/app.py", id="dot"),
    pytest.param("./", "src/app.py", id="dot-slash"),
    pytest.param("src", "src/app.py", id="folder"),
    pytest.param("./src/", "src/app.py", id="dot-folder-slash"),
    pytest.param("src/app.py", "src/app.py", id="file"),
    pytest.param("./src/app.py", "src/app.py", id="dot-file"),
])
def test_paths_are_shown_as_given_with_forward_slashes(project: Path, argument: str, shown: str) -> None:
    assert audit_paths([argument], exclude=["tests"]).findings[0].path == shown


def test_paths_below_a_parent_folder_keep_the_argument(project: Path) -> None:
    os.chdir(project / "src")
    assert [f.path for f in audit_paths(["../tests"]).findings] == ["../tests/test_app.py"]


def test_one_path_as_a_string(project: Path) -> None:
    assert [f.path for f in audit_paths("src").findings] == ["src/app.py"]


def test_an_explicit_path_is_audited_even_when_vendored(project: Path) -> None:
    assert [f.path for f in audit_paths(["vendor"]).findings] == ["vendor/lib.py"]


EVENTS_V1 = b'{"event_name":"a","properties":{}}\n{"event_name":"b","context":{}}\n'


def _tarball() -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        info = tarfile.TarInfo("events.ndjson")
        info.size = len(EVENTS_V1)
        archive.addfile(info, io.BytesIO(EVENTS_V1))
    return data.getvalue()


@pytest.mark.parametrize(("name", "content", "expected"), [
    pytest.param("events.log", EVENTS_V1, [("payload-1.0", 1, None, "1.0")], id="ndjson-named-log"),
    pytest.param("events.log.gz", gzip.compress(EVENTS_V1), [("payload-1.0", 1, None, "1.0")], id="gzip-named-log"),
    pytest.param("events", gzip.compress(EVENTS_V1), [("payload-1.0", 1, None, "1.0")], id="gzip-without-a-name"),
    pytest.param("README.md", V1_CALL.encode(), [("call-site-1.0", 3, 24, "1.0")], id="documentation-as-text"),
    pytest.param("replay.txt.gz", gzip.compress(V1_CALL.encode()), [("call-site-1.0", 3, 24, "1.0")],
                 id="compressed-text"),
])
def test_an_explicit_file_is_always_audited(tmp_path: Path, name: str, content: bytes,
                                           expected: list[tuple[str, int, int | None, str | None]]) -> None:
    (tmp_path / name).write_bytes(content)
    report = audit_paths([str(tmp_path / name)], limit=0)
    assert (as_tuples(report), report.notes, report.files) == (expected, [], 1)


@pytest.mark.parametrize(("name", "content", "note"), [
    pytest.param("assets/logo.py", None, "skipped assets/logo.py: a binary file", id="binary"),
    pytest.param("sources.tar.gz", _tarball(), "skipped sources.tar.gz: gzip-compressed, but it holds neither JSON "
                                               "records nor text", id="tarball-is-not-called-binary"),
])
def test_an_explicit_file_that_cannot_be_audited_gets_a_note(project: Path, name: str, content: bytes | None,
                                                            note: str) -> None:
    if content is not None:
        (project / name).write_bytes(content)
    report = audit_paths([name])
    assert (report.findings, report.notes, report.files) == ([], [note], 0)


def test_a_dangling_link_to_a_file_never_audited_is_not_read(project: Path) -> None:
    (project / "src" / "logo.png").symlink_to(project / "missing.png")
    (project / "src" / "NOTES.md").symlink_to(project / "missing.md")
    report = audit_paths(["src"])
    assert (report.errors, [f.path for f in report.findings]) == ([], ["src/app.py"])


def test_a_pipe_is_never_read(project: Path) -> None:
    os.mkfifo(project / "src" / "events.ndjson")
    report = audit_paths(["src/events.ndjson", "src"])
    assert report.notes == ["skipped src/events.ndjson: not a regular file"]
    assert [f.path for f in report.findings] == ["src/app.py"]


def test_a_missing_path_is_a_usage_error_before_anything_is_read(project: Path) -> None:
    with pytest.raises(AuditUsageError, match=r"^nowhere: no such file or directory$"):
        audit_paths(["src", "nowhere"])


def test_an_unreadable_file_is_an_error_naming_it_and_the_rest_is_audited(project: Path) -> None:
    (project / "src" / "loop.py").symlink_to("loop.py")
    report = audit_paths(["src"])
    assert report.errors == ["cannot read src/loop.py: too many levels of symbolic links"]
    assert [f.path for f in report.findings] == ["src/app.py"]


def test_a_dangling_link_in_a_folder_is_a_note_and_named_an_error(project: Path) -> None:
    """As in convert: inside a tree a link to nothing is skipped with a note; named, it cannot be read."""
    (project / "src" / "gone.py").symlink_to(project / "missing.py")
    report = audit_paths(["src"])
    assert (report.errors, report.notes) == ([], ["skipped src/gone.py: a link to something that does not exist"])
    assert [f.path for f in report.findings] == ["src/app.py"]
    named = audit_paths(["src/gone.py"])
    assert named.errors == ["cannot read src/gone.py: no such file or directory"]


@pytest.mark.parametrize(("name", "head", "kind"), [
    pytest.param("events.ndjson", b"{}", "records", id="ndjson"),
    pytest.param("events.jsonl", b"{}", "records", id="jsonl"),
    pytest.param("capture.har", b"{}", "har", id="har"),
    pytest.param("anything.json", b"{}", "json", id="json-is-sniffed"),
    pytest.param("events.ndjson.zst", b"\x28\xb5\x2f\xfd", "records", id="zstd"),
    pytest.param("capture.har.xz", b"\xfd7zXZ\x00", "har", id="xz-har"),
    pytest.param("backup.tar.gz", b"\x1f\x8b", None, id="tarball"),
    pytest.param("app.py", b"import os", "source", id="python"),
    pytest.param("app.py", b"import os\0", None, id="binary"),
    pytest.param("Podfile", b"pod", "sdk", id="podfile"),
    pytest.param("libs.versions.toml", b"[versions]", "sdk", id="catalog"),
    pytest.param("notes.md", b"# notes", None, id="markdown"),
    pytest.param(".env", b"A=1", "config", id="dotenv"),
    pytest.param("events.log.gz", b"\x1f\x8b", None, id="gzip-of-another-kind-in-a-folder"),
])
def test_classification(name: str, head: bytes, kind: str | None) -> None:
    how = plan(name, head)
    if how is None:
        assert kind is None
        return
    got = how.payload or ("sdk" if how.sdk else "source" if how.language else "config" if how.config else None)
    assert got == kind


@pytest.mark.parametrize(("name", "audited"), [
    pytest.param("logo.png", False, id="image"),
    pytest.param("NOTES.md", False, id="markdown"),
    pytest.param("backup.tar.gz", False, id="tarball"),
    pytest.param("app.py", True, id="python"),
    pytest.param("events.ndjson.gz", True, id="compressed-ndjson"),
    pytest.param("events-2023-11-14", True, id="no-extension-may-be-compressed"),
    pytest.param(".env.production", True, id="dotenv"),
])
def test_may_audit_is_decided_from_the_name(name: str, audited: bool) -> None:
    assert may_audit(name) is audited
