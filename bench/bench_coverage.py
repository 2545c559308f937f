"""Benchmark: coverage of every published interval type against the SYNTHETIC demo survey's known truth
(issue 12), over many seeds of the demo generator at the build's size (4,000 households, 80 PPS kelurahan).

The harness is ``analysis.stats.coverage`` (the fast CI form is ``tests/stats/test_coverage.py``). For each seed
the demo survey is generated and ingested as the build does, and every interval compared with the truth:
kelurahan direct estimates, gaps vs kota and vs city, small-area intervals of sampled kelurahan, of held-out
kelurahan (synthetic), the modelled gaps of the held-out ones, and the internet-use model's odds ratios and
AMEs (published method, and the method before issue 12 on the same replicates: R svyglm's design df for every
term, Kepulauan Seribu as kota reference). Prints a Markdown table with coverage, its cluster-robust Monte Carlo
SE (clusters = seed x kelurahan; seed x term for the models) and the mean interval width.

    .venv/bin/python bench/bench_coverage.py [--seeds 20] [--first 1] [--households 4000] [--kelurahan 80]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BEFORE_SUFFIX = " (svyglm df, first kota)"


def main(argv=None) -> int:
    from analysis import config, sources
    from analysis.stats import coverage

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--first", type=int, default=1)
    p.add_argument("--households", type=int, default=4000)
    p.add_argument("--kelurahan", type=int, default=80)
    p.add_argument("--out", type=Path, help="also write the per-interval rows (parquet)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_coverage_") as tmp:
        raw = Path(tmp) / "raw"
        sources.fetch(sources.load_manifest(), raw=raw, mirror=config.mirror_dir(), allow_network=False, roles=("build",))
        inputs = coverage.load_inputs(raw, Path(tmp) / "processed")
    rows = []
    import pandas as pd

    from analysis.stats import logit

    for seed in range(args.first, args.first + args.seeds):
        t = time.perf_counter()
        rep = coverage.replicate(inputs, seed, args.households, args.kelurahan)
        rows.append(coverage.replicate_coverage(rep, inputs.covariates))
        # the model intervals before issue 12 on the same replicates: R svyglm's df, Kepulauan Seribu as kota reference
        for before in coverage.model_coverage(rep, logit.PLAIN, coverage.FIRST_KOTA):
            rows.append(before.assign(type=before["type"] + BEFORE_SUFFIX))
        print(f"seed {seed}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    cov = pd.concat(rows, ignore_index=True)
    if args.out:
        cov.to_parquet(args.out)
    summary = coverage.summarise(cov)
    print(f"seeds {args.first}-{args.first + args.seeds - 1}, {args.households} households, {args.kelurahan} PPS kelurahan; "
          f"{time.perf_counter() - t0:.0f} s\n")
    print("| interval | intervals | clusters | coverage | MC SE | mean width |")
    print("|---|---|---|---|---|---|")
    for r in summary.itertuples():
        print(f"| {r.type} | {r.intervals} | {r.clusters} | {100 * r.coverage:.1f}% | {100 * r.mc_se:.1f} | {r.mean_width:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
