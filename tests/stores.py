"""The command line against the Azure and GCS emulators (see ``tests/emulators.py``): what the two stores
share. Each store's test module (``test_objects_azure``, ``test_objects_gcs``) starts one emulator for
the module as its ``store`` fixture and imports the ``check_*`` tests below as its own, so every check
runs against each store; each container or bucket is the test's own.

The results are compared byte for byte with the same job on local files; the store is looked at with
its own SDK (azure-storage-blob, google-cloud-storage's HTTP API through gcsfs), not through the code
under test.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import zstandard

from migrate1to2 import upgrade_json
from tests.conftest import FIXTURES

CLI = [sys.executable, "-m", "migrate1to2"]
RECORDS = (FIXTURES / "archive" / "events-2023.v1.ndjson").read_bytes()
LINES = RECORDS.splitlines(keepends=True)
BAD = b'{"event_name":"x","properties":{"event_name":"y"}}\n'
#: Larger than a block of an upload (8 MiB).
BIG = RECORDS * (10 * (1 << 20) // len(RECORDS))


def converted(data: bytes) -> bytes:
    return b"".join(upgrade_json(line) + b"\n" for line in data.splitlines() if line.strip())


class Store:
    """One emulator as the tests use it: its URL scheme, the CLI's environment, and the store's own view."""

    scheme = ""
    env: dict[str, str]
    options: tuple[str, ...] = ()  # --storage-option arguments the CLI needs for this store
    no_container = ""  # what the CLI says when writing into a container (bucket) that does not exist

    def container(self) -> str:
        raise NotImplementedError

    def put(self, container: str, key: str, data: bytes) -> None:
        raise NotImplementedError

    def get(self, container: str, key: str) -> bytes:
        raise NotImplementedError

    def keys(self, container: str) -> list[str]:
        raise NotImplementedError

    def url(self, container: str, key: str = "") -> str:
        return f"{self.scheme}://{container}/{key}"

    def run(self, *argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*CLI, *map(str, argv), *self.options_for(argv)], env=self.env, capture_output=True,
                              timeout=120, check=False, cwd=cwd)

    def options_for(self, argv: tuple[str | Path, ...]) -> list[str]:
        return list(self.options) if any(str(arg).startswith(f"{self.scheme}://") for arg in argv) else []

    def start(self, argv: list[str], pause: str) -> subprocess.Popen[bytes]:
        """Start the CLI and wait until it stops itself at the point ``pause`` (``storage.files.pause_point``)."""
        process = subprocess.Popen([*CLI, *argv, *self.options_for(tuple(argv))],
                                   env={**self.env, "MIGRATE1TO2_TEST_PAUSE": pause}, stderr=subprocess.PIPE)
        _, status = os.waitpid(process.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), f"{argv} ended before {pause}: {process.stderr.read().decode()}"  # type: ignore[union-attr]
        return process

    def upload_tree(self, container: str, prefix: str, files: dict[str, bytes]) -> None:
        for name, data in files.items():
            self.put(container, prefix + name, data)

    def tree(self, container: str, prefix: str) -> dict[str, bytes]:
        return {key[len(prefix):]: self.get(container, key) for key in self.keys(container) if key.startswith(prefix)}


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, err = process.communicate(timeout=120)
    return process.returncode, err.decode()


def mixed_tree(root: Path) -> dict[str, bytes]:
    """A tree as archives hold them: plain, gzip and zstd NDJSON by month, a reject, files that are no payload."""
    files = {
        "2023/01/part-00.ndjson": b"".join(LINES[:100]),
        "2023/01/part-01.ndjson.gz": gzip.compress(b"".join(LINES[100:200])),
        "2023/02/part-00.ndjson.zst": zstandard.ZstdCompressor().compress(b"".join(LINES[200:]) + BAD),
        "2023/02/_SUCCESS": b"",
        "README.txt": b"exported by the nightly job\n",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def local_tree(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def local_conversion(tmp_path: Path, source: Path, *argv: str) -> Path:
    """The same job on local files: what the store's results must equal byte for byte."""
    out = tmp_path / "local-out"
    done = subprocess.run([*CLI, "convert", str(source), "-o", f"{out}/", "-q", *argv], capture_output=True,
                          check=False)
    assert done.returncode in (0, 1), done.stderr
    return out


def without_times(stats: dict[str, Any], *replace: tuple[str, str]) -> dict[str, Any]:
    text = json.dumps(stats)
    for old, new in replace:
        text = text.replace(old, new)
    result = json.loads(text)
    for entry in [*result["files"], result["total"]]:
        entry["seconds"] = 0
    return result


# --- the checks every store runs (imported by each store's module) ---------------------------------

def check_one_object_both_ways(store: Store, tmp_path: Path) -> None:
    container = store.container()
    store.put(container, "raw/events.ndjson.gz", gzip.compress(RECORDS))
    done = store.run("convert", store.url(container, "raw/events.ndjson.gz"), "-o",
                     store.url(container, "v2/events.ndjson"))
    assert done.returncode == 0, done.stderr
    assert store.get(container, "v2/events.ndjson") == converted(RECORDS)
    stdout = store.run("convert", store.url(container, "raw/events.ndjson.gz"))
    assert (stdout.returncode, stdout.stdout) == (0, converted(RECORDS))
    local = tmp_path / "v1.ndjson"
    back = store.run("downgrade", store.url(container, "v2/events.ndjson"), "-o", local)
    assert back.returncode == 0, back.stderr
    expected = subprocess.run([*CLI, "downgrade", "-"], input=converted(RECORDS), capture_output=True, check=True)
    assert local.read_bytes() == expected.stdout


def check_tree_local_to_store_to_local_equals_local_conversion(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "raw"
    mixed_tree(source)
    expected = local_conversion(tmp_path, source, "--rejects", str(tmp_path / "rejects.ndjson"), "--stats",
                                str(tmp_path / "stats.json"))
    container = store.container()
    up = store.run("convert", source, "-o", store.url(container, "v2/"), "--rejects",
                   store.url(container, "rejects.ndjson"), "--stats", store.url(container, "stats.json"))
    assert up.returncode == 1, up.stderr
    assert store.tree(container, "v2/") == local_tree(expected)
    assert store.get(container, "rejects.ndjson") == (tmp_path / "rejects.ndjson").read_bytes()
    remote = without_times(json.loads(store.get(container, "stats.json")), (store.url(container, "v2/"), "OUT/"))
    local = without_times(json.loads((tmp_path / "stats.json").read_text()), (f"{expected}/", "OUT/"))
    assert remote == local
    down = store.run("convert", store.url(container, "v2/"), "-o", tmp_path / "copy", "-q")
    assert down.returncode == 0, down.stderr
    assert local_tree(tmp_path / "copy") == local_tree(expected)  # already 2.0: passed through unchanged


def check_tree_store_to_store_with_globs_and_jobs(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "raw"
    files = mixed_tree(source)
    options = ["--include", "2023/*", "--exclude", "part-01*", "--rejects"]
    expected = local_conversion(tmp_path, source, "-j", "2", *options, str(tmp_path / "rejects.ndjson"))
    container, other = store.container(), store.container()
    store.upload_tree(container, "raw/", files)
    done = store.run("convert", store.url(container, "raw/"), "-o", store.url(other, "v2/"), "-j", "2", *options,
                     store.url(other, "rejects.ndjson"))
    assert done.returncode == 1, done.stderr
    assert store.tree(other, "v2/") == local_tree(expected)
    assert store.get(other, "rejects.ndjson") == (tmp_path / "rejects.ndjson").read_bytes().replace(
        str(source).encode(), store.url(container, "raw").encode())
    assert "1 rejected" in done.stderr.decode() and "2 files" in done.stderr.decode()


def check_audit_of_a_prefix_reads_as_local_files(store: Store, tmp_path: Path) -> None:
    container = store.container()
    tree = {"raw/2023/a.ndjson": RECORDS, "raw/2023/b.ndjson.gz": gzip.compress(converted(RECORDS)),
            "raw/2024/c.ndjson": LINES[0] + BAD, "raw/notes.txt": b"nothing here\n"}
    for key, data in tree.items():
        store.put(container, key, data)
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(data)

    def audit(*argv: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
        done = store.run("audit", *argv, "-f", "json", cwd=cwd)
        assert done.returncode in (0, 1), done.stderr
        report = json.loads(done.stdout.replace(store.url(container).encode(), b""))
        for item in report["findings"]:
            del item["fingerprint"]  # made from the path too
        return done.returncode, report

    remote, expected = audit(store.url(container, "raw/")), audit("raw/", cwd=tmp_path)
    assert remote == expected
    assert remote[0] == 1 and len(remote[1]["payloads"]) == 3


def _big_tree(store: Store, tmp_path: Path) -> tuple[str, Path]:
    container = store.container()
    source = tmp_path / "raw"
    source.mkdir()
    (source / "a.ndjson").write_bytes(b"".join(LINES[:10]) + BAD)
    (source / "big.ndjson").write_bytes(BIG + BAD)
    store.upload_tree(container, "raw/", local_tree(source))
    return container, source


def _resumed_run_equals_local(store: Store, tmp_path: Path, container: str, source: Path, argv: list[str]) -> None:
    """After an interrupted run: no partial object; ``--skip-existing`` finishes with the outputs and the
    rejects of a clean local run (every record counted once)."""
    expected = local_conversion(tmp_path, source, "--rejects", str(tmp_path / "rejects.ndjson"))
    assert [key for key in store.keys(container) if not key.startswith("raw/")] in ([], ["v2/a.ndjson"])
    done = store.run(*argv, "--skip-existing")
    assert done.returncode == 1, done.stderr
    assert store.tree(container, "v2/") == local_tree(expected)
    assert (tmp_path / "r.ndjson").read_bytes() == (tmp_path / "rejects.ndjson").read_bytes().replace(
        str(source).encode(), store.url(container, "raw").encode())


def check_kill_9_mid_upload_leaves_no_object(store: Store, tmp_path: Path) -> None:
    container, source = _big_tree(store, tmp_path)
    argv = ["convert", store.url(container, "raw/"), "-o", store.url(container, "v2/"), "-j", "1", "--rejects",
            str(tmp_path / "r.ndjson")]
    process = store.start(argv, "written#6")  # big.ndjson: some MiB handed to the upload, not all
    process.kill()
    process.wait()
    assert "v2/big.ndjson" not in store.keys(container)
    _resumed_run_equals_local(store, tmp_path, container, source, argv)


def check_kill_9_before_the_object_is_made(store: Store, tmp_path: Path) -> None:
    """Killed with every byte uploaded but the object not made yet (the moment a local file would be
    renamed): the object is not there, and the rejects of its input are counted by the resumed run."""
    container, source = _big_tree(store, tmp_path)
    argv = ["convert", store.url(container, "raw/"), "-o", store.url(container, "v2/"), "-j", "1", "--rejects",
            str(tmp_path / "r.ndjson")]
    process = store.start(argv, "rename#2")  # a.ndjson's output is made; big.ndjson's is up to its last byte
    process.kill()
    process.wait()
    assert "v2/big.ndjson" not in store.keys(container)
    _resumed_run_equals_local(store, tmp_path, container, source, argv)


def check_sigterm_mid_upload_leaves_no_object(store: Store, tmp_path: Path) -> None:
    container, _ = _big_tree(store, tmp_path)
    argv = ["convert", store.url(container, "raw/"), "-o", store.url(container, "v2/"), "-j", "1", "--rejects",
            store.url(container, "rejects.ndjson")]
    process = store.start(argv, "written#6")
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGCONT)
    code, err = finish(process)
    assert code == 143, err
    assert "Traceback" not in err
    assert [key for key in store.keys(container) if not key.startswith("raw/")] == ["rejects.ndjson", "v2/a.ndjson"]
    [reject] = map(json.loads, store.get(container, "rejects.ndjson").splitlines())
    assert (reject["source"], reject["line"]) == (store.url(container, "raw/a.ndjson"), 11)


def check_missing_container_is_exit_2_naming_it(store: Store, tmp_path: Path) -> None:
    container = store.container()
    store.put(container, "raw/a.ndjson", RECORDS)
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    read = store.run("convert", store.url(missing, "raw/a.ndjson"), "-o", tmp_path / "out.ndjson")
    err = read.stderr.decode()
    assert read.returncode == 2, err
    assert err == f"migrate1to2: error: cannot read {store.url(missing, 'raw/a.ndjson')}: no such object; check the URL\n"
    assert not (tmp_path / "out.ndjson").exists()
    write = store.run("convert", store.url(container, "raw/a.ndjson"), "-o", store.url(missing, "v2/a.ndjson"))
    err = write.stderr.decode()
    assert write.returncode == 2, err
    assert err == f"migrate1to2: error: cannot write {store.url(missing, 'v2/a.ndjson')}: {store.no_container}\n"
    for command in (["convert", store.url(missing, "raw/"), "-o", f"{tmp_path}/out/"], ["audit", store.url(missing, "raw/")]):
        prefix = store.run(*command)
        err = prefix.stderr.decode()
        assert prefix.returncode == 2, err
        assert store.no_container in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
