"""Speed and memory of ``migrate1to2 convert`` against its peers, measured in one run on the same files.

    python bench/run.py                          # the whole table, both corpora (writes bench/data/)
    python bench/run.py --size 32M --big 128M --repeat 1   # a quick, noisy run (a minute or two)
    python bench/run.py --corpus mixed           # one corpus only
    python bench/run.py --size 64M --audit-only  # only the audit rows
    python bench/run.py --size 256M --stores     # only the object-store rows (loopback S3 and Azurite)

Two corpora, every row on each (``bench/generate.py``): *clean*, every record a plain 1.0 event
with ``properties``; and *mixed*, the same events with the irregular records real archives hold
(``generate.py --mixed``: 1% 1.0 without ``properties``, 3% already 2.0, 0.5% "either", 0.1%
invalid lines, 0.5% records over 10 KB, escaped unicode, and one CRLF file in the tree). The
targets are for the mixed corpus; the clean rows are shown for comparison.

Every command runs as a subprocess, ``--repeat`` times, alternating with the one it is compared
with; the table shows median wall times with the range of the runs (``0.82 (0.80-0.85) s``) and the
ratios of the medians the project's targets are about, with the range of the ratios of runs made
one after the other (machines are noisy: only ratios are compared). Its output (stdout) is the
Markdown table of the README's Performance section, both corpora in one command:

- plain NDJSON, ``--jobs 1``: at most 0.45x an orjson loads+dumps loop (the full-parse floor),
  and at most 0.04x ``jq -c`` doing the same mapping;
- gzip in, gzip out (default ``--jobs``, as the pipeline runs three processes): at most 0.10x
  ``gzip -dc | jq -c ... | gzip``, the output at most 1.10x the size ``gzip -6`` makes of it;
- ``--jobs 2``: at most 0.58x ``--jobs 1``, on a tree of several files and on one large file
  (1 GB each, the size of the archives the tool is for);
- converting a 1 GB file, and gzip in and out: peak RSS at most 100 MB;
- in process, on one core: the compiled path converts mixed 1 MB chunks at 800 MB/s or more, and
  ``upgrade_json`` on a record of about 1 KB takes at most half the time of orjson ``loads`` +
  the mapping in Python + ``dumps`` (the per-record library row). On the mixed corpus, the same
  chunks row on an archive written by ``json.dumps`` (``generate.py --spaced 1``), with no target.
- ``migrate1to2.arrow.convert_array`` on the same bytes as rows of Arrow string arrays (one per
  1 MB chunk): at least 0.9x the speed of ``convert_chunk`` (in process, one core);
- ``migrate1to2 audit`` of plain NDJSON (half 1.0, half 2.0, one core): at least 100 MB/s, with
  its time against ``convert --jobs 1`` on the same file beside it (no target); shown in wall time
  and in CPU time (the processes' user + system time, which other work on a shared machine
  changes less), and in process (``audit_paths``, thread CPU time) on that file and on the mixed
  corpus.

Each run starts from the same state: the previous outputs are deleted and the system's dirty
pages written out (``sync``) before the clock starts, so no run pays for another's writing; each
comparison starts with one untimed run of both commands.

Its peers leave their output to the system, so the rows compared with them, and the ``--jobs``
rows, run ``migrate1to2 convert --no-fsync`` too. Two more rows run the default, which flushes
every output to disk before renaming it into place: there the disk's write speed is the floor.

Exit code 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
BIN = Path(sys.executable).parent
#: The same mapping as `migrate1to2 convert` (R1-R4), in jq (which rounds numbers to doubles): a record
#: with `properties` or only meta-data is converted, one with `context`, both, or neither is left as it is.
JQ_PROGRAM = ('if has("context") or ((.properties | type) != "object" and has("properties")) then . '
              'elif has("properties") or (del(.event_name) | length) > 0 then '
              '(if has("event_name") then {event_name} else {} end) + (.properties // {}) '
              '+ {context: del(.event_name, .properties)} else . end')
#: jq stops at the first invalid line; reading lines as text and parsing each, it skips them instead.
JQ_SKIPPING = "-R 'fromjson? | " + JQ_PROGRAM + "'"
ORJSON_LOOP = """
import sys, orjson
loads, dumps = orjson.loads, orjson.dumps
with open(sys.argv[1], "rb") as source, open(sys.argv[2], "wb") as target, open(sys.argv[2] + ".bad", "wb") as bad:
    write = target.write
    for line in source:
        if line.strip():
            try:
                write(dumps(loads(line)))
            except orjson.JSONDecodeError:
                bad.write(line)
                continue
            write(b"\\n")
"""


def size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1:].upper() in units else int(text)


def generate(path: Path, nbytes: int, seed: int, *options: str) -> Path:
    """A deterministic archive of about ``nbytes`` (kept between runs)."""
    if not path.exists() or abs(path.stat().st_size - nbytes) > nbytes // 50:
        temp = path.with_suffix(".tmp")
        with temp.open("wb") as out:
            subprocess.run([sys.executable, str(HERE / "generate.py"), "--bytes", str(nbytes), "--seed", str(seed),
                            *options], stdout=out, check=True)
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
    done = subprocess.run(command, shell=isinstance(command, str), check=False, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if done.returncode > 1:  # 1: records rejected (the mixed corpus has invalid lines)
        raise subprocess.CalledProcessError(done.returncode, command)
    return elapsed


def timed_runs(mine: str | Sequence[str], theirs: str | Sequence[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall times of two commands, run alternately (the machine's speed drifts), ``repeat`` times each,
    after one untimed run of each (so that the first timed one does not start from what the previous
    comparison left: other files cached, other memory just freed)."""
    once(mine)
    once(theirs)
    ours, others = [], []
    for _ in range(repeat):
        ours.append(once(mine))
        others.append(once(theirs))
    return ours, others


def timed_pair(mine: str | Sequence[str], theirs: str | Sequence[str], repeat: int) -> tuple[float, float]:
    """Median wall times of two commands, run alternately (the machine's speed drifts)."""
    ours, others = timed_runs(mine, theirs, repeat)
    return statistics.median(ours), statistics.median(others)


def paired(ours: Sequence[float], theirs: Sequence[float]) -> tuple[float, float, str]:
    """The medians of two commands' runs and their ratio as the table shows it: the ratio of the medians,
    with the range of the ratios of runs made one after the other (``0.403x (0.391-0.415)``)."""
    a, b = statistics.median(ours), statistics.median(theirs)
    ratios = [x / y for x, y in zip(ours, theirs, strict=True)]
    return a, b, f"{a / b:.3f}x" + (f" ({min(ratios):.3f}-{max(ratios):.3f})" if len(ratios) > 1 else "")


def compared_row(name: str, runs: tuple[list[float], list[float]], target: float | None, mixed: bool) -> Row:
    """The row of a timed comparison (its target only on the mixed corpus; None: disk-bound, shown)."""
    a, b, ratio = paired(*runs)
    met = None if target is None or not mixed else a / b <= target
    shown = "(disk-bound)" if target is None else f"<= {target}x" if mixed else f"({target}x on mixed)"
    print(f"  {name}: {a:.2f}s vs {b:.2f}s = {ratio} ({shown})", file=sys.stderr)
    return Row(name, f"{spread(runs[0])} s", f"{spread(runs[1])} s", ratio, shown, met)


def spread(values: Sequence[float], form: str = "{:.2f}") -> str:
    """The median of several runs with their range, as the table shows it: ``0.82 (0.80-0.85)``."""
    median = form.format(statistics.median(values))
    return median if len(values) < 2 else f"{median} ({form.format(min(values))}-{form.format(max(values))})"


def peak_rss_mb(argv: Sequence[str]) -> float:
    """Peak resident memory of the largest process ``argv`` starts (it, or one of its workers)."""
    code = ("import resource, subprocess, sys; "
            "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); assert done.returncode <= 1; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    fresh(DATA / "out")
    done = subprocess.run([sys.executable, "-c", code, *argv], check=True, capture_output=True, text=True)
    return int(done.stdout) / 1024


@dataclass
class Row:
    """One line of the table: a measurement, its baseline, and whether it meets its target."""

    name: str
    mine: str
    theirs: str = ""
    ratio: str = ""
    target: str = ""
    #: None: shown, not a target (the clean corpus, or bounded by the disk).
    met: bool | None = None


def table(rows: list[Row]) -> int:
    """Print the Markdown table of results; the number of targets missed."""
    print("| measurement | migrate1to2 | baseline | ratio | target |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        cell = row.name.replace("|", "\\|")  # a pipe in a Markdown table cell is escaped
        value, _, runs = row.ratio.partition(" ")  # the ratio of the medians is bold, its range is not
        ratio = f"**{value}**{' ' + runs if runs else ''}" if row.met is not None and row.ratio else row.ratio
        target = row.target + (" (missed)" if row.met is False else "")
        print(f"| {cell} | {row.mine} | {row.theirs} | {ratio} | {target} |")
    return sum(row.met is False for row in rows)


#: The start of the in-process rows: the first ``argv[2]`` bytes of ``argv[1]`` (whole lines), cut into
#: 1 MB chunks of whole lines as the command cuts them (``chunks``).
CHUNKS_PRELUDE = """
assert rawjson.COMPILED, "the C accelerator is not compiled"
retain_freed_memory(64 << 20)  # as the command does
data = open(sys.argv[1], "rb").read(int(sys.argv[2]))
data = data[: data.rfind(b"\\n") + 1]
chunks, start = [], 0
while start < len(data):
    cut = data.find(b"\\n", start + (1 << 20))
    cut = len(data) if cut < 0 else cut + 1
    chunks.append(data[start:cut])
    start = cut
"""

#: In process, one core: the compiled path on 1 MB chunks (the unit ``convert`` works in), in MB/s.
CHUNKS_CODE = """
import statistics, sys, time
from migrate1to2 import Version, rawjson
from migrate1to2.convert.records import Settings, convert_lines
from migrate1to2._speedups import retain_freed_memory
""" + CHUNKS_PRELUDE + """settings = Settings(Version.V2, stop_at_reject=False)
rates = []
for _ in range(int(sys.argv[3])):
    begin = time.thread_time()  # CPU time of this thread: other processes on the machine do not count
    for chunk in chunks:
        convert_lines(chunk, 1, "bench", settings)
    rates.append(len(data) / (time.thread_time() - begin) / 1e6)
print(statistics.median(rates), min(rates), max(rates))
"""

#: In process: upgrade_json on one record of about 1 KB, against orjson loads + the mapping + dumps (µs).
RECORD_CODE = """
import statistics, sys, timeit
import orjson
from migrate1to2 import upgrade_json
lines = [line for line in open(sys.argv[1], "rb").read(4 << 20).split(b"\\n") if b'"properties"' in line]
record = min(lines, key=lambda line: abs(len(line) - 1024))
loads, dumps = orjson.loads, orjson.dumps

def mapping(event):
    # R1-R4 on decoded objects, as a pipeline would write it
    properties = event.pop("properties")
    out = {"event_name": event.pop("event_name")} if "event_name" in event else {}
    out.update(properties)
    out["context"] = event
    return out

assert loads(upgrade_json(record)) == mapping(loads(record))
ours = lambda: upgrade_json(record)
theirs = lambda: dumps(mapping(loads(record)))
number = 20000
a, b = [], []
for _ in range(int(sys.argv[2])):
    a.append(min(timeit.repeat(ours, number=number, repeat=3)) / number * 1e6)
    b.append(min(timeit.repeat(theirs, number=number, repeat=3)) / number * 1e6)
print(len(record), statistics.median(a), statistics.median(b))
"""


def half_v2(source: Path) -> Path:
    """``source`` (1.0) with every other line converted to 2.0: the archive the audit row reads."""
    target = source.with_name(source.stem + "-half-v2.ndjson")
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: In process, one core: ``audit_paths`` of a file (the census and the reading), thread CPU time, in MB/s.
AUDIT_CODE = """
import os, statistics, sys, time
from migrate1to2.audit import audit_paths
from migrate1to2.audit.census import COMPILED
assert COMPILED, "the C accelerator is not compiled"
rates = []
for _ in range(int(sys.argv[2])):
    begin = time.thread_time()
    audit_paths(sys.argv[1])
    rates.append(os.path.getsize(sys.argv[1]) / (time.thread_time() - begin) / 1e6)
print(statistics.median(rates), min(rates), max(rates))
"""


def audit_rows(args: argparse.Namespace, tool: str, work: Path) -> list[Row]:
    """``audit`` (one core, JSON report) against ``convert --jobs 1`` on a half 1.0, half 2.0 file."""
    source = half_v2(generate(DATA / "main-clean.ndjson", args.size, 1))
    audits, converts, audit_cpu, convert_cpu = [], [], [], []
    for _ in range(args.repeat):
        fresh(work)
        start, cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run([tool, "audit", str(source), "--format", "json"], check=False, stdout=subprocess.DEVNULL)
        audits.append(time.perf_counter() - start)
        audit_cpu.append(_children_cpu() - cpu)
        if done.returncode not in (0, 1):  # 1: it found 1.0 records, as it should
            raise SystemExit(f"audit failed with exit code {done.returncode}")
        cpu = _children_cpu()
        converts.append(once([tool, "convert", str(source), "-o", str(work / "audit.ndjson"), "-q", "-j", "1",
                              "--no-fsync"]))
        convert_cpu.append(_children_cpu() - cpu)
    audit_s, convert_s = statistics.median(audits), statistics.median(converts)
    audit_c, convert_c = statistics.median(audit_cpu), statistics.median(convert_cpu)
    megabytes = source.stat().st_size / 1e6
    rate, cpu_rate = megabytes / audit_s, megabytes / audit_c
    print(f"  audit of {source.stat().st_size >> 20} MB half-2.0 NDJSON: {audit_s:.2f}s = {rate:.0f} MB/s "
          f"(CPU {audit_c:.2f}s = {cpu_rate:.0f} MB/s); convert --jobs 1: {convert_s:.2f}s (CPU {convert_c:.2f}s)",
          file=sys.stderr)
    rows = [Row("audit of half-1.0/half-2.0 NDJSON, one core", f"{rate:.0f} MB/s", target=">= 100 MB/s",
                met=rate >= 100),
            Row("audit vs convert --jobs 1 on the same file", f"{audit_s:.2f} s", f"{convert_s:.2f} s",
                f"{audit_s / convert_s:.3f}x", "(shown)"),
            Row("the same, CPU time: audit of half-1.0/half-2.0 NDJSON", f"{cpu_rate:.0f} MB/s",
                target=">= 100 MB/s", met=cpu_rate >= 100),
            Row("the same, CPU time: audit vs convert --jobs 1", f"{audit_c:.2f} s", f"{convert_c:.2f} s",
                f"{audit_c / convert_c:.3f}x", "(shown)")]
    mixed = generate(DATA / "main-mixed.ndjson", args.size, 1, "--mixed")
    for name, path in (("half-1.0/half-2.0", source), ("mixed corpus", mixed)):
        done = subprocess.run([sys.executable, "-c", AUDIT_CODE, str(path), str(max(3, args.repeat))], check=True,
                              capture_output=True, text=True)
        median, low, high = (float(x) for x in done.stdout.split())
        rows.append(Row(f"in process, one core: audit_paths of the {name} file", f"{median:.0f} MB/s",
                        f"runs: {low:.0f}-{high:.0f} MB/s", "", ">= 100 MB/s", median >= 100))
        print(f"  audit in process, {name}: {median:.0f} MB/s ({low:.0f}-{high:.0f})", file=sys.stderr)
    return rows


#: In process, one core: convert_array on Arrow string arrays (a row per record) against convert_chunk on
#: the same records as 1 MB NDJSON chunks; the two alternate, each run timed on this thread's CPU time.
ARROW_CODE = """
import statistics, sys, time
import pyarrow as pa
from migrate1to2 import convert_chunk, rawjson
from migrate1to2.arrow import convert_array
from migrate1to2._speedups import retain_freed_memory
""" + CHUNKS_PRELUDE + """arrays = [pa.array(chunk.rstrip(b"\\n").split(b"\\n"), pa.string()) for chunk in chunks]

def timed(run, items):
    begin = time.thread_time()
    for item in items:
        run(item, "2.0")
    return len(data) / (time.thread_time() - begin) / 1e6

arrow, chunked = [], []
for index in range(int(sys.argv[3])):
    if index % 2:
        arrow.append(timed(convert_array, arrays))
        chunked.append(timed(convert_chunk, chunks))
    else:
        chunked.append(timed(convert_chunk, chunks))
        arrow.append(timed(convert_array, arrays))
print(statistics.median(arrow), statistics.median(chunked), statistics.median(a / c for a, c in zip(arrow, chunked)))
"""


def arrow_row(corpus: str, main_file: Path, main_size: int, repeat: int) -> Row:
    """convert_array against convert_chunk on the same bytes (in process, one core)."""
    done = subprocess.run([sys.executable, "-c", ARROW_CODE, str(main_file), str(min(main_size, 64 << 20)),
                           str(max(10, repeat))], check=True, capture_output=True, text=True)
    arrow, chunked, ratio = (float(x) for x in done.stdout.split())
    mixed = corpus == "mixed"
    print(f"  {corpus}: convert_array {arrow:.0f} MB/s vs convert_chunk {chunked:.0f} MB/s", file=sys.stderr)
    return Row(f"{corpus}: in process, one core: convert_array (string rows) vs convert_chunk, same bytes",
               f"{arrow:.0f} MB/s", f"{chunked:.0f} MB/s", f"{ratio:.3f}x",
               ">= 0.9x" if mixed else "(0.9x on mixed)", ratio >= 0.9 if mixed else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=size, default=size("256M"),
                        help="size of the file compared with orjson and jq (default 256M)")
    parser.add_argument("--big", type=size, default=size("1G"),
                        help="size of the large file and of the tree, for --jobs and memory (default 1G)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", choices=["both", "clean", "mixed"], default="both",
                        help="which corpus to measure (default both; the targets are for mixed)")
    parser.add_argument("--audit-only", action="store_true", help="only the audit rows (--size sets the file)")
    parser.add_argument("--stores", action="store_true",
                        help="only the object-store rows: the mixed main file (--size) to and from a loopback S3 "
                             "server (moto) and Azurite, each beside the local-file run (bench/stores.py)")
    args = parser.parse_args(argv)
    DATA.mkdir(exist_ok=True)
    work = DATA / "out"
    fresh(work)
    tool = str(BIN / "migrate1to2")
    # As an installed package would have them (this matters where PYTHONDONTWRITEBYTECODE is set).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "migrate1to2")], check=True)
    if not shutil.which("jq") and not args.audit_only and not args.stores:
        parser.error("jq is needed for the comparison (apt-get install jq)")
    rows: list[Row] = []
    if args.stores:
        rows.extend(object_store_rows(args, tool, work))
        failed = table(rows)
        shutil.rmtree(work, ignore_errors=True)
        return 1 if failed else 0
    for corpus in (["clean", "mixed"] if args.corpus == "both" else [args.corpus]) if not args.audit_only else []:
        rows.extend(measure(corpus, args, tool, work))
    rows.extend(audit_rows(args, tool, work))
    failed = table(rows)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def chunk_rows(corpus: str, main_file: Path, main_size: int, repeat: int) -> list[Row]:
    """In process, one core: the compiled path on 1 MB chunks of the main file (and, on the mixed corpus, of
    an archive written by json.dumps, with no target)."""
    mixed = corpus == "mixed"
    rows: list[Row] = []
    done = subprocess.run([sys.executable, "-c", CHUNKS_CODE, str(main_file), str(min(main_size, 256 << 20)),
                           str(max(5, repeat))], check=True, capture_output=True, text=True)
    median, low, high = (float(x) for x in done.stdout.split())
    rows.append(Row(f"{corpus}: in process, one core: 1 MB chunks through convert_lines",
                    f"{median:.0f} MB/s", f"runs: {low:.0f}-{high:.0f} MB/s", "",
                    ">= 800 MB/s" if mixed else "(800 on mixed)", median >= 800 if mixed else None))
    print(f"  {corpus}: in process: {median:.0f} MB/s ({low:.0f}-{high:.0f})", file=sys.stderr)
    if mixed:  # the same, on an archive written by json.dumps (whitespace between the tokens), no target
        spaced = generate(DATA / "main-spaced.ndjson", min(main_size, 64 << 20), 1, "--mixed", "--spaced", "1")
        done = subprocess.run([sys.executable, "-c", CHUNKS_CODE, str(spaced), str(64 << 20), str(max(5, repeat))],
                              check=True, capture_output=True, text=True)
        median, low, high = (float(x) for x in done.stdout.split())
        rows.append(Row(f"{corpus}: the same, every record written by json.dumps ({spaced.stat().st_size >> 20} MB)",
                        f"{median:.0f} MB/s", f"runs: {low:.0f}-{high:.0f} MB/s", "", "(no target)", None))
        print(f"  {corpus}: in process, json.dumps records: {median:.0f} MB/s ({low:.0f}-{high:.0f})", file=sys.stderr)
    return rows


def measure(corpus: str, args: argparse.Namespace, tool: str, work: Path) -> list[Row]:
    """Every row on one corpus (targets only on the mixed one)."""
    main_size, big_size, repeat = args.size, args.big, args.repeat
    mixed = corpus == "mixed"
    mix = ["--mixed"] if mixed else []
    main_file = generate(DATA / f"main-{corpus}.ndjson", main_size, 1, *mix)
    main_gz = gzipped(main_file)
    tree = DATA / f"tree-{corpus}"
    tree.mkdir(exist_ok=True)
    for index in range(8):  # in the mixed tree, one file has CRLF line ends
        crlf = ["--crlf"] if mixed and index == 3 else []
        generate(tree / f"part-{index:02d}.ndjson", big_size // 8, 10 + index, *mix, *crlf)
    big = generate(DATA / f"big-{corpus}.ndjson", big_size, 3, *mix)
    big_mb = big.stat().st_size >> 20
    print(f"{corpus}: main {main_file.stat().st_size >> 20} MB (gzip: {main_gz.stat().st_size >> 20} MB), "
          f"tree 8 x {(big_size // 8) >> 20} MB, big {big_mb} MB; median of {repeat} runs", file=sys.stderr)

    def ours(source: Path, target: str, *options: str, flush: bool = False) -> list[str]:
        return [tool, "convert", str(source), "-o", target, "-q", "--rejects", str(work / "rejects.ndjson"),
                *options, *([] if flush else ["--no-fsync"])]

    rows: list[Row] = []

    def compare(name: str, mine: str | Sequence[str], theirs: str | Sequence[str], target: float | None) -> None:
        runs = timed_runs(mine, theirs, repeat)
        rows.append(compared_row(f"{corpus}: {name}", runs, target, mixed))

    out = str(work / "out.ndjson")
    jq = f"jq -c {JQ_SKIPPING}" if mixed else f"jq -c '{JQ_PROGRAM}'"
    orjson_loop = [sys.executable, "-c", ORJSON_LOOP, str(main_file), str(work / "orjson.ndjson")]
    compare("NDJSON, --jobs 1 vs orjson loads+dumps loop", ours(main_file, out, "-j", "1"), orjson_loop, 0.45)
    compare("NDJSON, --jobs 1 vs jq -c (same mapping)", ours(main_file, out, "-j", "1"),
            f"{jq} {main_file} > {work / 'jq.ndjson'}", 0.04)
    # The pipeline runs three processes at once; ours runs with its default --jobs (the CPUs).
    ours_gz = work / "out.ndjson.gz"
    compare("gzip in and out vs gzip -dc | jq -c | gzip", ours(main_gz, str(ours_gz)),
            f"gzip -dc {main_gz} | {jq} | gzip > {work / 'jq.ndjson.gz'}", 0.10)
    fresh(work)
    once(ours(main_gz, str(ours_gz)))
    written = ours_gz.stat().st_size
    with gzip.open(ours_gz, "rb") as stream:
        reference = len(gzip.compress(stream.read(), compresslevel=6))
    ratio = written / reference
    rows.append(Row(f"{corpus}: gzip output size vs gzip -6 of the same text", f"{written >> 20} MB",
                    f"{reference >> 20} MB", f"{ratio:.3f}x", "<= 1.1x" if mixed else "(1.1x on mixed)",
                    ratio <= 1.1 if mixed else None))
    compare("tree of 8 files, --jobs 2 vs --jobs 1", ours(tree, str(work / "tree"), "-j", "2"),
            ours(tree, str(work / "tree"), "-j", "1"), 0.58)
    compare("one large file, --jobs 2 vs --jobs 1", ours(big, out, "-j", "2"), ours(big, out, "-j", "1"), 0.58)
    # The default: every output flushed to disk before it is renamed into place.
    compare("flushed (default): NDJSON, --jobs 1 vs orjson loop", ours(main_file, out, "-j", "1", flush=True),
            orjson_loop, 0.45)
    compare("flushed (default): one large file, --jobs 2 vs --jobs 1", ours(big, out, "-j", "2", flush=True),
            ours(big, out, "-j", "1", flush=True), None)
    for jobs in ("1", "2"):
        megabytes = peak_rss_mb(ours(big, str(work / "big.ndjson"), "-j", jobs, flush=True))
        rows.append(Row(f"{corpus}: peak RSS, {big_mb} MB file, --jobs {jobs}", f"{megabytes:.0f} MB",
                        target="<= 100 MB" if mixed else "(100 MB on mixed)", met=megabytes <= 100 if mixed else None))
    # Gzip in and out with the default --jobs: the decompressing, converting and compressing threads at once.
    megabytes = peak_rss_mb(ours(main_gz, str(work / "out.ndjson.gz"), flush=True))
    text_mb = main_file.stat().st_size >> 20
    rows.append(Row(f"{corpus}: peak RSS, gzip in and out ({text_mb} MB of text), default --jobs",
                    f"{megabytes:.0f} MB", target="<= 100 MB" if mixed else "(100 MB on mixed)",
                    met=megabytes <= 100 if mixed else None))
    rows.extend(chunk_rows(corpus, main_file, main_size, repeat))
    done = subprocess.run([sys.executable, "-c", RECORD_CODE, str(main_file), str(max(3, repeat))], check=True,
                          capture_output=True, text=True)
    length, mine, theirs = (float(x) for x in done.stdout.split())
    rows.append(Row(f"{corpus}: upgrade_json on a {length:.0f}-byte record vs orjson loads + mapping + dumps",
                    f"{mine:.2f} µs", f"{theirs:.2f} µs", f"{mine / theirs:.3f}x",
                    "<= 0.5x" if mixed else "(0.5x on mixed)", mine / theirs <= 0.5 if mixed else None))
    print(f"  {corpus}: upgrade_json {mine:.2f} µs vs {theirs:.2f} µs", file=sys.stderr)
    rows.append(arrow_row(corpus, main_file, main_size, repeat))
    return rows


def object_store_rows(args: argparse.Namespace, tool: str, work: Path) -> list[Row]:
    """Throughput to and from object stores on loopback, as a ratio to the same job on local files in the
    same run (shown, no target)."""
    sys.path.insert(0, str(HERE.parent))
    from bench.stores import store_rows

    main_file = generate(DATA / "main-mixed.ndjson", args.size, 1, "--mixed")
    megabytes = main_file.stat().st_size >> 20
    measured = store_rows(main_file, tool, work, args.repeat)
    rows, local = [], measured[0][2]
    for name, seconds, rate in measured:
        if name.endswith("(its local run)"):  # the local run alternated with the store row that follows
            local = rate
            continue
        copy = "no conversion" in name
        baseline = measured[0][2] if copy else local
        shown = name if copy else f"convert {name}"
        ratio = f"{rate / baseline:.3f}x" if name != "local -> local" else ""
        rows.append(Row(f"mixed {megabytes} MB: {shown}", f"{rate:.0f} MB/s ({seconds:.2f} s)",
                        f"{baseline:.0f} MB/s local -> local" if ratio else "", ratio, "(shown)"))
    return rows


if __name__ == "__main__":
    sys.exit(main())
