# Two commands set up a fresh machine: `make run` and `make test`.
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS_STAMP := $(VENV)/.notebooks
VIZ_STAMP := $(VENV)/.installed-viz
PYTEST_WORKERS ?= 2

.PHONY: run test test-browser explore test-slow validate bench bench-sweep lint clean venv golden golden-add tournament \
	notebooks lab notebooks-install course course-classroom

venv: $(STAMP)

# -qq: pip prints errors only (no notices about the machine's package indexes, no
# build-backend chatter), so a first `make run` shows what it did and the result.
$(STAMP): pyproject.toml
	@interp=$$(./scripts/find-python) || exit 1; \
	if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$interp"; "$$interp" -m venv $(VENV) || exit 1; fi
	@echo "Installing flywheel and its dependencies into $(VENV) (once; about a minute)"
	@$(PY) -m pip install -qq --upgrade pip
	@$(PY) -m pip install -qq -e '.[dev]'
	@touch $(STAMP)

## notebooks (or lab): install JupyterLab into the venv (extra `notebooks`) and open notebooks/
notebooks: $(NOTEBOOKS_STAMP)
	$(VENV)/bin/jupyter-lab notebooks

lab: notebooks

notebooks-install: $(NOTEBOOKS_STAMP)

$(NOTEBOOKS_STAMP): $(STAMP)
	@$(PY) -m pip install -qq -e '.[dev,notebooks]'
	@touch $(NOTEBOOKS_STAMP)

# The explorer's extra (SolaraViz, its offline front-end files, Playwright), on top of dev:
# installed by test, test-browser and explore only, so `make run` stays lean.
$(VIZ_STAMP): $(STAMP)
	@echo "Installing the explorer's extra (viz) into $(VENV)"
	@$(PY) -m pip install -qq -e '.[dev,viz]'
	@touch $(VIZ_STAMP)

## run: create the venv, install, run the baseline scenario into results/baseline/
run: $(STAMP)
	@$(VENV)/bin/flywheel run scenarios/baseline.yaml --out results/baseline

## test: the default (fast) test suite, notebooks included (the browser test runs in test-browser);
## the course's lessons run at test size (FLYWHEEL_LESSON_SIZE=test: a few hundred users)
test: $(VIZ_STAMP)
	FLYWHEEL_LESSON_SIZE=test $(PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow and not browser" \
		tests --nbmake notebooks

## course: the students' version of the lessons (no instructor's notes) in results/course/student/
course: $(STAMP)
	$(PY) -m simulator.lessons student notebooks/course --out results/course/student

## course-classroom: run every lesson at classroom size, as in class, with its time (before a class)
course-classroom: $(STAMP)
	FLYWHEEL_LESSON_SIZE=classroom $(PY) -m pytest -p no:xdist --nbmake notebooks/course \
		--nbmake-timeout=600 --durations=0 -q

## test-browser: the explorer in a real headless Chromium (Debian's chromium-headless-shell
## or chromium; skips without one, fails under CI=true)
test-browser: $(VIZ_STAMP)
	$(PY) -m pytest -p no:xdist -m browser tests/test_explorer_browser.py

## explore: install the explorer's extra and open the page on http://127.0.0.1:8765
explore: $(VIZ_STAMP)
	$(VENV)/bin/flywheel explore scenarios/baseline.yaml

## test-slow: every test marked slow (full-size validations, 1e6-user network builds)
test-slow: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m slow tests

## validate: the validation suite at full size (writes docs/validation/*.png)
validate: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "slow or not slow" tests/validation

## golden: regenerate the golden hashes (only when the dynamics are meant to change;
## commit tests/golden/hashes.json alone, saying why)
golden: $(STAMP)
	$(PY) -m tests.golden.regenerate

## tournament: the decision table played as a tournament (6 situations x 8 strategies, 6 seeds;
## about 2 minutes on 2 cores) into results/tournaments/decision_table/
tournament: $(STAMP)
	$(VENV)/bin/flywheel tournament scenarios/tournaments/decision_table.yaml --workers $(PYTEST_WORKERS)

## golden-add: hash only the cases that have none yet (a new scenario); keeps every other hash
golden-add: $(STAMP)
	$(PY) -m tests.golden.regenerate --add

## bench: engine speed against the targets in benchmarks/README.md, 1e4..1e6 users, 1 and 3 firms, beside a
## reference fused kernel and a plain Mesa model (BENCH_TEN_MILLION=1 adds the 1e7-user cases)
bench: $(STAMP)
	$(PY) benchmarks/bench_engines.py

## bench-sweep: a 1,000-run sweep of 1e4 users x 104 steps on 2 workers
bench-sweep: $(STAMP)
	$(PY) benchmarks/bench_sweep.py

lint: $(STAMP)
	$(VENV)/bin/ruff check simulator tests benchmarks
	$(VENV)/bin/ruff format --check simulator tests benchmarks

clean:
	rm -rf $(VENV) results .pytest_cache
