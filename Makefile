# make run   : build .venv if needed, then run the main job on the bundled scenarios
# make test  : build .venv if needed, then the whole test suite
# make bench : build .venv if needed, then the benchmarks (table in benchmarks/results/; see docs/performance.md)
# make baseline : rewrite tests/baseline.json (the regression baseline) after an intended change, and print the diff
# make docs  : build .venv if needed, then execute the notebooks and render them to HTML in docs/notebooks/ (not committed)
PYTHON ?= $(shell command -v python3.12 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench baseline docs clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "bordersim needs Python 3.12 or newer; found " + sys.version.split()[0] + " at $(PYTHON). Set PYTHON=/path/to/python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# the 2023 options (they differ from 2023-03-25) against the 2004 rules continued ...
OPTIONS_2023 := no_protocol protocol_2023 protocol_without_resettlement suspend_stca roxham_designated_port \
	protocol_enforcement_surge protocol_irb_capacity_doubled
# ... and the options analysts discuss today (from 2025-09 on) against what happened
OPTIONS_NOW := protocol_2023 stca_struck_down terminate_stca canada_2025_eligibility
# every replication draws its parameter set from the shipped posterior (bordersim calibrate)
POSTERIOR ?= scenarios/posterior.csv
REPS ?= 20
SCALE ?= 0.01

run: $(STAMP)
	$(BIN)/bordersim run scenarios/history.toml --out results/history
	$(BIN)/bordersim compare $(foreach o,$(OPTIONS_2023),scenarios/$(o).toml) --reference no_protocol \
		--posterior $(POSTERIOR) --reps $(REPS) --scale $(SCALE) --out results/options_2023
	$(BIN)/bordersim compare $(foreach o,$(OPTIONS_NOW),scenarios/$(o).toml) --reference protocol_2023 \
		--posterior $(POSTERIOR) --reps $(REPS) --scale $(SCALE) --out results/options_now

# the suite on TEST_WORKERS processes (pytest-xdist), a test file per process so module fixtures are built once
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -rs -n $(TEST_WORKERS) --dist loadfile --nbmake tests notebooks

baseline: $(STAMP)
	$(BIN)/python -m tests.baseline --update

bench: $(STAMP)
	$(BIN)/python -m benchmarks

docs: $(STAMP)
	$(BIN)/python -m simulation.present.notebooks notebooks/*.ipynb --out docs/notebooks

clean:
	rm -rf $(VENV) results
