# One entry point per job. Every target creates the venv on first use.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TYPED := addon localgoogle localrun app.py tests bench

.PHONY: setup test lint typecheck run bench faults clean browser

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

## Headless Chromium for the console's browser tests (Debian package; needs root).
browser:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

## The whole check: lint, types, then every test (the command CI runs).
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy $(TYPED)
	$(BIN)/pytest

## Style and the package boundaries (import-linter contracts in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy $(TYPED)

## The main job: the whole add-on on local defaults (emulators, no Google account).
run: $(STAMP)
	$(BIN)/python -m localrun

bench: $(STAMP)
	$(BIN)/python -m bench

faults: $(STAMP)
	$(BIN)/python -m bench.faults

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache artifacts
