"""Object stores, tested against a real S3 server: moto's server mode on a loopback port (as s3fs's own
tests do), with the command line run as a real subprocess and the store checked with boto3.

One server for the module; every test works in buckets of its own. Credentials are the fixture's fake
ones, given through the environment (the standard chain), and the endpoint through ``AWS_ENDPOINT_URL``
(botocore reads it) or ``--storage-option endpoint_url=...``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import zstandard
from moto import settings as moto_settings
from moto.server import ThreadedMotoServer

from tests import stores
from tests.emulators import free_port
from tests.stores import BAD, BIG, CLI, LINES, RECORDS, converted, local_conversion, local_tree

KEY_ID, SECRET = "AKIAFAKEFAKEFAKE1234", "fake/secret/ShouldNeverBePrinted0123456789"


class Store(stores.Store):
    """The running server: its endpoint, a boto3 client, and the environment the CLI runs with."""

    scheme = "s3"

    def __init__(self, server: ThreadedMotoServer, endpoint: str) -> None:
        self.server = server
        self.endpoint = endpoint
        self.env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        self.env.pop("AWS_PROFILE", None)
        self.client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY_ID,
                                   aws_secret_access_key=SECRET, region_name="us-east-1")

    def bucket(self) -> str:
        name = f"b-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def container(self) -> str:
        return self.bucket()

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())

    def keys(self, bucket: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def uploads(self, bucket: str) -> list[dict[str, Any]]:
        return list(self.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))

    def run(self, *argv: str | Path, env: dict[str, str] | None = None,  # type: ignore[override]
            **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*CLI, *map(str, argv)], env=env or self.env, capture_output=True, timeout=120,
                              check=False, **kwargs)


@pytest.fixture(scope="module")
def s3() -> Iterator[Store]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield Store(server, f"http://127.0.0.1:{port}")
    finally:
        server.stop()


# --- single objects -------------------------------------------------------------------------------

def test_one_object_s3_to_s3(s3: Store) -> None:
    bucket = s3.bucket()
    s3.put(bucket, "raw/events.ndjson", RECORDS)
    done = s3.run("convert", f"s3://{bucket}/raw/events.ndjson", "-o", f"s3://{bucket}/v2/events.ndjson")
    assert done.returncode == 0, done.stderr
    assert s3.get(bucket, "v2/events.ndjson") == converted(RECORDS)
    assert s3.uploads(bucket) == []


def test_one_object_s3_to_local_and_back(s3: Store, tmp_path: Path) -> None:
    bucket = s3.bucket()
    gz = gzip.compress(RECORDS)
    s3.put(bucket, "raw/events.ndjson.gz", gz)
    local = tmp_path / "events.v2.ndjson.gz"
    done = s3.run("convert", f"s3://{bucket}/raw/events.ndjson.gz", "-o", local)
    assert done.returncode == 0, done.stderr
    assert gzip.decompress(local.read_bytes()) == converted(RECORDS)
    back = s3.run("downgrade", local, "-o", f"s3://{bucket}/v1/events.ndjson.zst")
    assert back.returncode == 0, back.stderr
    assert zstandard.ZstdDecompressor().decompressobj().decompress(s3.get(bucket, "v1/events.ndjson.zst")) == \
        b"".join(line if line.endswith(b"\n") else line + b"\n" for line in
                 subprocess.run([*CLI, "downgrade", str(local)], capture_output=True, check=True).stdout.splitlines(True))
    stdout = s3.run("convert", f"s3://{bucket}/raw/events.ndjson.gz")
    assert (stdout.returncode, stdout.stdout) == (0, converted(RECORDS))


def test_audit_of_one_object_and_a_prefix_reads_as_local_files(s3: Store, tmp_path: Path) -> None:
    bucket = s3.bucket()
    tree = {"raw/2023/a.ndjson": RECORDS, "raw/2023/b.ndjson.gz": gzip.compress(converted(RECORDS)),
            "raw/2024/c.ndjson": LINES[0] + BAD, "raw/notes.txt": b"nothing here\n"}
    local = tmp_path / "raw"
    for key, data in tree.items():
        s3.put(bucket, key, data)
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(data)

    def audit(*argv: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
        done = s3.run("audit", *argv, "-f", "json", cwd=cwd)
        assert done.returncode in (0, 1), done.stderr
        report = json.loads(done.stdout.replace(f"s3://{bucket}/".encode(), b""))
        for item in report["findings"]:
            del item["fingerprint"]  # made from the path too
        return done.returncode, report

    assert audit(f"s3://{bucket}/raw/2023/a.ndjson") == audit("raw/2023/a.ndjson", cwd=tmp_path)
    remote, expected = audit(f"s3://{bucket}/raw/"), audit("raw/", cwd=tmp_path)
    assert remote == expected
    assert remote[0] == 1 and len(remote[1]["payloads"]) == 3
    assert local.is_dir()


# --- trees ----------------------------------------------------------------------------------------

def mixed_tree(root: Path) -> dict[str, bytes]:
    """The shared mixed tree, and a ``tmp/`` folder for the globs to leave out."""
    files = stores.mixed_tree(root)
    files["2023/tmp/part-00.ndjson"] = b"".join(LINES[:5])
    (root / "2023/tmp").mkdir()
    (root / "2023/tmp/part-00.ndjson").write_bytes(files["2023/tmp/part-00.ndjson"])
    return files


def without_times(stats: dict[str, Any], *, base: str) -> dict[str, Any]:
    text = json.dumps(stats).replace(base, "BASE/")
    result = json.loads(text)
    for entry in [*result["files"], result["total"]]:
        entry["seconds"] = 0
    return result


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_tree_s3_to_s3_equals_local_conversion(s3: Store, tmp_path: Path, jobs: str) -> None:
    source = tmp_path / "raw"
    files = mixed_tree(source)
    options = ["--include", "2023/*", "--exclude", "part-01*", "--exclude", "tmp", "--rejects"]
    expected = local_conversion(tmp_path, source, *options, str(tmp_path / "rejects.ndjson"), "--stats",
                                str(tmp_path / "stats.json"))
    bucket, other = s3.bucket(), s3.bucket()
    s3.upload_tree(bucket, "raw/", files)
    done = s3.run("convert", f"s3://{bucket}/raw/", "-o", f"s3://{other}/v2/", "-j", jobs, *options,
                  f"s3://{other}/rejects.ndjson", "--stats", f"s3://{other}/stats.json")
    assert done.returncode == 1, done.stderr
    assert s3.tree(other, "v2/") == local_tree(expected)
    assert s3.get(other, "rejects.ndjson") == (tmp_path / "rejects.ndjson").read_bytes().replace(
        str(source).encode(), f"s3://{bucket}/raw".encode())
    remote = without_times(json.loads(s3.get(other, "stats.json")), base=f"s3://{bucket}/raw/")
    remote = json.loads(json.dumps(remote).replace(f"s3://{other}/v2/", "OUT/"))
    local = without_times(json.loads((tmp_path / "stats.json").read_text()), base=f"{source}/")
    local = json.loads(json.dumps(local).replace(f"{expected}/", "OUT/"))
    assert remote == local
    assert s3.uploads(other) == []
    assert "1 rejected" in done.stderr.decode() and "2 files" in done.stderr.decode()


def test_tree_local_to_s3_and_back_is_byte_identical(s3: Store, tmp_path: Path) -> None:
    source = tmp_path / "raw"
    mixed_tree(source)
    expected = local_conversion(tmp_path, source, "--rejects", str(tmp_path / "rejects.ndjson"))
    bucket = s3.bucket()
    up = s3.run("convert", source, "-o", f"s3://{bucket}/v2", "--rejects", tmp_path / "r2.ndjson")
    assert up.returncode == 1, up.stderr
    assert s3.tree(bucket, "v2/") == local_tree(expected)
    down = s3.run("convert", f"s3://{bucket}/v2/", "-o", tmp_path / "copy", "-q")
    assert down.returncode == 0, down.stderr
    assert local_tree(tmp_path / "copy") == local_tree(expected)  # already 2.0: passed through unchanged


# --- interrupted runs ------------------------------------------------------------------------------

#: Larger than a part of a multipart upload (8 MiB).


def start(s3: Store, argv: list[str], pause: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start the command line and wait until it stops itself at the point ``pause`` (see ``pause_point``)."""
    process = subprocess.Popen([*CLI, *argv], env={**(env or s3.env), "MIGRATE1TO2_TEST_PAUSE": pause},
                               stderr=subprocess.PIPE)
    _, status = os.waitpid(process.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"{argv} ended before the point {pause}: {process.stderr.read().decode()}"  # type: ignore[union-attr]
    return process


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, err = process.communicate(timeout=120)
    return process.returncode, err.decode()


def big_tree(s3: Store, tmp_path: Path, big: bytes = BIG) -> tuple[str, Path]:
    bucket = s3.bucket()
    source = tmp_path / "raw"
    source.mkdir()
    (source / "a.ndjson").write_bytes(b"".join(LINES[:10]) + BAD)
    (source / "big.ndjson").write_bytes(big)
    s3.upload_tree(bucket, "raw/", local_tree(source))
    return bucket, source


def test_sigterm_mid_upload_aborts_it_and_keeps_the_finished_rejects(s3: Store, tmp_path: Path) -> None:
    # When the first part is up, the conversion is at most a part and the writes waiting for the upload
    # (WRITE_AHEAD) further: far from the end of 20 MiB, so the signal comes before the object is complete.
    bucket, _ = big_tree(s3, tmp_path, BIG * 2)
    argv = ["convert", f"s3://{bucket}/raw/", "-o", f"s3://{bucket}/v2/", "-j", "1", "--rejects",
            f"s3://{bucket}/rejects.ndjson"]
    process = start(s3, argv, "uploaded")
    assert len(s3.uploads(bucket)) == 1  # a part of big.ndjson is up, the object is not made
    assert "v2/big.ndjson" not in s3.keys(bucket)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGCONT)
    code, err = finish(process)
    assert code == 143, err
    assert "Traceback" not in err
    assert s3.uploads(bucket) == []
    assert [key for key in s3.keys(bucket) if not key.startswith("raw/")] == ["rejects.ndjson", "v2/a.ndjson"]
    [reject] = map(json.loads, s3.get(bucket, "rejects.ndjson").splitlines())
    assert (reject["source"], reject["line"]) == (f"s3://{bucket}/raw/a.ndjson", 11)


def test_skip_existing_after_kill_9_mid_upload(s3: Store, tmp_path: Path) -> None:
    bucket, source = big_tree(s3, tmp_path)
    expected = local_conversion(tmp_path, source, "--rejects", str(tmp_path / "rejects.ndjson"))
    argv = ["convert", f"s3://{bucket}/raw/", "-o", f"s3://{bucket}/v2/", "-j", "2", "--rejects",
            str(tmp_path / "r.ndjson")]
    process = start(s3, argv, "uploaded")
    [upload] = s3.uploads(bucket)
    assert upload["Key"] == "v2/big.ndjson"
    process.kill()
    process.wait()
    assert s3.keys(bucket) == ["raw/a.ndjson", "raw/big.ndjson", "v2/a.ndjson"]  # no partial object
    done = s3.run(*argv, "--skip-existing")
    assert done.returncode == 0, done.stderr  # this run rejected nothing: a.ndjson's reject came before
    err = done.stderr.decode()
    assert f"aborted an unfinished upload to s3://{bucket}/v2/big.ndjson: left by an interrupted run" in err
    assert "1 file skipped, output already there" in err
    assert s3.uploads(bucket) == []
    assert s3.tree(bucket, "v2/") == local_tree(expected)
    assert (tmp_path / "r.ndjson").read_bytes() == (tmp_path / "rejects.ndjson").read_bytes().replace(
        str(source).encode(), f"s3://{bucket}/raw".encode())


def test_rejects_object_survives_kill_9_and_skip_existing(s3: Store, tmp_path: Path) -> None:
    """A rejects object is journaled locally (in the cache folder): after a kill -9 once inputs with rejects
    were committed, the resumed run keeps their rejects, which it no longer sees (it skips those inputs)."""
    bucket = s3.bucket()
    source = tmp_path / "raw"
    source.mkdir()
    for index, name in enumerate(["a", "b", "c"]):
        (source / f"{name}.ndjson").write_bytes(b"".join(LINES[index * 5:index * 5 + 5]) + BAD)
    s3.upload_tree(bucket, "raw/", local_tree(source))
    expected = local_conversion(tmp_path, source, "--rejects", str(tmp_path / "rejects.ndjson"))
    cache = tmp_path / "cache"
    env = {**s3.env, "XDG_CACHE_HOME": str(cache)}
    journals = cache / "migrate1to2" / "journals"
    argv = ["convert", f"s3://{bucket}/raw/", "-o", f"s3://{bucket}/v2/", "-j", "1", "--rejects",
            f"s3://{bucket}/rejects.ndjson"]
    process = start(s3, argv, "committed#2", env=env)  # b.ndjson's object is made, its rejects are journaled
    process.kill()
    process.wait()
    assert s3.keys(bucket) == ["raw/a.ndjson", "raw/b.ndjson", "raw/c.ndjson", "v2/a.ndjson", "v2/b.ndjson"]
    [journal] = journals.iterdir()
    assert journal.name.endswith("-rejects.ndjson.migrate1to2-journal")
    done = s3.run(*argv, "--skip-existing", env=env)
    assert done.returncode == 1, done.stderr  # c.ndjson's reject
    assert "2 files skipped, output already there" in done.stderr.decode()
    assert s3.tree(bucket, "v2/") == local_tree(expected)
    rejects = (tmp_path / "rejects.ndjson").read_bytes().replace(str(source).encode(), f"s3://{bucket}/raw".encode())
    assert len(rejects.splitlines()) == 3
    assert s3.get(bucket, "rejects.ndjson") == rejects  # every input's, once, in order
    assert list(journals.iterdir()) == []


def test_the_journal_of_a_rejects_object_is_named_from_the_object_alone(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from migrate1to2.storage.journal import journal_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = journal_path("s3://bucket/runs/rejects.ndjson")
    assert path.parent == tmp_path / "migrate1to2" / "journals"
    assert path.name.endswith("-rejects.ndjson.migrate1to2-journal")
    assert journal_path("S3://key:secret@bucket/runs/rejects.ndjson?versionId=1") == path  # no credentials in it
    assert "secret" not in str(path)
    assert journal_path("s3://bucket/other/rejects.ndjson") != path
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # ignored, as the XDG rule says
    assert journal_path("s3://bucket/runs/rejects.ndjson") == Path.home() / ".cache/migrate1to2/journals" / path.name


def test_conditional_create_lets_one_run_win(s3: Store) -> None:
    """With --skip-existing, an output another run made meanwhile is never replaced (If-None-Match: *)."""
    bucket = s3.bucket()
    s3.put(bucket, "raw/big.ndjson", BIG)
    argv = ["convert", f"s3://{bucket}/raw/", "-o", f"s3://{bucket}/v2/", "--skip-existing"]
    process = start(s3, argv, "uploaded")
    s3.put(bucket, "v2/big.ndjson", b"the other run's\n")
    process.send_signal(signal.SIGCONT)
    code, err = finish(process)
    assert code == 2, err
    assert err == (f"migrate1to2: error: cannot write s3://{bucket}/v2/big.ndjson: another run wrote it while this "
                   "one converted it (the store refused to replace it: conditional create); nothing was written by "
                   "this run. Rerun with --skip-existing to go on with the rest\n")
    assert s3.get(bucket, "v2/big.ndjson") == b"the other run's\n"
    assert s3.uploads(bucket) == []
    # Without --skip-existing an output is replaced, as a local file is.
    done = s3.run(*argv[:-1], "-q")
    assert done.returncode == 0, done.stderr
    assert s3.get(bucket, "v2/big.ndjson") == converted(BIG)


@pytest.mark.parametrize("side", ["write", "read"])
def test_server_gone_mid_run_is_exit_2_with_a_message(s3: Store, tmp_path: Path, side: str) -> None:
    bucket = s3.bucket()
    # Reading, the thread reading ahead holds at most READ_AHEAD blocks of 8 MiB: 30 MiB are not read yet.
    s3.put(bucket, "raw/big.ndjson", BIG * 3 if side == "read" else BIG)
    port = free_port()
    doomed = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)  # the same store, another door
    doomed.start()
    env = {**s3.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    quick = json.dumps({"retries": {"max_attempts": 2, "mode": "standard"}, "connect_timeout": 2, "read_timeout": 2})
    url = f"s3://{bucket}/raw/big.ndjson" if side == "read" else f"s3://{bucket}/v2/big.ndjson"
    output = str(tmp_path / "big.ndjson") if side == "read" else url
    argv = ["convert", f"s3://{bucket}/raw/big.ndjson", "-o", output, "--storage-option", f"config_kwargs={quick}"]
    process = start(s3, argv, "uploaded" if side == "write" else "written#2", env=env)
    doomed.stop()
    doomed._server.server_close()  # type: ignore[union-attr]  # connections are refused from now on
    process.send_signal(signal.SIGCONT)
    code, err = finish(process)
    assert code == 2, err
    assert err.startswith(f"migrate1to2: error: cannot {side} {url}: the connection to the store failed after "
                          "retries ("), err
    assert err.endswith("check the network and the endpoint, then rerun with --skip-existing to resume\n")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "v2/big.ndjson" not in s3.keys(bucket)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file
    if side == "write":  # the upload it could not abort is aborted by the next run writing that object
        assert len(s3.uploads(bucket)) == 1
        done = s3.run(*argv[:4], "-q")
        assert (done.returncode, s3.uploads(bucket)) == (0, [])


# --- errors ----------------------------------------------------------------------------------------

def test_missing_bucket_and_object(s3: Store, tmp_path: Path) -> None:
    bucket = s3.bucket()
    s3.put(bucket, "raw/a.ndjson", RECORDS)
    missing = f"b-missing-{uuid.uuid4().hex[:8]}"
    read = s3.run("convert", f"s3://{missing}/raw/a.ndjson", "-o", tmp_path / "out.ndjson")
    assert (read.returncode, read.stderr.decode()) == (
        2, f"migrate1to2: error: cannot read s3://{missing}/raw/a.ndjson: the bucket does not exist; check the URL "
           "(and the store: --storage-option endpoint_url=... for another S3 service)\n")
    assert not (tmp_path / "out.ndjson").exists()
    write = s3.run("convert", f"s3://{bucket}/raw/a.ndjson", "-o", f"s3://{missing}/v2/a.ndjson")
    assert write.returncode == 2
    assert write.stderr.decode().startswith(f"migrate1to2: error: cannot write s3://{missing}/v2/a.ndjson: the "
                                            "bucket does not exist")
    for tree, why in ((f"s3://{missing}/raw/", "the bucket does not exist; check the URL (and the store: "
                                                "--storage-option endpoint_url=... for another S3 service)"),
                      (f"s3://{bucket}/nothing/", "nothing is stored under this prefix; check the URL")):
        walked = s3.run("convert", tree, "-o", tmp_path / "out")
        assert (walked.returncode, walked.stderr.decode()) == (2, (
            f"migrate1to2: error: {tree}: cannot be read: {why}\n"
            "migrate1to2: 0 records in 0 files: 0 converted, 0 unchanged (already 2.0 or the same in both), 0 "
            "rejected; 1 path could not be read (not converted: see above)\n"))
        audited = s3.run("audit", tree)
        assert (audited.returncode, audited.stderr.decode()) == (2, f"migrate1to2: error: cannot read {tree}: {why}\n")
    no_object = s3.run("convert", f"s3://{bucket}/raw/nothing.ndjson")
    assert (no_object.returncode, no_object.stderr.decode()) == (
        2, f"migrate1to2: error: cannot read s3://{bucket}/raw/nothing.ndjson: no such object; check the URL\n")


@contextlib.contextmanager
def checked_credentials(s3: Store) -> Iterator[dict[str, str]]:
    """The server checks credentials and rights (moto's IAM) while the test runs; gives a read-only user's
    credentials."""
    iam = boto3.client("iam", endpoint_url=s3.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                       region_name="us-east-1")
    name = f"reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                       "Resource": "*"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    before = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    try:
        yield {**s3.env, "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    finally:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = before


def test_permission_denied_and_bad_credentials(s3: Store, tmp_path: Path) -> None:
    bucket = s3.bucket()
    s3.put(bucket, "raw/a.ndjson", RECORDS)
    with checked_credentials(s3) as reader:
        readable = s3.run("convert", f"s3://{bucket}/raw/a.ndjson", "-o", tmp_path / "a.ndjson", env=reader)
        assert readable.returncode == 0, readable.stderr
        denied = s3.run("convert", f"s3://{bucket}/raw/a.ndjson", "-o", f"s3://{bucket}/v2/a.ndjson", env=reader)
        refused = s3.run("convert", f"s3://{bucket}/raw/a.ndjson", env=s3.env)  # keys the server does not know
    assert denied.returncode == 2
    err = denied.stderr.decode()
    assert err.startswith(f"migrate1to2: error: cannot write s3://{bucket}/v2/a.ndjson: permission denied (")
    assert err.endswith("check that the credentials in use may write there (the bucket's policy, the role's "
                        "rights)\n")
    assert refused.returncode == 2
    assert refused.stderr.decode() == (
        f"migrate1to2: error: cannot read s3://{bucket}/raw/a.ndjson: the store refused the credentials "
        "(InvalidAccessKeyId); check the access key and secret (or the profile) in use, and that they are not "
        "expired\n")
    for run in (denied, refused):
        text = run.stderr.decode() + run.stdout.decode()
        assert SECRET not in text and KEY_ID not in text and reader["AWS_SECRET_ACCESS_KEY"] not in text
    assert "v2/a.ndjson" not in s3.keys(bucket)


# --- the URL layer ---------------------------------------------------------------------------------

def run_without(modules: list[str], argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """The command line in a process where ``modules`` cannot be imported (as when their extra is not installed)."""
    code = ("import sys\n"
            f"for name in {modules!r}: sys.modules[name] = None\n"
            "from migrate1to2.cli import main\n"
            f"sys.exit(main({argv!r}))\n")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60, check=False)


def test_a_missing_extra_names_it(s3: Store, tmp_path: Path) -> None:
    without_s3fs = run_without(["s3fs"], ["convert", "s3://bucket/raw/a.ndjson", "-o", str(tmp_path / "a")], s3.env)
    assert (without_s3fs.returncode, without_s3fs.stderr.decode()) == (
        2, "migrate1to2: error: cannot open s3://bucket/raw/a.ndjson: s3:// URLs need s3fs, which is not installed: "
           "pip install 'migrate1to2[s3]'\n")
    without_fsspec = run_without(["fsspec"], ["audit", "gs://bucket/raw/"], s3.env)
    assert (without_fsspec.returncode, without_fsspec.stderr.decode()) == (
        2, "migrate1to2: error: cannot open gs://bucket/raw/: gs:// URLs need gcsfs, which is not installed: "
           "pip install 'migrate1to2[gcs]'\n")
    for scheme, extra, package in (("gs", "gcs", "gcsfs"), ("az", "azure", "adlfs"), ("abfs", "azure", "adlfs")):
        done = run_without([package], ["convert", f"{scheme}://container/a.ndjson"], s3.env)
        assert (done.returncode, done.stderr.decode()) == (
            2, f"migrate1to2: error: cannot open {scheme}://container/a.ndjson: {scheme}:// URLs need {package}, "
               f"which is not installed: pip install 'migrate1to2[{extra}]'\n")
    unknown = s3.run("convert", "nosuch://bucket/a.ndjson")
    assert (unknown.returncode, unknown.stderr.decode()) == (
        2, "migrate1to2: error: cannot open nosuch://bucket/a.ndjson: nosuch:// is not a protocol fsspec knows (it "
           "knows s3://, gs://, az://, abfs://, http://, ... ); check the URL\n")


def test_local_runs_import_no_store_module(tmp_path: Path) -> None:
    source = tmp_path / "a.ndjson"
    source.write_bytes(RECORDS)
    code = ("import sys\n"
            "import migrate1to2\n"
            "from migrate1to2.cli import main\n"
            f"assert main(['convert', {str(source)!r}, '-o', {str(tmp_path / 'b.ndjson.gz')!r}, '-q']) == 0\n"
            f"assert main(['audit', {str(tmp_path)!r}, '-f', 'json']) == 1\n"
            "loaded = sorted(name for name in sys.modules if name.split('.')[0] in\n"
            "    {'fsspec', 's3fs', 'gcsfs', 'adlfs', 'botocore', 'aiobotocore', 'boto3', 'aiohttp'}\n"
            "    or name == 'migrate1to2.storage.objects')\n"
            "print(loaded, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().splitlines()[-1] == "[]"


def test_in_place_is_refused_on_objects(s3: Store) -> None:
    done = s3.run("convert", "s3://bucket/raw/a.ndjson", "--in-place")
    assert (done.returncode, done.stderr.decode()) == (
        2, "migrate1to2: error: --in-place cannot replace s3://bucket/raw/a.ndjson: an object in a store cannot be "
           "renamed over or backed up in one step, so a failure could lose it; convert into another prefix with "
           "-o DEST/ instead (then swap the prefixes)\n")


def test_messages_never_show_a_query_string_or_credentials(s3: Store) -> None:
    port = free_port()  # nothing listens there
    signed = f"http://127.0.0.1:{port}/a.ndjson?X-Amz-Credential=AKIASIGNED&X-Amz-Signature=deadbeef0123"
    done = s3.run("convert", signed, "--storage-option", "client_kwargs={\"timeout\": 2}")
    err = done.stderr.decode()
    assert done.returncode == 2
    assert err.startswith(f"migrate1to2: error: cannot read http://127.0.0.1:{port}/a.ndjson?…: "), err
    assert "AKIASIGNED" not in err and "deadbeef" not in err and "Traceback" not in err
    for extra in ([], ["--in-place"]):
        userinfo = s3.run("convert", "s3://user:hunter2@bucket/a.ndjson", *extra)
        assert userinfo.returncode == 2
        assert "hunter2" not in userinfo.stderr.decode() and "s3://…@bucket/a.ndjson" in userinfo.stderr.decode()


def test_storage_options_give_the_endpoint(s3: Store, tmp_path: Path) -> None:
    bucket = s3.bucket()
    s3.put(bucket, "raw/a.ndjson", RECORDS)
    env = {key: value for key, value in s3.env.items() if key != "AWS_ENDPOINT_URL"}
    done = s3.run("convert", f"s3://{bucket}/raw/a.ndjson", "-o", f"file://{tmp_path}/a.ndjson", "--storage-option",
                  f"endpoint_url={s3.endpoint}", "--storage-option", "use_ssl=false", env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.ndjson").read_bytes() == converted(RECORDS)
    audit = s3.run("audit", f"s3://{bucket}/raw/", "--storage-option", f"endpoint_url={s3.endpoint}", "-f", "json",
                   env=env)
    assert audit.returncode == 1, audit.stderr
    bad = s3.run("convert", f"s3://{bucket}/raw/a.ndjson", "--storage-option", "endpoint_url")
    assert (bad.returncode, bad.stderr.decode()) == (
        2, "migrate1to2: error: --storage-option takes KEY=VALUE (such as anon=true), not 'endpoint_url'\n")


@pytest.mark.parametrize(("code", "says"), [
    ("SlowDown", "the store is throttling requests and kept refusing after retries; rerun later (with "
                 "--skip-existing to keep what is done), or with fewer --jobs"),
    ("ExpiredToken", "the store refused the credentials (ExpiredToken); check the access key and secret (or the "
                     "profile) in use, and that they are not expired"),
    ("AccessDenied", "permission denied (Access Denied); check that the credentials in use may read there (the "
                     "bucket's policy, the role's rights)"),
])
def test_store_errors_say_what_to_do(code: str, says: str) -> None:
    """Errors moto does not produce on demand (throttling, expired tokens), as botocore raises them, after s3fs
    translated them or not."""
    from botocore.exceptions import ClientError, NoCredentialsError
    from s3fs.errors import translate_boto_error

    from migrate1to2.storage.objects import store_error

    raw = ClientError({"Error": {"Code": code, "Message": "Access Denied" if code == "AccessDenied" else code}},
                      "GetObject")
    for error in (raw, translate_boto_error(raw)):
        assert str(store_error("s3://b/k?X-Amz-Signature=abc", error, "read")) == f"cannot read s3://b/k?…: {says}"
    assert str(store_error("s3://b/k", NoCredentialsError(), "read")) == (
        "cannot read s3://b/k: no credentials were found. Set them as the store's own tools read them (for S3: "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role), or give --storage-option "
        "anon=true for a public bucket")
