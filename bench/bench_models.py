"""Benchmark: access models, gaps, inequality and small-area estimates on a ~1,000,000-person survey.

The survey is the seeded simulated two-stage sample of ``tests/stats/simulated_survey.py`` (SYNTHETIC),
scaled up: 6 kota x 45 kelurahan x 12 RW x 88 households (~285,000 households, ~1,000,000 persons). The
data are generated once; each step is then timed ``--runs`` times in the same process (median reported) and
the peak resident memory of the process is read at the end. CPU time of the process and the load average
are printed too: on a machine shared with other jobs, wall time mostly measures the others.

    .venv/bin/python bench/bench_models.py [--runs 3] [--hh-per-rw 88]

Target (issue 4): the whole statistics stage on 1,000,000 persons within 60 s and 4 GB; the models alone
"well under a minute".
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "stats"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hh-per-rw", type=int, default=88)
    args = ap.parse_args()

    import numpy as np
    import pandas as pd
    from simulated_survey import make_survey

    from analysis.stats import estimates, gaps, inequality, models, sae

    t0 = time.perf_counter()
    households, persons = make_survey(kel_per_kota=45, rw_per_kel=12, hh_per_rw=args.hh_per_rw, rw_pop_per_kel=30, seed=3)
    gen = time.perf_counter() - t0
    print(f"generated {len(households):,} households, {len(persons):,} persons in {gen:.1f} s")

    rng = np.random.default_rng(0)
    codes = households["kode_kemendagri"].unique()
    cov = pd.DataFrame({
        "kode_kemendagri": codes,
        "population": rng.integers(10_000, 60_000, len(codes)),
        "households": rng.integers(3_000, 18_000, len(codes)),
        "density": rng.uniform(2_000, 40_000, len(codes)),
        "share_adult_no_diploma": rng.uniform(0.02, 0.2, len(codes)),
        "share_adult_tertiary": rng.uniform(0.05, 0.4, len(codes)),
        "share_60plus": rng.uniform(0.05, 0.12, len(codes)),
        "share_0_14": rng.uniform(0.2, 0.3, len(codes)),
    })
    direct = estimates.compute(households, persons, suppress=False, indicator_ids=sae.SAE_INDICATORS)
    published = estimates.compute(households, persons, suppress=True)

    steps = {
        "models: 3 models x (main + interaction), all reports": lambda: models.run_models(households, persons),
        "gaps: every indicator x kelurahan vs kota and city": lambda: gaps.compute(households, persons, published),
        "inequality: concentration index + decomposition": lambda: (inequality.concentration_table(households, persons),
                                                                     inequality.decomposition_table(persons, published)),
        "sae: 8 indicators x all kelurahan (from direct estimates)": lambda: sae.compute(direct, cov, published),
    }
    results = {}
    for name, fn in steps.items():
        times, cpu = [], []
        for _ in range(args.runs):
            t, c = time.perf_counter(), time.process_time()
            fn()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        results[name] = statistics.median(times)
        print(f"{name}: median {results[name]:.2f} s wall, {statistics.median(cpu):.2f} s CPU of {args.runs} "
              f"({', '.join(f'{x:.2f}' for x in times)}); load average {os.getloadavg()[0]:.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total of medians: {sum(results.values()):.2f} s; peak RSS {peak:.0f} MB (includes the generated data)")


if __name__ == "__main__":
    main()
