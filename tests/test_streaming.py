"""Streams flow: ``producer | migrate1to2 convert | consumer`` gets each record as its line arrives.

The command line runs as a real subprocess fed through a real pipe, a line at a time: each
line's output must be read before the next line is written (a generous deadline keeps CI
noise from failing it; the ordering is what is asserted). The summary and exit code are
those of the same input sent at once.
"""

from __future__ import annotations

import gzip
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from tests.helpers import summary

#: How long one output may take to appear (it takes about 10 ms; this only bounds a failure).
DEADLINE = 5.0


class Flow:
    """The CLI as a subprocess, with its stdin written a piece at a time and its stdout read as it comes."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "migrate1to2", *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin: IO[bytes] = self.process.stdin
        self.out = b""

    def send(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

    def expect(self, wanted: bytes) -> float:
        """Wait until stdout has given ``wanted`` (after what it gave before); the seconds it took."""
        started = time.monotonic()
        fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        while len(self.out) < len(wanted):
            left = started + DEADLINE - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            assert ready, f"no output within {DEADLINE} s: got {self.out!r}, waiting for {wanted!r}"
            block = os.read(fd, 1 << 16)
            assert block, f"stdout ended: got {self.out!r}, waiting for {wanted!r}"
            self.out += block
        got, self.out = self.out[:len(wanted)], self.out[len(wanted):]
        assert got == wanted
        return time.monotonic() - started

    def finish(self, *, close: bool = True, send: bytes | None = None) -> tuple[int, bytes, str]:
        """Close stdin (unless the run ends by itself; after writing ``send``, while reading stdout), wait for
        the end: exit code, the rest of stdout, stderr."""
        if send is None:
            if close:
                self.stdin.close()
            self.process.stdin = None  # closed, or left open: communicate() must not touch it
        try:
            rest, err = self.process.communicate(send, timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, self.out + rest, err.decode()


@contextmanager
def flow(*args: str, cwd: Path) -> Iterator[Flow]:
    running = Flow(*args, cwd=cwd)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()


def v1(number: int) -> bytes:
    return b'{"event_name":"e%d","properties":{"price":16.00,"n":%d}}\n' % (number, number)


def v2(number: int) -> bytes:
    return b'{"event_name":"e%d","price":16.00,"n":%d,"context":{}}\n' % (number, number)


BAD = b'{"event_name":"x","properties":{"context":1}}\n'


def converted_at_once(tmp_path: Path, *args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    """The same input sent in one go, for comparison."""
    return subprocess.run([sys.executable, "-m", "migrate1to2", *args], input=stdin, capture_output=True,
                          cwd=tmp_path, check=False)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_convert_writes_each_record_before_the_next_line_arrives(tmp_path: Path, jobs: str) -> None:
    with flow("convert", "-j", jobs, cwd=tmp_path) as running:
        for number in range(5):
            running.send(v1(number))
            running.expect(v2(number))
            time.sleep(0.05)  # a producer that stalls between records
        code, rest, err = running.finish()
    assert (code, rest, err) == (0, b"", summary(5, 5, 0, 0))
    at_once = converted_at_once(tmp_path, "convert", "-j", jobs, stdin=b"".join(map(v1, range(5))))
    assert (at_once.returncode, at_once.stdout, at_once.stderr.decode()) == (0, b"".join(map(v2, range(5))), err)


def test_downgrade_flows(tmp_path: Path) -> None:
    at_once = converted_at_once(tmp_path, "downgrade", stdin=b"".join(map(v2, range(3))))
    lines = at_once.stdout.splitlines(keepends=True)
    assert len(lines) == 3
    with flow("downgrade", cwd=tmp_path) as running:
        for number in range(3):
            running.send(v2(number))
            running.expect(lines[number])
        code, rest, err = running.finish()
    assert (code, rest, err) == (at_once.returncode, b"", at_once.stderr.decode())
    assert err == summary(3, 3, 0, 0, already="1.0")


def test_a_record_arriving_in_pieces_goes_out_when_its_line_ends(tmp_path: Path) -> None:
    with flow("convert", cwd=tmp_path) as running:
        line = v1(1)
        running.send(line[:10])
        time.sleep(0.1)
        running.send(line[10:-1])
        time.sleep(0.1)
        assert not select.select([running.process.stdout], [], [], 0)[0], "no output before the line ends"
        running.send(b"\n")
        running.expect(v2(1))
        code, rest, err = running.finish()
    assert (code, rest, err) == (0, b"", summary(1, 1, 0, 0))


def test_a_rejected_line_in_the_middle_is_set_aside_and_the_stream_goes_on(tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.ndjson"
    with flow("convert", "--rejects", str(rejects), cwd=tmp_path) as running:
        running.send(v1(1))
        running.expect(v2(1))
        running.send(BAD)  # nothing comes out for it
        running.send(v1(3))
        running.expect(v2(3))
        running.send(v1(4))
        running.expect(v2(4))
        code, rest, err = running.finish()
    assert (code, rest) == (1, b"")
    assert err == summary(4, 3, 0, 1, see=str(rejects))
    reject = json.loads(rejects.read_bytes())
    assert (reject["source"], reject["line"], reject["record"]) == ("<stdin>", 2, BAD.decode().rstrip("\n"))
    at_once = converted_at_once(tmp_path, "convert", "--rejects", str(tmp_path / "once.ndjson"),
                                stdin=v1(1) + BAD + v1(3) + v1(4))
    assert at_once.returncode == code
    assert at_once.stdout == v2(1) + v2(3) + v2(4)
    assert (tmp_path / "once.ndjson").read_bytes() == rejects.read_bytes()


def test_without_rejects_a_stalled_stream_stops_at_the_bad_record(tmp_path: Path) -> None:
    """The run ends at the bad record, without waiting for the producer to close the pipe."""
    with flow("convert", cwd=tmp_path) as running:
        running.send(v1(1))
        running.expect(v2(1))
        running.send(BAD)
        code, rest, err = running.finish(close=False)
    assert (code, rest) == (1, b"")
    assert err.endswith("migrate1to2: stopped at the first record that cannot be converted; the 1 record before it "
                        "went to stdout. Use --rejects FILE to set such records aside and convert the rest.\n")


def test_gzip_stdin_flows_as_it_is_decompressed(tmp_path: Path) -> None:
    with flow("convert", cwd=tmp_path) as running:
        compressor = gzip.GzipFile(fileobj=running.stdin, mode="wb")
        for number in range(3):
            compressor.write(v1(number))
            compressor.flush()  # a sync flush: what was written can be decompressed
            running.stdin.flush()
            running.expect(v2(number))
        compressor.close()
        code, rest, err = running.finish()
    assert (code, rest, err) == (0, b"", summary(3, 3, 0, 0))


def test_array_elements_flow_as_they_complete(tmp_path: Path) -> None:
    with flow("convert", cwd=tmp_path) as running:
        running.send(b"[\n" + v1(1).rstrip(b"\n") + b",\n")
        running.expect(b"[" + v2(1).rstrip(b"\n"))
        running.send(v1(2).rstrip(b"\n") + b"\n")
        running.expect(b"," + v2(2).rstrip(b"\n"))
        running.send(b"]\n")
        code, rest, err = running.finish()
    assert (code, rest, err) == (0, b"]\n", summary(2, 2, 0, 0))


def test_a_pretty_document_arriving_slowly_is_read_whole(tmp_path: Path) -> None:
    """A stall inside a multi-line object does not make its first lines records of their own."""
    document = b'{\n  "event_name": "a",\n  "properties": {"price": 16.00}\n}\n'
    with flow("convert", cwd=tmp_path) as running:
        for line in document.splitlines(keepends=True):
            running.send(line)
            time.sleep(0.05)
        code, out, err = running.finish()
    at_once = converted_at_once(tmp_path, "convert", stdin=document)
    assert (code, out, err) == (at_once.returncode, at_once.stdout, at_once.stderr.decode())
    assert out == b'{"event_name":"a","price":16.00,"context":{}}\n'


def test_a_stream_that_stalls_then_floods_keeps_its_order(tmp_path: Path) -> None:
    """A trickle first (no pool), then more than the pool threshold at once (workers may start then):
    every record comes out once, in order, and the counts are those of the input sent at once."""
    flood = b"".join(v1(number) for number in range(2, 200_000))  # about 11 MB
    with flow("convert", "-j", "2", cwd=tmp_path) as running:
        running.send(v1(0))
        running.expect(v2(0))
        running.send(v1(1))
        running.expect(v2(1))
        code, out, err = running.finish(send=flood + v1(200_000))
    everything = v1(0) + v1(1) + flood + v1(200_000)
    at_once = converted_at_once(tmp_path, "convert", "-j", "2", stdin=everything)
    assert (code, err) == (at_once.returncode, at_once.stderr.decode())
    assert v2(0) + v2(1) + out == at_once.stdout
    assert err == summary(200_001, 200_001, 0, 0)


def test_a_truncated_gzip_stream_is_an_error_naming_stdin(tmp_path: Path) -> None:
    """What was decompressed before the cut went out; the cut is an I/O error, not a shorter input."""
    whole = gzip.compress(b"".join(map(v1, range(1000))))
    with flow("convert", cwd=tmp_path) as running:
        code, out, err = running.finish(send=whole[:len(whole) // 2])
    assert code == 2
    assert err.startswith("migrate1to2: error: cannot read <stdin>: its gzip data is corrupt or truncated")
    assert b"".join(map(v2, range(1000))).startswith(out)


def test_compressed_stdout_from_a_stalling_stream_is_complete_at_the_end(tmp_path: Path) -> None:
    """Compressed stdout is not flushed per record (see the README); what it gives is the whole stream."""
    with flow("convert", "--compress", "gzip", cwd=tmp_path) as running:
        for number in range(3):
            running.send(v1(number))
            time.sleep(0.05)
        code, out, err = running.finish()
    assert (code, err) == (0, summary(3, 3, 0, 0))
    assert gzip.decompress(out) == b"".join(map(v2, range(3)))
