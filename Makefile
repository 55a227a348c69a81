# feedsim: `make run` runs the default scenario; `make test` runs the test suite.
# Both create .venv with Python 3.12 when it is missing and install the project into it.
# `make test` also installs Debian's chromium when /usr/bin/chromium is missing (the browser
# tests drive it through the playwright package; browsers are never downloaded by playwright)
# and fills Solara's front-end asset cache (`feedsim assets`), so the page works offline.

PYTHON ?= $(shell for p in python3.12 $$(ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12 2>/dev/null); do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/baseline.toml
CHROMIUM := /usr/bin/chromium

.PHONY: run test assets bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 not found (install python3.12 or set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml examples/feedsim-creator-loyalty/pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e examples/feedsim-creator-loyalty
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/feedsim run $(SCENARIO)

# Debian's chromium, once: as root, else with sudo; the apt lists are refreshed only when needed.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	else echo "error: $(CHROMIUM) is missing; install Debian's chromium as root (apt-get install -y chromium)"; exit 2; fi; \
	command -v apt-get >/dev/null 2>&1 || { echo "error: $(CHROMIUM) is missing and apt-get is not available; install chromium there"; exit 2; }; \
	echo "installing Debian's chromium for the browser tests (apt-get install chromium) ..."; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }
	@test -x $(CHROMIUM) || { echo "error: chromium was installed but $(CHROMIUM) is missing"; exit 2; }

assets: $(STAMP)
	$(BIN)/feedsim assets --quiet

test: $(STAMP) $(CHROMIUM) assets
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_step.py

clean:
	rm -rf $(VENV) runs .pytest_cache
