"""Emulators of object stores on loopback, started by the tests (and ``bench/run.py --stores``) themselves.

- Azure Blob Storage: Azurite (``azurite-blob``, npm). It is installed once with ``npm install`` into
  ``.cache/azurite`` at the repository's root (ignored by git; a lock keeps parallel runs from
  installing it twice), then started as a process on a free loopback port with its data in a
  temporary folder. The client is adlfs, with the emulator's well-known account (``devstoreaccount1``).
- Google Cloud Storage: gcp-storage-emulator (PyPI, the ``test`` extra), an in-process HTTP server
  with its objects in memory. The client is gcsfs; its experimental gRPC paths (bucket layout
  lookups, which the emulator cannot answer) are turned off with ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT``.

Neither needs the network beyond loopback once installed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AZURITE_VERSION = "3.37.0"
AZURITE_HOME = ROOT / ".cache" / "azurite"
#: The emulator's well-known account and key (published in Azurite's documentation; not a secret).
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#: gcsfs >= 2026.10 looks buckets up over gRPC unless this is false; the emulator speaks only HTTP.
GCS_ENV = {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}


class Unavailable(RuntimeError):
    """An emulator cannot be installed or started here (the message says why)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes] | None, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise Unavailable(f"the emulator exited with code {process.returncode}: {output.strip()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise Unavailable(f"the emulator did not listen on 127.0.0.1:{port} within {seconds:.0f} s")


def azurite_blob() -> Path:
    """The ``azurite-blob`` script, installed from npm into ``.cache/azurite`` on first use."""
    script = AZURITE_HOME / "node_modules" / ".bin" / "azurite-blob"
    stamp = AZURITE_HOME / "node_modules" / "azurite" / "package.json"
    if script.exists() and f'"version": "{AZURITE_VERSION}"' in stamp.read_text():
        return script
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise Unavailable("Azurite needs node and npm (https://nodejs.org), which are not on PATH")
    AZURITE_HOME.mkdir(parents=True, exist_ok=True)
    with open(AZURITE_HOME / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (script.exists() and f'"version": "{AZURITE_VERSION}"' in stamp.read_text()):
            done = subprocess.run([npm, "install", "--prefix", str(AZURITE_HOME), "--no-audit", "--no-fund",
                                   "--loglevel=error", f"azurite@{AZURITE_VERSION}"],
                                  capture_output=True, timeout=600, check=False)
            if done.returncode != 0 or not script.exists():
                raise Unavailable(f"npm install azurite@{AZURITE_VERSION} failed: "
                                  f"{done.stderr.decode(errors='replace').strip()[-2000:]}")
    return script


class Azurite:
    """A running ``azurite-blob``: its endpoint, connection string and the environment adlfs reads it from."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}/{AZURE_ACCOUNT}"
        self.connection_string = (f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};AccountKey={AZURE_KEY};"
                                  f"BlobEndpoint={self.endpoint};")
        self.env = {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}


@contextlib.contextmanager
def azurite() -> Iterator[Azurite]:
    script = azurite_blob()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="azurite-") as location:
        process = subprocess.Popen([str(script), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
                                    location, "--silent", "--skipApiVersionCheck"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            _wait_for_port(port, process, 60)
            yield Azurite(port)
        finally:
            process.kill()  # its data is thrown away: no need to wait for it to close its connections
            process.wait()
            if process.stdout:
                process.stdout.close()


class GcsEmulator:
    """A running gcp-storage-emulator: its endpoint and the environment gcsfs reads it from."""

    def __init__(self, server: object, port: int) -> None:
        self.server = server
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.env = {**GCS_ENV, "STORAGE_EMULATOR_HOST": self.endpoint}


@contextlib.contextmanager
def gcs_emulator() -> Iterator[GcsEmulator]:
    for name, value in GCS_ENV.items():  # before gcsfs is first imported in this process
        os.environ.setdefault(name, value)
    try:
        from gcp_storage_emulator.server import create_server
    except ImportError as error:
        raise Unavailable(f"gcp-storage-emulator is not installed ({error}): pip install -e '.[test]'") from None
    import logging

    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    try:
        _wait_for_port(port, None, 10)
        yield GcsEmulator(server, port)
    finally:
        server.stop()
