"""Spark local[2] against the command line (``--jobs 2``) on the same mixed tree, start-up apart.

    python bench/spark.py                      # a tree of 8 mixed files, 256 MB in all
    python bench/spark.py --size 1G --repeat 3 # larger
    python bench/spark.py --gzip               # the same tree, gzip-compressed files

Rows (median of ``--repeat`` runs, each on fresh outputs):

- the command line, ``convert TREE -o OUT --rejects R --jobs 2`` (a subprocess, its start-up included:
  about 0.1 s);
- files mode, ``migrate1to2.spark.convert_files`` on ``local[2]``, timed from a session already up
  with its Python workers started (one warm-up job), to the last output in place;
- DataFrame mode, ``read_lines`` + ``convert_column`` counted by status (nothing written), same session.

Throughput per core is the tree's size over the time over 2 (both use two cores). The machine is
noisy: compare the ratio within one run. Spark and Java 17 are needed (``pip install -e '.[test]'``).
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
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.run import DATA, generate, size  # noqa: E402


def tree(total: int, compressed: bool) -> Path:
    root = DATA / f"spark-tree-{total >> 20}M{'-gz' if compressed else ''}"
    root.mkdir(parents=True, exist_ok=True)
    for index in range(8):  # as bench/run.py's tree: one file with CRLF line ends
        crlf = ("--crlf",) if index == 3 else ()
        plain = generate(DATA / f"spark-part-{total >> 20}M-{index:02d}.ndjson", total // 8, 10 + index, "--mixed",
                         *crlf)
        target = root / (plain.name + (".gz" if compressed else ""))
        if not target.exists() or target.stat().st_mtime < plain.stat().st_mtime:
            if compressed:
                with plain.open("rb") as source, gzip.open(target, "wb", compresslevel=6) as out:
                    shutil.copyfileobj(source, out, 1 << 20)
            else:
                shutil.copy(plain, target)
    return root


def timed(run: Callable[[], object], repeat: int, work: Path) -> float:
    times = []
    for _ in range(repeat):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        os.sync()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=size, default=size("256M"), help="the tree's size (default 256M)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gzip", action="store_true", help="gzip-compressed inputs (and outputs)")
    args = parser.parse_args()
    source = tree(args.size, args.gzip)
    megabytes = sum(path.stat().st_size for path in source.iterdir()) / (1 << 20)
    parts = DATA.glob(f"spark-part-{args.size >> 20}M-*.ndjson")
    raw = sum(generated.stat().st_size for generated in parts) / (1 << 20)
    work = DATA.parent / ".work" / "spark"

    def cli() -> None:
        subprocess.run([sys.executable, "-m", "migrate1to2", "convert", str(source), "-o", str(work / "out"),
                        "--rejects", str(work / "rejects.ndjson"), "--jobs", "2", "--quiet"], check=False)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from migrate1to2.spark import convert_column, convert_files, read_lines

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.parallelize(range(2), 2).map(lambda x: x).collect()  # the Python workers started

    def files() -> None:
        convert_files(spark, str(source), str(work / "out"), rejects=str(work / "rejects.ndjson"),
                      warn=lambda _: None)

    def frames() -> None:
        convert_column(read_lines(spark, str(source)), "value").groupBy("status").count().collect()

    rows = [("command line, --jobs 2", timed(cli, args.repeat, work)),
            ("Spark files mode, local[2]", timed(files, args.repeat, work)),
            ("Spark DataFrame mode, local[2] (read_lines + convert_column, counted)", timed(frames, args.repeat, work))]
    spark.stop()
    kind = "gzip" if args.gzip else "plain"
    print(f"tree of 8 mixed {kind} files, {megabytes:.0f} MB ({raw:.0f} MB of NDJSON); median of {args.repeat}; "
          f"load {os.getloadavg()[0]:.1f}")
    print("| run | time | MB/s (NDJSON) | per core | vs command line |")
    print("| --- | ---: | ---: | ---: | ---: |")
    base = rows[0][1]
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} s | {raw / seconds:.0f} | {raw / seconds / 2:.0f} | {seconds / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
