"""Benchmark: coverage of every published interval type against the SYNTHETIC demo survey's known truth
(issue 12), over many seeds of the demo generator at the build's size (4,000 households, 80 PPS kelurahan).

The harness is ``analysis.stats.coverage`` (the fast CI form is ``tests/stats/test_coverage.py``). For each seed
the demo survey is generated and ingested as the build does, the synthetic population of the whole frame (all 267
kelurahan) is completed (``coverage.whole_population``), and every interval compared with the truth, from
the build's published pipeline (person weights raked, here to the synthetic population's own kota x sex and
kota x age-band totals: ``coverage.synthetic_margins``) and again from the design weights (``(not raked)``);
the city, kota and gap rows also against the truth given the sampled kelurahan (``coverage.CONDITIONAL_TRUTH``,
raked to that truth's totals: ``(truth given the sampled kelurahan)``):
kelurahan direct estimates, city and kota direct estimates (kelurahan-stage design, and the RW-as-PSU design it
replaced), gaps vs kota and vs city (and with the other reference variance, ``gaps.REFERENCE_VARIANCES``), small-area intervals of sampled kelurahan, of held-out
kelurahan (synthetic), the modelled gaps of the held-out ones, the small-area intervals and modelled gaps of the
frame's unsampled kelurahan (``sae_unsampled_frame``, ``gap_modelled_frame``), and the internet-use model's odds ratios and
AMEs (published method, and the method before issue 12 on the same replicates: R svyglm's design df for every
term, Kepulauan Seribu as kota reference). Prints a Markdown table with coverage, its cluster-robust Monte Carlo
SE (clusters = seed x kelurahan; seed x term for the models) and the mean interval width.

    .venv/bin/python bench/bench_coverage.py [--seeds 20] [--first 1] [--households 4000] [--kelurahan 80] [--no-unraked]
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
    p.add_argument("--no-unraked", action="store_true", help="skip the design-weight (not raked) pass")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_coverage_") as tmp:
        raw = Path(tmp) / "raw"
        sources.fetch(sources.load_manifest(), raw=raw, mirror=config.mirror_dir(), allow_network=False, roles=("build",))
        inputs = coverage.load_inputs(raw, Path(tmp) / "processed")
    rows = []
    import pandas as pd

    from analysis.stats import estimates, logit

    for seed in range(args.first, args.first + args.seeds):
        t = time.perf_counter()
        rep = coverage.replicate(inputs, seed, args.households, args.kelurahan)
        # the build's published pipeline (raked to the synthetic population's own totals), with the city/kota
        # rows under the RW-as-PSU design and the gaps with the other reference variance on the same replicate
        rows.append(coverage.replicate_coverage(rep, inputs.covariates, variants=True))
        # the city, kota and gap rows against the truth given the sampled kelurahan (the harness's truth before)
        rows.append(coverage.replicate_coverage(rep, None, variants=True, truth=coverage.CONDITIONAL_TRUTH, models=False))
        if not args.no_unraked:  # the same intervals from the design weights
            rows.append(coverage.replicate_coverage(rep, inputs.covariates, rake=False))
        # the model intervals before issue 12 on the same replicates: R svyglm's df, Kepulauan Seribu as kota reference
        raked = estimates.calibrated_persons(rep.persons, rep.margins)
        for before in coverage.model_coverage(rep, logit.PLAIN, coverage.FIRST_KOTA, persons=raked):
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
