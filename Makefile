# The two commands a newcomer needs:  make book  (the report)  and  make test  (the test suite).
# Both create the project's virtual environment in .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export REPRO_DATA ?= $(CURDIR)/data

.DEFAULT_GOAL := book
.PHONY: book test smoke cpu paper baselines scorecard bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable '.[book,test]'
	touch $@

book: $(STAMP)  ## build the report from the stored, executed notebooks (nothing trains)
	$(BIN)/python -m lib.report.pages
	$(BIN)/python -m lib.report.scorecard
	$(BIN)/python -m lib.report.toc
	$(BIN)/python -m lib.report.runner --cost-table book/generated/costs.md
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "open _build/html/index.html"

# nbval compares numbers, and float reductions depend on the thread count: tests and baselines use one.
test baselines: export OMP_NUM_THREADS := 1
test baselines: export MKL_NUM_THREADS := 1

test: $(STAMP)  ## unit tests, jupytext pairing, book build with -W, nbval on the smoke profile
	$(BIN)/python -m pytest

smoke cpu paper: $(STAMP)  ## run each notebook with a profile into book/executed/, skipping current outputs (same source, library, parameters; lib.report.runner --force re-runs them)
	$(BIN)/python -m lib.report.runner --profile $@

baselines: $(STAMP)  ## smoke runs over 5 seeds -> notebooks/baselines/*.json; seed 0 -> notebooks/*.ipynb (nbval)
	$(BIN)/python -m lib.report.regression --seeds 5 --jobs 2

RESULT = benchmarks/results/$(shell hostname)_$(shell date +%Y%m%d)
bench: $(STAMP)  ## time the speed-critical estimators (GCE flow, label-free influence functions, CGN and VAE steps)
	$(BIN)/python benchmarks/bench_gce.py --json $(RESULT)_gce.json
	$(BIN)/python benchmarks/bench_gce.py --n-alpha 16 --n-beta 5 --chunks 0 --json $(RESULT)_gce_reduced.json
	$(BIN)/python benchmarks/bench_labelfree.py --json $(RESULT)_labelfree.json
	$(BIN)/python benchmarks/bench_cgn.py --json $(RESULT)_cgn.json
	$(BIN)/python benchmarks/bench_vae.py --json $(RESULT)_vae.json
	$(BIN)/python benchmarks/summarise.py

clean:
	rm -rf _build
