"""Speed and memory of ``migrate1to2 convert`` against its peers, measured in one run on the same files.

    python bench/run.py                # the whole table (a few minutes; writes bench/data/)
    python bench/run.py --size 64M     # a quicker, noisier run

Every command runs as a subprocess, ``--repeat`` times, alternating with the one it is compared
with; the table shows median wall times and
the ratios the project's targets are about (machines are noisy: only ratios are compared):

- plain NDJSON, ``--jobs 1``: at most 0.67x an orjson loads+dumps loop (the full-parse floor),
  and at most 0.05x ``jq -c`` doing the same mapping;
- gzip in, gzip out (default ``--jobs``, as the pipeline runs three processes): at most 0.125x
  ``gzip -dc | jq -c ... | gzip``;
- ``--jobs 2``: at most 0.59x ``--jobs 1``, on a tree of several files and on one large file
  (1 GB each, the size of the archives the tool is for);
- converting a 1 GB file: peak RSS at most 100 MB;
- ``migrate1to2 audit`` of plain NDJSON (half 1.0, half 2.0, one core): at least 100 MB/s, and
  no slower than ``convert --jobs 1`` on the same file (the census keeps up with the converter).

Each run starts from the same state: the previous outputs are deleted and the system's dirty
pages written out (``sync``) before the clock starts, so no run pays for another's writing.

Its peers leave their output to the system, so the rows compared with them, and the ``--jobs``
rows, run ``migrate1to2 convert --no-fsync`` too. Two more rows run the default, which flushes
every output to disk before renaming it into place: there the disk's write speed is the floor.

Exit code 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
BIN = Path(sys.executable).parent
#: The same mapping as `migrate1to2 convert` (R1-R4), in jq (which rounds numbers to doubles).
JQ_PROGRAM = ('if (.properties | type) == "object" and (has("context") | not) then '
              '(if has("event_name") then {event_name} else {} end) + .properties '
              '+ {context: del(.event_name, .properties)} else . end')
ORJSON_LOOP = """
import sys, orjson
loads, dumps = orjson.loads, orjson.dumps
with open(sys.argv[1], "rb") as source, open(sys.argv[2], "wb") as target:
    write = target.write
    for line in source:
        if line.strip():
            write(dumps(loads(line)))
            write(b"\\n")
"""


def size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1:].upper() in units else int(text)


def generate(path: Path, nbytes: int, seed: int) -> Path:
    """A deterministic archive of about ``nbytes`` (kept between runs)."""
    if not path.exists() or abs(path.stat().st_size - nbytes) > nbytes // 50:
        temp = path.with_suffix(".tmp")
        with temp.open("wb") as out:
            subprocess.run([sys.executable, str(HERE / "generate.py"), "--bytes", str(nbytes), "--seed", str(seed)],
                           stdout=out, check=True)
        temp.replace(path)
    return path


def gzipped(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    if not target.exists() or target.stat().st_mtime < path.stat().st_mtime:
        with path.open("rb") as source, gzip.open(target, "wb", compresslevel=6) as out:
            shutil.copyfileobj(source, out, 1 << 20)
    return target


def fresh(work: Path) -> None:
    """Delete every output of earlier runs and write the system's dirty pages out: each run starts
    with nothing of the previous one left to free or to flush."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    os.sync()


def once(command: str | Sequence[str]) -> float:
    """Wall time of one run of ``command`` (a shell string or an argv), from a fresh state."""
    fresh(DATA / "out")
    start = time.perf_counter()
    subprocess.run(command, shell=isinstance(command, str), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def timed_pair(mine: str | Sequence[str], theirs: str | Sequence[str], repeat: int) -> tuple[float, float]:
    """Median wall times of two commands, run alternately (the machine's speed drifts)."""
    ours, others = [], []
    for _ in range(repeat):
        ours.append(once(mine))
        others.append(once(theirs))
    return statistics.median(ours), statistics.median(others)


def peak_rss_mb(argv: Sequence[str]) -> float:
    """Peak resident memory of the largest process ``argv`` starts (it, or one of its workers)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    fresh(DATA / "out")
    done = subprocess.run([sys.executable, "-c", code, *argv], check=True, capture_output=True, text=True)
    return int(done.stdout) / 1024


def table(rows: list[tuple[str, float, float, float | None]], rss: dict[str, float], big_mb: int) -> int:
    """Print the Markdown table of results; the number of targets missed."""
    failed = 0
    print("| measurement | migrate1to2 | baseline | ratio | target |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, mine, theirs, target in rows:
        ratio = mine / theirs
        cell = name.replace("|", "\\|")  # a pipe in a Markdown table cell is escaped
        if target is None:  # bounded by the disk's write speed: shown, not a target
            print(f"| {cell} | {mine:.2f} s | {theirs:.2f} s | {ratio:.3f}x | (disk-bound) |")
            continue
        failed += ratio > target
        missed = "" if ratio <= target else " (missed)"
        print(f"| {cell} | {mine:.2f} s | {theirs:.2f} s | **{ratio:.3f}x** | <= {target}x{missed} |")
    for jobs, megabytes in rss.items():
        failed += megabytes > 100
        print(f"| peak RSS, {big_mb} MB file, --jobs {jobs} | {megabytes:.0f} MB | | | <= 100 MB"
              f"{'' if megabytes <= 100 else ' (missed)'} |")
    return failed


def mixed(source: Path) -> Path:
    """``source`` (1.0) with every other line converted to 2.0: the mixed archive the audit bench reads."""
    target = source.with_name(source.stem + "-mixed.ndjson")
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    converted = source.with_name(source.stem + "-v2.tmp")
    subprocess.run([str(BIN / "migrate1to2"), "convert", str(source), "-o", str(converted), "-q", "--no-fsync"],
                   check=True)
    temp = target.with_suffix(".tmp")
    with source.open("rb") as v1, converted.open("rb") as v2, temp.open("wb") as out:
        for index, (old, new) in enumerate(zip(v1, v2, strict=False)):
            out.write(new if index % 2 else old)
    converted.unlink()
    temp.replace(target)
    return target


def audit_row(tool: str, source: Path, repeat: int) -> tuple[float, float]:
    """Median wall times of ``audit`` (one core, JSON report) and of ``convert --jobs 1`` on ``source``."""
    audits, converts = [], []
    for _ in range(repeat):
        fresh(DATA / "out")
        start = time.perf_counter()
        done = subprocess.run([tool, "audit", str(source), "--format", "json"], check=False, stdout=subprocess.DEVNULL)
        audits.append(time.perf_counter() - start)
        if done.returncode not in (0, 1):  # 1: it found 1.0 records, as it should
            raise SystemExit(f"audit failed with exit code {done.returncode}")
        converts.append(once([tool, "convert", str(source), "-o", str(DATA / "out" / "audit.ndjson"), "-q",
                              "-j", "1", "--no-fsync"]))
    return statistics.median(audits), statistics.median(converts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=size, default=size("256M"),
                        help="size of the file compared with orjson and jq (default 256M)")
    parser.add_argument("--big", type=size, default=size("1G"),
                        help="size of the large file and of the tree, for --jobs and memory (default 1G)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    DATA.mkdir(exist_ok=True)
    work = DATA / "out"
    fresh(work)
    tool = str(BIN / "migrate1to2")
    # As an installed package would have them (this matters where PYTHONDONTWRITEBYTECODE is set).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "migrate1to2")], check=True)
    if not shutil.which("jq"):
        parser.error("jq is needed for the comparison (apt-get install jq)")

    main_file = generate(DATA / "main.ndjson", args.size, seed=1)
    main_gz = gzipped(main_file)
    tree = DATA / "tree"
    tree.mkdir(exist_ok=True)
    for index in range(8):
        generate(tree / f"part-{index:02d}.ndjson", args.big // 8, seed=10 + index)
    big = generate(DATA / "big.ndjson", args.big, seed=3)
    print(f"files: main {main_file.stat().st_size >> 20} MB (gzip: {main_gz.stat().st_size >> 20} MB), "
          f"tree 8 x {(args.big // 8) >> 20} MB, big {big.stat().st_size >> 20} MB; median of {args.repeat} runs",
          file=sys.stderr)

    def ours(source: Path, target: str, *options: str, flush: bool = False) -> list[str]:
        return [tool, "convert", str(source), "-o", target, "-q", *options, *([] if flush else ["--no-fsync"])]

    rows: list[tuple[str, float, float, float | None]] = []

    def compare(name: str, mine: str | Sequence[str], theirs: str | Sequence[str], target: float | None) -> None:
        a, b = timed_pair(mine, theirs, args.repeat)
        rows.append((name, a, b, target))
        goal = "no target" if target is None else f"target <= {target}x"
        print(f"  {name}: {a:.2f}s vs {b:.2f}s = {a / b:.3f}x ({goal})", file=sys.stderr)

    out = str(work / "out.ndjson")
    orjson_loop = [sys.executable, "-c", ORJSON_LOOP, str(main_file), str(work / "orjson.ndjson")]
    compare("NDJSON, --jobs 1 vs orjson loads+dumps loop", ours(main_file, out, "-j", "1"), orjson_loop, 0.67)
    compare("NDJSON, --jobs 1 vs jq -c (same mapping)", ours(main_file, out, "-j", "1"),
            f"jq -c '{JQ_PROGRAM}' {main_file} > {work / 'jq.ndjson'}", 0.05)
    # The pipeline runs three processes at once; ours runs with its default --jobs (the CPUs).
    compare("gzip in and out vs gzip -dc | jq -c | gzip", ours(main_gz, str(work / "out.ndjson.gz")),
            f"gzip -dc {main_gz} | jq -c '{JQ_PROGRAM}' | gzip > {work / 'jq.ndjson.gz'}", 0.125)
    compare("tree of 8 files, --jobs 2 vs --jobs 1", ours(tree, str(work / "tree"), "-j", "2"),
            ours(tree, str(work / "tree"), "-j", "1"), 0.59)
    compare("one large file, --jobs 2 vs --jobs 1", ours(big, out, "-j", "2"), ours(big, out, "-j", "1"), 0.59)
    # The default: every output flushed to disk before it is renamed into place.
    compare("flushed (default): NDJSON, --jobs 1 vs orjson loop", ours(main_file, out, "-j", "1", flush=True),
            orjson_loop, 0.67)
    compare("flushed (default): one large file, --jobs 2 vs --jobs 1", ours(big, out, "-j", "2", flush=True),
            ours(big, out, "-j", "1", flush=True), None)
    rss = {jobs: peak_rss_mb(ours(big, str(work / "big.ndjson"), "-j", jobs, flush=True)) for jobs in ("1", "2")}
    print(f"  peak RSS converting {big.stat().st_size >> 20} MB: {rss['1']:.0f} MB (--jobs 1), {rss['2']:.0f} MB "
          "(--jobs 2, largest process)", file=sys.stderr)

    mixed_file = mixed(main_file)
    audit_s, convert_s = audit_row(tool, mixed_file, args.repeat)
    audit_mbps = mixed_file.stat().st_size / audit_s / 1e6
    print(f"  audit of {mixed_file.stat().st_size >> 20} MB mixed NDJSON: {audit_s:.2f}s = {audit_mbps:.0f} MB/s; "
          f"convert --jobs 1: {convert_s:.2f}s", file=sys.stderr)
    rows.append(("audit of mixed NDJSON vs convert --jobs 1 (same file)", audit_s, convert_s, 1.0))

    failed = table(rows, rss, big.stat().st_size >> 20)
    failed += audit_mbps < 100
    print(f"| audit of mixed NDJSON, one core | {audit_mbps:.0f} MB/s | | | >= 100 MB/s"
          f"{'' if audit_mbps >= 100 else ' (missed)'} |")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
