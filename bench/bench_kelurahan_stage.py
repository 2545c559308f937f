"""Measurement: city and kota SEs of the SYNTHETIC demo survey with the RW as PSU (before) and with the kelurahan
as first-stage unit, RW as second stage and the certainty kelurahan as certainty units (after;
``analysis.stats.estimates.survey_design``). Kelurahan rows must be identical in both.

    .venv/bin/python -m analysis build --fetch        # once: fills data/raw
    .venv/bin/python bench/bench_kelurahan_stage.py [--seed 20250101]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from analysis.stats import coverage
    from analysis.stats import estimates as est
    from analysis.survey.stage import DEMO_SEED

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--raw", type=Path, default=ROOT / "data" / "raw")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = coverage.load_inputs(args.raw, Path(tmp))
    rep = coverage.replicate(inputs, args.seed)
    hh, pp = rep.households, rep.persons
    assert est.has_kelurahan_stage(hh), "the survey tables do not carry the kelurahan stage"
    after = est.compute(hh, pp, suppress=False)
    cols = list(est.KELURAHAN_STAGE_COLUMNS)
    before = est.compute(hh.drop(columns=cols), pp.drop(columns=cols), suppress=False)
    key = ["indicator_id", "level", "area_code", "domain_var", "domain_value"]
    m = before.merge(after, on=key, suffixes=("_rw", "_kel"))
    same = m[m["level"] == "kelurahan"]
    print("certainty kelurahan:", sorted(hh.loc[hh["certainty_kelurahan"].astype(bool), "kode_kemendagri"].unique()))
    print("kelurahan rows identical:", bool(((same["se_rw"] == same["se_kel"]) | (same["se_rw"].isna() & same["se_kel"].isna())).all()))
    m = m[m["level"].isin(["city", "kota"]) & m["domain_var"].isna()].assign(se_ratio=lambda d: d["se_kel"] / d["se_rw"])
    pd.set_option("display.width", 200)
    print(m.groupby("area_code").agg(median_se_ratio=("se_ratio", "median"), min_ratio=("se_ratio", "min"), max_ratio=("se_ratio", "max"),
                                     df_rw=("df_rw", "median"), df_kel=("df_kel", "median")).round(3).to_string())
    show = m[m["indicator_id"].isin(["hh_internet", "person_internet"])]
    print(show[["indicator_id", "area_code", "estimate_rw", "se_rw", "se_kel", "se_ratio", "df_rw", "df_kel"]].round(4).to_string(index=False))


if __name__ == "__main__":
    main()
