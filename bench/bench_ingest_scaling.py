"""Benchmark (issue 13): survey-ingest time and peak memory against file size, for three shapes.

    .venv/bin/python bench/bench_ingest_scaling.py                       # 1, 10, 50 MB x long, wide, cell; 3 runs
    .venv/bin/python bench/bench_ingest_scaling.py --sizes 1 10 --runs 3 --workdir /tmp/bench_scaling

Shapes, each an export (main CSV + roster CSV) of about N MB in all, made from a small export of the project's generator:
- ``long``: the generated submissions repeated (new ``_uuid`` / ``_index`` each copy) until the size;
- ``wide``: the same with 1,800 extra columns of short answers (just under the 2,000-column limit);
- ``cell``: the small export with one note cell of N MB (refused: ``row_too_long``; the cost of refusing).

Each run is a fresh Python process (``--one``) reading the files and calling ``ingest_export`` (no size limit,
as the CLI), reporting wall time and the increase of peak RSS over the process after its imports. Prints a
Markdown block for ``bench/RESULTS.md``. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MB = 1_000_000


def _base(workdir: Path):
    import pandas as pd

    from analysis.survey.generate import GenerateOptions, generate

    src = workdir / "base"
    if not (src / "truth.json").is_file():
        generate(GenerateOptions(out=src, households=400, kelurahan=10, format="csv", delimiter=","))
    main = next(src.glob("*_SYNTHETIC.csv"))
    read = lambda p: pd.read_csv(p, dtype=str, keep_default_na=False)  # noqa: E731
    return read(main), read(main.with_name(main.stem + "-anggota.csv"))


def make(workdir: Path, shape: str, size_mb: int) -> Path:
    import pandas as pd

    out = workdir / f"{shape}_{size_mb}mb"
    if (out / "main.csv").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    m, r = _base(workdir)
    if shape == "wide":
        extra = pd.DataFrame({f"extra_{j}": "ya" for j in range(1800)}, index=m.index)
        m = pd.concat([m, extra], axis=1)
    if shape == "cell":
        m = m.copy()
        m.loc[0, "penutup/catatan"] = "catatan panjang " * (size_mb * MB // 16)
        reps = 1
    else:
        reps = max(1, round(size_mb * MB / (len(m.to_csv(index=False).encode()) + len(r.to_csv(index=False).encode()))))
    mains, rosters = [], []
    for k in range(reps):
        mm, rr = m.copy(), r.copy()
        mm["_uuid"] = [f"{u[:-6]}{k:06d}" for u in m["_uuid"]]
        mm["_index"] = (m["_index"].astype(int) + k * len(m)).astype(str)
        rr["_parent_index"] = (r["_parent_index"].astype(int) + k * len(m)).astype(str)
        rr["_submission__uuid"] = rr["_parent_index"].map(dict(zip(mm["_index"], mm["_uuid"])))
        mains.append(mm)
        rosters.append(rr)
    pd.concat(mains).to_csv(out / "main.csv", index=False)
    pd.concat(rosters).to_csv(out / "main-anggota.csv", index=False)
    return out


def one(folder: Path) -> None:
    from analysis.errors import InputError
    from analysis.etl.registers import load_register
    from analysis.survey.ingest import ingest_export

    register = load_register()
    files = {p.name: p.read_bytes() for p in (folder / "main.csv", folder / "main-anggota.csv")}
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    try:
        res = ingest_export(files, register=register, max_file_bytes=None)
        what = f"{len(res.households)} households, {len(res.persons)} persons"
    except InputError as err:
        what = f"refused: {err.code}"
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "rss_mb": peak / 1024, "rss_added_mb": (peak - base) / 1024, "what": what,
                      "bytes": sum(len(v) for v in files.values()), "load": os.getloadavg()[0]}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--shapes", nargs="+", default=["long", "wide", "cell"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench_ingest_scaling"))
    ap.add_argument("--one", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        one(args.one)
        return 0
    rows = []
    for shape in args.shapes:
        for size in args.sizes:
            folder = make(args.workdir, shape, size)
            runs = []
            for _ in range(args.runs):
                out = subprocess.run([sys.executable, __file__, "--one", str(folder)], capture_output=True, text=True, cwd=ROOT, check=True)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            wall = statistics.median(r["wall"] for r in runs)
            rss = statistics.median(r["rss_mb"] for r in runs)
            rows.append((shape, size, runs[0]["bytes"] / MB, wall, [r["wall"] for r in runs], rss, runs[0]["what"], max(r["load"] for r in runs)))
            print(rows[-1], flush=True)
    print(f"\n### Ingest scaling (bench/bench_ingest_scaling.py), {time.strftime('%Y-%m-%d')}\n")
    print(f"- command: `.venv/bin/python bench/bench_ingest_scaling.py --sizes {' '.join(map(str, args.sizes))} --runs {args.runs}`")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}")
    print("\n| shape | target MB | files MB | median wall s | runs s | peak RSS MB (median) | s per MB | result | max load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for shape, size, mb, wall, runs, rss, what, load in rows:
        print(f"| {shape} | {size} | {mb:.1f} | {wall:.2f} | {', '.join(f'{x:.2f}' for x in runs)} | {rss:.0f} | {wall / mb:.3f} | {what} | {load:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
