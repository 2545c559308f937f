# Everyday targets. The README's two commands are the supported set-up; these are shortcuts after it.
PY := .venv/bin/python

.PHONY: setup fetch build run test test-fast bench clean-processed

setup:            ## install into .venv (and Debian's chromium for browser tests)
	bash scripts/setup.sh --test

fetch:            ## place public sources in data/raw (mirror or network), sha256-checked
	$(PY) -m analysis fetch

build: fetch      ## every processed table into data/processed
	$(PY) -m analysis build

run: build        ## start the dashboard on http://localhost:8501
	$(PY) -m streamlit run dashboard.py

test:             ## the whole test suite (what CI runs)
	$(PY) -m pytest

test-fast:        ## everything but the browser tests and those resting on the full build (see tests/conftest.py)
	$(PY) -m pytest -m "not browser and not slow"

bench:            ## benchmarks; results are recorded by hand in bench/RESULTS.md
	$(PY) bench/bench_build.py --runs 5

clean-processed:  ## remove build outputs (raw data is kept: it is immutable)
	find data/processed -mindepth 1 ! -name README.md -delete
