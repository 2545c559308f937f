"""Benchmark: full ``fetch`` + ``build`` on the offline mirror.

Each run is a fresh subprocess with an empty data directory (``DIGIDIV_DATA``), so nothing is cached between
runs. Reports the median wall time of N runs and the peak resident memory of the child process.

    .venv/bin/python bench/bench_build.py [--runs 5]

``--stages etl`` times the public-source ETL only (registers, boundaries, covariates, BPS tables, published
figures): issue 2's target of at most 15 s and 1 GB on a 2-core machine. ``--stages all`` (default) adds the
synthetic demo survey (generate + ingest) and every statistics stage.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import resource, sys, time
from analysis import sources
from analysis.build import STAGES, run_build
stages = STAGES if sys.argv[1] == "all" else [s for s in STAGES if s.startswith("analysis.etl.")]
t0 = time.perf_counter()
sources.fetch(allow_network=False)
run_build(stages=stages)
elapsed = time.perf_counter() - t0
print(f"{elapsed:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"""


def one_run(stages: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DIGIDIV_DATA=tmp, DIGIDIV_OFFLINE="1")
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, stages], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
        _, maxrss_kb = out.stdout.split()
        return wall, int(maxrss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stages", choices=["all", "etl"], default="all")
    args = parser.parse_args()
    walls, mems = [], []
    for i in range(args.runs):
        wall, mem = one_run(args.stages)
        walls.append(wall)
        mems.append(mem)
        print(f"run {i + 1}: {wall:.2f} s (process start to exit), peak RSS {mem:.0f} MB", flush=True)
    print(f"stages={args.stages}: median {statistics.median(walls):.2f} s, max peak RSS {max(mems):.0f} MB over {args.runs} runs")


if __name__ == "__main__":
    main()
