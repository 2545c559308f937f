"""Measurement: the effect of raking the SYNTHETIC demo survey's person weights to the Dukcapil 2019 register's
kota x sex and kota x age-band totals (``analysis.stats.estimates.rake_persons``).

1. ``built``: city and kota estimates and SEs of the person indicators with design weights and with raked
   weights, on the built tables (``data/processed``), and the SE ratio over kelurahan and domain rows;
2. ``city``: over several seeded demo surveys at the demo's size, the city estimates' error against the
   generator's city truth, mean SE and coverage, with and without raking;
3. ``coverage``: the coverage harness (``analysis.stats.coverage``, the test's small surveys) on person
   indicators with the estimates computed with and without raking.

    .venv/bin/python -m analysis build --fetch        # once: fills data/raw and data/processed
    .venv/bin/python bench/bench_calibration.py built
    .venv/bin/python bench/bench_calibration.py city --seeds 101 102 103 104 105 106
    .venv/bin/python bench/bench_calibration.py coverage --seeds 101 102 103 104
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERSON_IDS = ("person_internet", "person_smartphone", "person_digital_skill")
TRUTH_NAMES = {"person_internet": "uses_internet", "person_smartphone": "owns_smartphone", "person_digital_skill": "digital_skill_basic"}


def built(processed: Path) -> None:
    import pandas as pd

    from analysis.stats import estimates as est

    hh, pe = pd.read_parquet(processed / "survey_households.parquet"), pd.read_parquet(processed / "survey_persons.parquet")
    margins = est.dukcapil_margins(pd.read_parquet(processed / "kelurahan_covariates.parquet"))
    key = ["indicator_id", "level", "area_code", "domain_var", "domain_value"]
    a = est.compute(hh, pe, suppress=False, indicator_ids=set(PERSON_IDS))
    b = est.compute(hh, pe, suppress=False, indicator_ids=set(PERSON_IDS), margins=margins)
    j = a.merge(b, on=key, suffixes=("_design", "_raked"))
    j["se_ratio"] = j["se_raked"] / j["se_design"]
    cols = ["indicator_id", "level", "area_code", "estimate_design", "estimate_raked", "se_design", "se_raked", "se_ratio"]
    print(j[j["level"].isin(["city", "kota"])][cols].round(4).to_string(index=False))
    truth = pd.read_parquet(processed / "survey_truth.parquet").query("kind == 'city_rate'").set_index("indicator")["value"]
    print("city truth (generator, SYNTHETIC):", {k: round(float(truth[v]), 4) for k, v in TRUTH_NAMES.items()})
    for level in ("kelurahan", "domain"):
        s = j[j["level"] == level]["se_ratio"].dropna()
        print(f"{level}: SE ratio raked/design median {s.median():.3f}, IQR {s.quantile(0.25):.3f}-{s.quantile(0.75):.3f}")


def city(raw: Path, seeds) -> None:
    import pandas as pd

    from analysis.stats import coverage
    from analysis.stats import estimates as est

    inputs = coverage.load_inputs(raw, Path(tempfile.mkdtemp()))
    margins = est.dukcapil_margins(inputs.covariates)
    rows = []
    for seed in seeds:
        rep = coverage.replicate(inputs, seed, households=4000, kelurahan=80)
        truth = coverage.truth_weighted_rate(rep, coverage.kelurahan_truth(rep), pd.Series("31", index=rep.pi_kelurahan.index))
        for label, m in (("design", None), ("raked", margins)):
            e = est.compute(rep.households, rep.persons, suppress=False, indicator_ids=set(PERSON_IDS), margins=m)
            for _, r in e[e["level"] == "city"].iterrows():
                t = truth[(r["indicator_id"], "31")]
                rows.append({"weights": label, "indicator": r["indicator_id"], "error_pp": 100 * (r["estimate"] - t),
                             "se_pp": 100 * r["se"], "covered": r["ci_low"] <= t <= r["ci_high"]})
    d = pd.DataFrame(rows)
    print(d.groupby(["indicator", "weights"]).agg(mean_error_pp=("error_pp", "mean"), mean_se_pp=("se_pp", "mean"), covered=("covered", "mean")).round(3).to_string())


def coverage_effect(raw: Path, seeds) -> None:
    import pandas as pd

    from analysis.stats import coverage
    from analysis.stats import estimates as est

    inputs = coverage.load_inputs(raw, Path(tempfile.mkdtemp()))
    margins = est.dukcapil_margins(inputs.covariates)
    reps = [coverage.replicate(inputs, s, households=1500, kelurahan=30) for s in seeds]
    plain = est.compute
    out = {}
    try:
        for label, fn in (("design weights", plain), ("raked to Dukcapil", functools.partial(plain, margins=margins))):
            coverage.est_mod.compute = fn
            rows = pd.concat([coverage.replicate_coverage(r, inputs.covariates) for r in reps], ignore_index=True)
            person = rows[rows["indicator_id"].isin(PERSON_IDS)]
            out[label] = coverage.summarise(person).set_index("type")[["intervals", "coverage", "mc_se"]]
    finally:
        coverage.est_mod.compute = plain
    print(pd.concat(out, axis=1).round(4).to_string())


def main() -> None:
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("built", "city", "coverage"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104])
    parser.add_argument("--raw", type=Path, default=ROOT / "data" / "raw")
    parser.add_argument("--processed", type=Path, default=ROOT / "data" / "processed")
    args = parser.parse_args()
    if args.what == "built":
        built(args.processed)
    elif args.what == "city":
        city(args.raw, args.seeds)
    else:
        coverage_effect(args.raw, args.seeds)


if __name__ == "__main__":
    main()
