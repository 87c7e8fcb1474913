"""Speed of ``migrate1to2 audit`` on source code: the parser reading against the regular-expression one.

    python bench/audit_code.py             # 6,400 files (writes bench/data/audit-tree/)
    python bench/audit_code.py --copies 20 # a smaller tree

The tree is the audit fixtures (code in ten languages, generated web containers, build and
configuration files, payloads) copied until it holds about 6,400 files, a size real projects
reach. Both readings run as subprocesses over the same tree, ``--repeat`` times each,
alternating; the medians and their ratio are printed. The target: the parser reading (the
default where ``ast-grep-py`` is installed) takes at most 2x the regular-expression reading
(``MIGRATE1TO2_AUDIT_PARSER=regex``). Exit code 0 when it is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "audit"
TREE = HERE / "data" / "audit-tree"
TARGET = 2.0


def build(copies: int) -> int:
    """Copy the fixtures ``copies`` times into :data:`TREE`; the number of files."""
    if TREE.exists():
        shutil.rmtree(TREE)
    for index in range(copies):
        shutil.copytree(FIXTURES, TREE / f"project{index:03d}")
    return sum(len(files) for _, _, files in os.walk(TREE))


def once(parser: bool) -> float:
    env = dict(os.environ, MIGRATE1TO2_AUDIT_PARSER="parser" if parser else "regex")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "migrate1to2", "audit", str(TREE), "--format", "json"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"audit failed with exit code {done.returncode}")
    return elapsed


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--copies", type=int, default=51, help="copies of the fixtures (51: about 6,400 files)")
    options.add_argument("--repeat", type=int, default=5)
    arguments = options.parse_args()
    files = build(arguments.copies)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(arguments.repeat):
        for parser in (False, True):
            times[parser].append(once(parser))
    regex, parsed = statistics.median(times[False]), statistics.median(times[True])
    ratio = parsed / regex
    print(f"| reading | {files} files, median of {arguments.repeat} |\n| --- | ---: |\n"
          f"| regular expressions | {regex:.2f} s |\n| parser (ast-grep-py) | {parsed:.2f} s ({ratio:.2f}x) |")
    met = ratio <= TARGET
    print(f"target: parser at most {TARGET:.0f}x the regular expressions: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
