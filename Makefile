# graphintel — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The test server: a fresh, empty database on every `make test`.
NEO4J_TEST_HOME ?= $(CURDIR)/.neo4j/test-home
NEO4J_TEST_PORT ?= 17687
PYTEST_ARGS ?=

.PHONY: install demo test test-fast chromium neo4j-jars lint bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make demo: install, load sample_data/demo into workspace/graph.duckdb, analyse, print the
## report and serve the dashboard on http://127.0.0.1:8501
demo: install
	$(BIN)/graphintel demo

## Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium), and CJK fonts
## so Korean titles render in the dashboard's screenshots
chromium:
	@if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium and fonts-noto-cjk (apt-get) …"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

## Neo4j 5.26 Community jars from Maven Central into ~/.cache/graphintel
neo4j-jars: install
	$(BIN)/python -c "from graphintel.config import load_settings; from graphintel.neo4j_server import ensure_jars; print(ensure_jars(load_settings()))"

## make test: everything the tests need from nothing, a real Neo4j, the whole suite, Neo4j stopped
test: install chromium neo4j-jars lint
	@rm -rf $(NEO4J_TEST_HOME); mkdir -p $(dir $(NEO4J_TEST_HOME))
	$(BIN)/graphintel neo4j start --home $(NEO4J_TEST_HOME) --port $(NEO4J_TEST_PORT) > $(dir $(NEO4J_TEST_HOME))test-env.sh
	@set -a; source $(dir $(NEO4J_TEST_HOME))test-env.sh; set +a; \
	  $(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	  $(BIN)/graphintel neo4j stop --home $(NEO4J_TEST_HOME); \
	  exit $$status

## unit tests only (no Neo4j, no browser)
test-fast: install
	$(BIN)/pytest -m "not neo4j and not browser" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check graphintel ingest dashboards tests benchmarks
	$(BIN)/ruff format --check graphintel ingest dashboards tests benchmarks

bench: install
	$(BIN)/pip install -q -c requirements.lock -e '.[bench]'
	$(BIN)/python benchmarks/simulate.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/telegram_export.py

clean:
	rm -rf $(VENV) .neo4j workspace .pytest_cache
