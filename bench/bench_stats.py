"""Benchmark: the direct-estimates stage and the design-based estimator (issue 4).

Three measurements, each step timed ``--runs`` times in one process (median reported):

1. **demo survey**: the project's generated demo survey (``analysis.survey.generate`` with its default options,
   ingested by ``analysis.survey.ingest`` exactly like an upload), then ``analysis.stats.estimates`` on it
   (every indicator x city, kota, kelurahan and four population groups). Target: <= 20 s.
2. **1,000,000 persons**: the seeded simulated two-stage sample of ``tests/stats/simulated_survey.py``
   (SYNTHETIC) scaled to 6 kota x 45 kelurahan x 12 RW x 88 households (~285,000 households, ~1,000,000
   persons); the same stage. Target: <= 60 s and 4 GB (peak RSS of the process, ``ru_maxrss``).
3. **against samplics**: on the same 1,000,000-person data, the proportion of persons using the internet by
   income quintile (strata, PSUs, weights) with ``SurveyDesign.prop`` and with samplics' ``TaylorEstimator``;
   estimates and SEs are checked equal and the speed ratio is reported.

    .venv/bin/python bench/bench_stats.py [--runs 3] [--hh-per-rw 88] [--skip-demo]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "stats"))


def timed(fn, runs):
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def demo_survey():
    from analysis.etl.registers import load_register
    from analysis.survey import ingest
    from analysis.survey.generate import GenerateOptions, generate

    out = Path(tempfile.mkdtemp(prefix="bench_stats_demo_"))
    generate(GenerateOptions(out=out, format="csv"))
    files = [p for p in out.iterdir() if p.suffix == ".csv" and p.name not in ("design.csv", "truth_kelurahan.csv")]
    result = ingest.ingest_export(files, register=load_register(), design=out / "design.csv", synthetic=True)
    return result.households, result.persons


def stage(households, persons):
    from analysis.stats import estimates

    table = estimates.estimates_table(households, persons, ["demo_survey"])
    table.check()
    return table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hh-per-rw", type=int, default=88)
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore", FutureWarning)

    import numpy as np
    from simulated_survey import make_survey

    from analysis.stats.design import SurveyDesign

    print(f"runs per step: {args.runs}")
    if not args.skip_demo:
        t = time.perf_counter()
        hh, pp = demo_survey()
        print(f"demo survey generated + ingested in {time.perf_counter() - t:.1f} s: {len(hh):,} households, {len(pp):,} persons")
        med, times, table = timed(lambda: stage(hh, pp), args.runs)
        print(f"[demo] estimates stage: median {med:.2f} s  runs {[round(x, 2) for x in times]}  rows {len(table.data):,} "
              f"(suppressed {(table.data['reliability'] == 'suppressed').sum():,})")

    t = time.perf_counter()
    hh, pp = make_survey(kel_per_kota=45, rw_per_kel=12, hh_per_rw=args.hh_per_rw, rw_pop_per_kel=30, seed=2025)
    print(f"1M survey simulated in {time.perf_counter() - t:.1f} s: {len(hh):,} households, {len(pp):,} persons, "
          f"{hh['psu'].nunique():,} PSUs, {hh['kode_kemendagri'].nunique()} kelurahan")
    med, times, table = timed(lambda: stage(hh, pp), args.runs)
    print(f"[1M] estimates stage: median {med:.2f} s  runs {[round(x, 2) for x in times]}  rows {len(table.data):,}")
    print(f"[1M] peak RSS so far: {peak_rss_mb():,.0f} MB")

    # -- the estimator against samplics on the same data --
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

    y = pp["uses_internet"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    keep = ~np.isnan(y)  # samplics drops missing values; give both the same rows so results are comparable
    sub = pp.loc[keep, ["weight", "stratum", "psu", "income_quintile"]].assign(y=y[keep], q=lambda d: d["income_quintile"].astype(int))

    def ours():
        d = SurveyDesign(sub, "weight", strata="stratum", psu="psu")
        return d.prop("y", by="q", suppress=False)

    def theirs():
        est = TaylorEstimator(PopParam.mean)
        est.estimate(y=sub["y"].to_numpy(), samp_weight=sub["weight"].to_numpy(), stratum=sub["stratum"].to_numpy(),
                     psu=sub["psu"].to_numpy(), domain=sub["q"].to_numpy(), remove_nan=False)
        return est

    med_ours, t_ours, r_ours = timed(ours, args.runs)
    med_theirs, t_theirs, r_theirs = timed(theirs, max(1, min(args.runs, 2)))
    max_diff = max(abs(row["se"] - r_theirs.stderror[row["q"]]) / row["se"] for _, row in r_ours.iterrows())
    print(f"[ratio] prop by income quintile on {len(sub):,} persons: SurveyDesign median {med_ours:.3f} s {[round(x, 3) for x in t_ours]}, "
          f"samplics TaylorEstimator median {med_theirs:.3f} s {[round(x, 3) for x in t_theirs]}; "
          f"samplics / ours = {med_theirs / med_ours:.1f}x; max relative SE difference {max_diff:.1e}")
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
