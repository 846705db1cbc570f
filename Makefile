PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean lnbits-venv install-plugin mutation \
	browser extension-archive

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m lnopt demo

lint: $(STAMP)
	$(BIN)/ruff check lnopt lnopt_plugin.py tests bench lnbits_extension contrib
	$(BIN)/ruff format --check lnopt lnopt_plugin.py tests bench lnbits_extension contrib

typecheck: $(STAMP)
	$(BIN)/mypy lnopt lnopt_plugin.py

# A real LNbits server for the tests, in its own venv: LNbits pins its own packages.
LNBITS_VENV := .venv-lnbits
LNBITS_STAMP := $(LNBITS_VENV)/.installed

$(LNBITS_STAMP):
	test -x $(LNBITS_VENV)/bin/python || $(PYTHON) -m venv $(LNBITS_VENV)
	$(LNBITS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LNBITS_VENV)/bin/python -m pip install --quiet lnbits==1.6.2 'bitstring<5'
	touch $(LNBITS_STAMP)

# lnopt itself in LNbits' venv, for the extension: the repository without its dependencies,
# then those of lnopt's that LNbits lacks (pip keeps the versions LNbits pinned where they
# satisfy lnopt's), and a check that nothing conflicts.
LNBITS_LNOPT_STAMP := $(LNBITS_VENV)/.lnopt-installed

$(LNBITS_LNOPT_STAMP): $(LNBITS_STAMP) requirements.txt pyproject.toml
	$(LNBITS_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(LNBITS_VENV)/bin/python -m pip install --quiet -r requirements.txt
	$(LNBITS_VENV)/bin/python -m pip check
	touch $(LNBITS_LNOPT_STAMP)

lnbits-venv: $(LNBITS_STAMP) $(LNBITS_LNOPT_STAMP)

# A real browser for the extension's pages: Debian's chromium, driven by Playwright from PyPI
# (in LNbits' venv; never `playwright install`, the browser is the system's).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PLAYWRIGHT_STAMP := $(LNBITS_VENV)/.playwright-installed

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

$(PLAYWRIGHT_STAMP): $(LNBITS_STAMP)
	$(LNBITS_VENV)/bin/python -m pip install --quiet 'playwright>=1.45'
	$(LNBITS_VENV)/bin/python -m pip check
	touch $(PLAYWRIGHT_STAMP)

browser: $(CHROMIUM) $(PLAYWRIGHT_STAMP)

# PYTEST_ARGS picks tests, e.g. make pytest PYTEST_ARGS='tests/test_lnbits_extension*.py'
PYTEST_ARGS ?=

pytest: $(STAMP) $(LNBITS_STAMP) $(LNBITS_LNOPT_STAMP) $(CHROMIUM) $(PLAYWRIGHT_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The LNbits extension as a release archive LNbits' installer accepts (one top folder holding
# config.json, as GitHub's release zips), and a manifest naming it with its sha256. Give
# ARCHIVE_URL, the address the archive will be served from.
ARCHIVE_URL ?= http://127.0.0.1:8000/lnopt.zip

extension-archive:
	$(PYTHON) contrib/extension_archive.py --out dist --archive-url $(ARCHIVE_URL)

test: lint typecheck pytest

BENCHES := bench_graph bench_scoring bench_plugin bench_sim bench_lnbits bench_lnd

bench: $(STAMP) $(LNBITS_STAMP)
	for name in $(BENCHES); do $(BIN)/python -m bench.$$name || exit 1; done

clean:
	rm -rf $(VENV) $(LNBITS_VENV) .pytest_cache .mypy_cache .ruff_cache

# Install lnopt into PREFIX/venv and print the plugin= line for lightningd's config.
PREFIX ?= /opt/lnopt
install-plugin:
	contrib/install.sh $(PREFIX)

# Mutation testing of the guard, executor, recorder, store, decisions and configuration with
# their fast unit tests ([tool.mutmut] in pyproject.toml); not part of `make test`. It runs at
# the lowest priority on two workers, resumes where it stopped, and ends with the score.
mutation: $(STAMP)
	nice -n 19 $(BIN)/mutmut run --max-children 2
	$(BIN)/python -m bench.mutation_score
