"""Benchmark: generate the SYNTHETIC demo survey at ingestion-benchmark scale (~300,000 households, ~1 M persons).

Each run is a fresh subprocess (``--once``) so that peak RSS is per run; the parent prints wall time, peak RSS,
households and persons per run and the median. CSV only (the XLSX writer is not meant for this scale).

    .venv/bin/python bench/bench_generate.py --runs 3 --households 300000
    .venv/bin/python bench/bench_generate.py --keep DIR     # also leave the export in DIR for bench_ingest
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def once(out: Path, households: int, seed: int) -> None:
    sys.path.insert(0, str(ROOT))
    from analysis.survey.generate import GenerateOptions, generate

    t0 = time.perf_counter()
    truth = generate(GenerateOptions(out=out, seed=seed, households=households, format="csv"))
    elapsed = time.perf_counter() - t0
    print(json.dumps({"seconds": elapsed, "households": truth["design"]["households_sampled"],
                      "persons": truth["persons_sampled"]}))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--households", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--keep", default=None, help="write the export here (else a temporary directory)")
    ap.add_argument("--once", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.once:
        once(Path(args.once), args.households, args.seed)
        return 0
    rows = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(args.keep) if args.keep else Path(tmp) / "export"
            cmd = [sys.executable, __file__, "--once", str(out), "--households", str(args.households), "--seed", str(args.seed)]
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            result = json.loads(proc.stdout.read().strip().splitlines()[-1])
            size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
            rows.append({"wall_s": wall, "generate_s": result["seconds"], "peak_rss_mb": usage.ru_maxrss / 1024,
                         "households": result["households"], "persons": result["persons"], "size_mb": size})
            print(f"run {i + 1}: {rows[-1]}", flush=True)
    wall, gen = statistics.median(r["wall_s"] for r in rows), statistics.median(r["generate_s"] for r in rows)
    print(f"median wall {wall:.1f} s, median generate {gen:.1f} s, max peak RSS {max(r['peak_rss_mb'] for r in rows):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
