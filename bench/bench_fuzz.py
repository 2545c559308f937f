"""The survey-ingestion fuzzer (tests/survey/test_fuzz_ingest.py) with a large example budget.

    .venv/bin/python bench/bench_fuzz.py [--examples 1000]

Runs the property test under the ``bench`` Hypothesis profile (random, not derandomised; 60 s deadline per
example; failures saved in Hypothesis' example database under .hypothesis/). Every failure it finds is to be
kept in the test module as an ``@example``. Not part of the test run's pass/fail.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=1000)
    args = ap.parse_args(argv)
    os.environ["HYPOTHESIS_PROFILE"] = "bench"
    os.environ["FUZZ_EXAMPLES"] = str(args.examples)
    import pytest

    t = time.perf_counter()
    rc = pytest.main(["-q", "-p", "no:cacheprovider", str(ROOT / "tests/survey/test_fuzz_ingest.py::test_any_mutated_export_keeps_the_properties"),
                      "--hypothesis-show-statistics"])
    print(f"{args.examples} examples in {time.perf_counter() - t:.0f} s; exit {rc}")
    return int(rc)


if __name__ == "__main__":
    sys.exit(main())
