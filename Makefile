# feedsim: `make run` runs the default scenario; `make test` runs the test suite.
# Both create .venv with Python 3.12 when it is missing and install the project into it.

PYTHON ?= $(shell for p in python3.12 $$(ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12 2>/dev/null); do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/baseline.toml

.PHONY: run test bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 not found (install python3.12 or set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml examples/feedsim-creator-loyalty/pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e examples/feedsim-creator-loyalty
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/feedsim run $(SCENARIO)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_step.py

clean:
	rm -rf $(VENV) runs .pytest_cache
