# One entry point per job. Every target creates the venv on first use.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TYPED := addon localgoogle localrun app.py tests bench

.PHONY: setup test lint typecheck run bench faults clean browser screenshot node

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

## Headless Chromium for the console's browser tests: Debian's chromium package and only the
## libraries it depends on (--no-install-recommends: about 25 packages, 410 MB). Needs root
## (or sudo); nothing happens when /usr/bin/chromium is there already.
browser:
	@test -x /usr/bin/chromium || { \
	  echo "make browser: installing Debian's chromium for the browser tests (apt-get)"; \
	  as_root=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$as_root apt-get update -q && \
	  $$as_root apt-get install -y -q --no-install-recommends chromium; }

## The whole check: lint, types, then every test (the command CI runs). The Apps Script bridge's
## stand-in and script are tested with Node's own runner (no npm packages).
test: $(STAMP) browser node
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy $(TYPED)
	node --test bridge/test/*.test.js
	$(BIN)/pytest

## Node.js 20+ runs the Apps Script bridge's stand-in (tests and make run).
node:
	@command -v node >/dev/null || { echo "make: Node.js 20 or later is required (Debian: apt-get install nodejs)"; exit 1; }

## Style and the package boundaries (import-linter contracts in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy $(TYPED)

## The main job: the whole add-on on local defaults (emulators, no Google account).
## Flags through ARGS, e.g. make run ARGS="--backend-port 18080 --workers 4".
run: $(STAMP) node
	$(BIN)/python -m localrun $(ARGS)

## The README's pictures (docs/console.png; docs/console-cards.png, settings-page.png and
## status-page.png of issue 17), taken by the browser tests.
screenshot: $(STAMP) browser
	CONSOLE_README_SCREENSHOT=docs/console.png $(BIN)/pytest tests/localrun/test_console_browser.py
	CARDS_README_SCREENSHOTS=docs $(BIN)/pytest tests/localrun/test_console_panel_browser.py

bench: $(STAMP)
	$(BIN)/python -m bench

faults: $(STAMP)
	$(BIN)/python -m bench.faults

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache artifacts
