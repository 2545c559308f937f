"""Benchmark: the table reader and the BPS / covariates / published stages on the offline mirror.

Each run is a fresh subprocess (nothing cached between runs) that:
1. places the four BPS sources and the Dukcapil shapefile from the mirror in a temporary ``raw`` directory;
2. times ``bps.build``, ``covariates.build`` (without a register) and ``published.build``;
3. times ``read_table`` on a generated 100,000-row messy household export (cp1252, ``;`` delimiter, decimal
   commas, dotted thousands, ``-`` markers, zero-padded RW codes): the size of a large survey upload, the
   reader's other user.

Reports the median of N runs of each step and the peak resident memory of the child process.

    .venv/bin/python bench/bench_etl_tables.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, tempfile, time
from pathlib import Path
import numpy as np
from analysis import config, sources
from analysis.build import BuildContext
from analysis.etl import bps, covariates, published
from analysis.etl.readers import read_table

manifest = sources.load_manifest()
wanted = ["bps_internet_households_2022", "bps_ict_skills_2015_2021", "bps_internet_media_2015_2021",
          "dki_expenditure_kota_2023_2024", "dukcapil_2019"]
out = {}
with tempfile.TemporaryDirectory() as tmp:
    raw = Path(tmp) / "raw"
    sources.fetch({k: manifest[k] for k in wanted}, raw=raw, mirror=config.mirror_dir(), allow_network=False)
    ctx = BuildContext(raw=raw, processed=Path(tmp) / "p", manifest=manifest)
    for name, module in (("bps.build", bps), ("covariates.build", covariates), ("published.build", published)):
        t0 = time.perf_counter()
        tables = module.build(ctx)
        out[name] = time.perf_counter() - t0
        assert tables and tables[0].rows_out > 0
    rng = np.random.default_rng(0)
    lines = ["hh_id;kelurahan;rw;jumlah_art;pengeluaran;skor;catatan"]
    for i in range(100_000):
        lines.append(f"HH{i:06d};Kebon Jéruk;{rng.integers(1, 20):03d};{rng.integers(1, 9)};"
                     f"{rng.integers(1, 999)}.{rng.integers(100, 999)}.000;{rng.random() * 100:.2f}".replace(".", ",", 0)
                     + (";-" if i % 3 else ";catatan"))
    payload = "\n".join(lines).encode("cp1252")
    t0 = time.perf_counter()
    df = read_table(payload)
    out["read_table 100k rows x 7"] = time.perf_counter() - t0
    assert len(df) == 100_000 and df["pengeluaran"].dtype.kind == "f"
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    runs = []
    for _ in range(args.runs):
        res = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True,
                             env=dict(os.environ, DIGIDIV_OFFLINE="1"), check=True)
        runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(f"{args.runs} runs, median (min-max):")
    for key in runs[0]:
        values = [r[key] for r in runs]
        unit = "MB" if key.endswith("_mb") else "s"
        print(f"  {key:28s} {statistics.median(values):8.3f} {unit}  ({min(values):.3f}-{max(values):.3f})")


if __name__ == "__main__":
    main()
