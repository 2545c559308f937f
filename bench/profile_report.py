"""Summarise a profile written by ``bench/bench_load.py --profile FILE``: the top functions by cumulative
and by own time, per script run. Usage: ``.venv/bin/python bench/profile_report.py FILE [--top 30]``."""

from __future__ import annotations

import argparse
import io
import pstats


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--runs", type=int, help="number of script runs profiled (for per-run figures)")
    args = ap.parse_args()
    for sort in ("cumulative", "tottime"):
        buf = io.StringIO()
        st = pstats.Stats(args.file, stream=buf)
        st.strip_dirs().sort_stats(sort).print_stats(args.top)
        print(f"==== by {sort}")
        print(buf.getvalue().split("\n", 6)[-1] if sort == "cumulative" else buf.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
