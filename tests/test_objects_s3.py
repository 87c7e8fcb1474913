"""Object stores, tested against a real S3 server: moto's server mode on a loopback port (as s3fs's own
tests do), with the command line run as a real subprocess and the store checked with boto3.

One server for the module; every test works in buckets of its own. Credentials are the fixture's fake
ones, given through the environment (the standard chain), and the endpoint through ``AWS_ENDPOINT_URL``
(botocore reads it) or ``--storage-option endpoint_url=...``.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
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

from migrate1to2 import upgrade_json
from tests.conftest import FIXTURES

CLI = [sys.executable, "-m", "migrate1to2"]
ARCHIVE = FIXTURES / "archive" / "events-2023.v1.ndjson"
RECORDS = ARCHIVE.read_bytes()
LINES = RECORDS.splitlines(keepends=True)
BAD = b'{"event_name":"x","properties":{"event_name":"y"}}\n'
KEY_ID, SECRET = "AKIAFAKEFAKEFAKE1234", "fake/secret/ShouldNeverBePrinted0123456789"


def converted(data: bytes) -> bytes:
    return b"".join(upgrade_json(line) + b"\n" for line in data.splitlines() if line.strip())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Store:
    """The running server: its endpoint, a boto3 client, and the environment the CLI runs with."""

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

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())

    def keys(self, bucket: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def uploads(self, bucket: str) -> list[dict[str, Any]]:
        return list(self.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))

    def run(self, *argv: str | Path, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*CLI, *map(str, argv)], env=env or self.env, capture_output=True, timeout=120,
                              check=False, **kwargs)


@pytest.fixture(scope="module")
def s3() -> Iterator[Store]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield Store(server, f"http://127.0.0.1:{port}")
    finally:
        server.stop()


def local_conversion(tmp_path: Path, source: Path, *argv: str) -> Path:
    """The same job on local files: what the store's results must equal byte for byte."""
    out = tmp_path / "local-out"
    done = subprocess.run([*CLI, "convert", str(source), "-o", f"{out}/", "-q", *argv], capture_output=True,
                          check=False)
    assert done.returncode in (0, 1), done.stderr
    return out


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
    """A tree as archives hold them: plain, gzip and zstd NDJSON by month, a reject, and a file that is no payload."""
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


def upload_tree(s3: Store, bucket: str, prefix: str, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        s3.put(bucket, prefix + name, data)


def store_tree(s3: Store, bucket: str, prefix: str) -> dict[str, bytes]:
    return {key[len(prefix):]: s3.get(bucket, key) for key in s3.keys(bucket) if key.startswith(prefix)}


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
    options = ["--include", "2023/*", "--exclude", "part-01*", "--rejects"]
    expected = local_conversion(tmp_path, source, *options, str(tmp_path / "rejects.ndjson"), "--stats",
                                str(tmp_path / "stats.json"))
    bucket, other = s3.bucket(), s3.bucket()
    upload_tree(s3, bucket, "raw/", files)
    done = s3.run("convert", f"s3://{bucket}/raw/", "-o", f"s3://{other}/v2/", "-j", jobs, *options,
                  f"s3://{other}/rejects.ndjson", "--stats", f"s3://{other}/stats.json")
    assert done.returncode == 1, done.stderr
    assert store_tree(s3, other, "v2/") == local_tree(expected)
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
    assert store_tree(s3, bucket, "v2/") == local_tree(expected)
    down = s3.run("convert", f"s3://{bucket}/v2/", "-o", tmp_path / "copy", "-q")
    assert down.returncode == 0, down.stderr
    assert local_tree(tmp_path / "copy") == local_tree(expected)  # already 2.0: passed through unchanged
