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
