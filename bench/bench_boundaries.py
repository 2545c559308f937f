"""Benchmark: the 7,509-desa layer (Jawa Barat + Banten) read, checked, simplified for the web and written.

Each run is a fresh subprocess (cold imports included) that reads ``scale/jabar_banten_desa.geojson`` from
the offline mirror with ``read_layer`` (column mapping ``kode_kemendagri``, ``nama`` -> ``name``, all checks),
simplifies it with ``simplify_for_web`` (snap-rounding coverage rebuild + coverage simplification, 5
decimals) and writes ``to_geojson_bytes`` atomically to a temporary directory. Reports per-step wall time,
the child's CPU time (user + system: the machine is shared, so wall time depends on the load) and peak RSS
(``ru_maxrss``), with the median over N runs.

    .venv/bin/python bench/bench_boundaries.py [--runs 3]

Target (issue 2): the 7,509-desa layer simplified and written in at most 30 s on the 2-core machine.
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

CHILD = """
import json, os, resource, sys, tempfile, time
from pathlib import Path
t0 = time.perf_counter()
from analysis import config
from analysis.etl.boundaries import LayerSpec, read_layer
from analysis.etl.geometry import simplify_for_web, to_geojson_bytes
from analysis.tables import atomic_write_bytes
t_import = time.perf_counter()
path = config.mirror_dir() / "scale" / "jabar_banten_desa.geojson"
spec = LayerSpec("desa", {"kode_kemendagri": "kode_kemendagri", "nama": "name"}, expected_count=7509)
layer = read_layer(path, spec)
t_read = time.perf_counter()
web = simplify_for_web(layer.data)
t_simplify = time.perf_counter()
payload = to_geojson_bytes(web)
with tempfile.TemporaryDirectory() as tmp:
    atomic_write_bytes(Path(tmp) / "desa.geojson", payload)
t_write = time.perf_counter()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "import": t_import - t0, "read": t_read - t_import, "simplify": t_simplify - t_read,
    "write": t_write - t_simplify, "total": t_write - t0, "cpu": ru.ru_utime + ru.ru_stime,
    "maxrss_mb": ru.ru_maxrss / 1024, "features": len(web), "bytes": len(payload),
    "rejected": len(layer.rejects),
}))
"""


def one_run() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        load = os.getloadavg()[0]
        r = one_run()
        r["load"] = load
        runs.append(r)
        print(
            f"run {i + 1}: total {r['total']:.2f} s (read {r['read']:.2f}, simplify {r['simplify']:.2f}, "
            f"write {r['write']:.2f}), CPU {r['cpu']:.2f} s, peak RSS {r['maxrss_mb']:.0f} MB, "
            f"{r['features']} features, {r['bytes'] / 1e6:.2f} MB, load avg before {load:.1f}",
            flush=True,
        )
    med = {k: statistics.median(r[k] for r in runs) for k in ("import", "read", "simplify", "write", "total", "cpu")}
    print(
        f"median of {args.runs}: total {med['total']:.2f} s (import {med['import']:.2f}, read {med['read']:.2f}, "
        f"simplify {med['simplify']:.2f}, write {med['write']:.2f}), CPU {med['cpu']:.2f} s, "
        f"max peak RSS {max(r['maxrss_mb'] for r in runs):.0f} MB"
    )


if __name__ == "__main__":
    main()
