"""Throughput of ``convert`` on object stores served on loopback, beside the same job on local files in the
same run (``python bench/run.py --stores``).

The mixed corpus's main file (``generate.py --mixed``, ``--size``) is converted: local -> local (the
baseline row), local -> s3, s3 -> s3 and s3 -> local against a moto server in this process (as the tests
run it), and local -> az and az -> az against Azurite where it can be installed (``tests/emulators.py``;
it is skipped with a note where node/npm are missing). Each row shows MB/s of input and its ratio to the
local row (higher is faster; loopback has no network latency, so this measures the client libraries and
the uploading and read-ahead threads, not a real store's bandwidth). No targets: the rows are shown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _moto() -> Iterator[tuple[str, dict[str, str]]]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    try:
        yield endpoint, env
    finally:
        server.stop()


def _timed(argv: Sequence[str], env: dict[str, str], repeat: int, before: object = None) -> float:
    times = []
    for _ in range(repeat):
        if callable(before):
            before()
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode > 1:  # 1: records rejected (the mixed corpus has invalid lines)
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode()[-2000:]}")
    return statistics.median(times)


def store_rows(source: Path, tool: str, work: Path, repeat: int) -> list[tuple[str, float, float]]:
    """``(row name, seconds, MB/s)`` for each store path, the local row first."""
    megabytes = source.stat().st_size / 1e6
    base_env = dict(os.environ)
    work.mkdir(parents=True, exist_ok=True)
    local_out = work / "store-local.ndjson"

    def convert(src: str, dst: str) -> list[str]:
        return [tool, "convert", src, "-o", dst, "-q", "--no-fsync", "--rejects", str(work / "rejects.ndjson")]

    rows: list[tuple[str, float, float]] = []

    def measure(name: str, argv: list[str], env: dict[str, str]) -> None:
        seconds = _timed(argv, env, repeat, before=lambda: local_out.unlink(missing_ok=True))
        rows.append((name, seconds, megabytes / seconds))
        print(f"  stores: {name}: {seconds:.2f} s = {megabytes / seconds:.0f} MB/s", file=sys.stderr)

    def measure_pair(name: str, argv: list[str], env: dict[str, str]) -> None:
        """A store row alternated with the local row (the machine's speed drifts): both medians kept."""
        local_times, store_times = [], []
        for _ in range(repeat):
            local_out.unlink(missing_ok=True)
            local_times.append(_timed(convert(str(source), str(local_out)), base_env, 1))
            store_times.append(_timed(argv, env, 1))
        rows.append((f"{name} (its local run)", statistics.median(local_times),
                     megabytes / statistics.median(local_times)))
        rows.append((name, statistics.median(store_times), megabytes / statistics.median(store_times)))
        print(f"  stores: {name}: {statistics.median(store_times):.2f} s vs local "
              f"{statistics.median(local_times):.2f} s", file=sys.stderr)

    measure("local -> local", convert(str(source), str(local_out)), base_env)
    with _moto() as (endpoint, s3_env):
        import boto3

        env = {**base_env, **s3_env}
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench",
                              region_name="us-east-1")
        client.create_bucket(Bucket="bench")
        client.upload_file(str(source), "bench", "raw/main.ndjson")
        # The server's own ceiling: the same bytes copied up and down by boto3 alone (in a process of its own,
        # as the command runs), no conversion.
        copy = ("import boto3, sys; c = boto3.client('s3'); "
                "c.upload_file(sys.argv[1], 'bench', 'copy/main.ndjson') if sys.argv[2] == 'up' else "
                "c.download_file('bench', 'raw/main.ndjson', sys.argv[1])")
        measure("boto3 upload_file, no conversion", [sys.executable, "-c", copy, str(source), "up"], env)
        measure("boto3 download_file, no conversion", [sys.executable, "-c", copy, str(local_out), "down"], env)
        measure_pair("local -> s3", convert(str(source), "s3://bench/v2/local.ndjson"), env)
        measure_pair("s3 -> s3", convert("s3://bench/raw/main.ndjson", "s3://bench/v2/main.ndjson"), env)
        measure_pair("s3 -> local", convert("s3://bench/raw/main.ndjson", str(local_out)), env)
    sys.path.insert(0, str(HERE.parent))
    from tests.emulators import Unavailable, azurite

    try:
        with azurite() as server:
            from azure.storage.blob import BlobServiceClient

            env = {**base_env, **server.env}
            service = BlobServiceClient.from_connection_string(server.connection_string)
            service.create_container("bench")
            with source.open("rb") as data:
                service.get_container_client("bench").upload_blob("raw/main.ndjson", data, overwrite=True,
                                                                  max_concurrency=2)
            measure_pair("local -> az", convert(str(source), "az://bench/v2/local.ndjson"), env)
            measure_pair("az -> az", convert("az://bench/raw/main.ndjson", "az://bench/v2/main.ndjson"), env)
    except Unavailable as error:
        print(f"  stores: Azurite rows left out: {error}", file=sys.stderr)
    return rows
