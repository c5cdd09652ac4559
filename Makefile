# KAM Ledger: `make run` serves on the embedded SQLite default, `make test` runs the suite.
# `make run HOST=0.0.0.0 PORT=8080` serves elsewhere (and prints that address).
PYTHON ?= python3
HOST   ?= 127.0.0.1
PORT   ?= 8000
VENV   := .venv
BIN    := $(VENV)/bin
export KAM_DATABASE_URL ?= sqlite:///./var/kam.db

.PHONY: run test fuzz lint bench bench-scale soak demo clean keys screenshots

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

# The embedded store's keys, made the first time under ./var/: the master key that wraps each
# person's data key, and the ledger's signing key. Other `kam` commands on this store need the
# same two variables (see the README).
run demo keys: export KAM_LEDGER_KEY_FILE ?= ./var/ledger.key
run demo keys: export KAM_MASTER_KEY_FILE ?= $(if $(KAM_MASTER_KEY),,var/master.key)

keys: $(VENV)/.installed
	@mkdir -p var
	@test -n "$$KAM_MASTER_KEY" || test -f var/master.key || $(BIN)/kam keys new var/master.key
	$(BIN)/kam ledger-key

run: keys
	$(BIN)/kam status
	$(BIN)/kam users bootstrap --host $(HOST) --port $(PORT)
	$(BIN)/kam serve --host $(HOST) --port $(PORT)

demo: keys
	$(BIN)/kam demo

# The suite runs on PYTEST_WORKERS processes (pytest-xdist; 0: in this one). Much of it waits
# on PostgreSQL, Chromium and child processes, so three keep a 2-core machine busier than two
# (and four were slower: 561 s against 472-485 s, 2026-12-03) while the PostgreSQL tests'
# connections (each app opens its pools) stay well under the server's 100 (the suite peaked
# at 51, and at 56 with four); `worksteal` lets an idle worker take tests queued on a busy one.
PYTEST_WORKERS ?= 3
# The tests' scratch files (SQLite stores, temporary PostgreSQL clusters, Chromium profiles) go
# to memory where the machine has a tmpfs, unless TMPDIR says otherwise: they need no
# durability, and on disk SQLite's fsyncs were several percent of the SQLite tests' time.
TEST_TMPDIR ?= $(shell test -d /dev/shm -a -w /dev/shm && echo /dev/shm)
# Bytecode is cached even where the environment says not to (PYTHONDONTWRITEBYTECODE, as this
# project's development machine sets it): else every test process and every `kam` child started
# compiles the project's modules again, and pytest rewrites the test modules' asserts again
# (collecting took 10 s per process instead of 4, a `kam` command 0.2 s more to start).
TEST_ENV = env -u PYTHONDONTWRITEBYTECODE TMPDIR=$${TMPDIR:-$(TEST_TMPDIR)}

test: $(VENV)/.installed-dev
	$(TEST_ENV) $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

# The two schemathesis fuzz tests, deeper than the suite's 15 requests per operation.
fuzz: $(VENV)/.installed-dev
	KAM_FUZZ_EXAMPLES=$${KAM_FUZZ_EXAMPLES:-200} $(TEST_ENV) $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal \
		tests/api/test_fuzz.py tests/api/test_fuzz_conformance.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

bench: $(VENV)/.installed-dev
	@mkdir -p var/bench
	$(BIN)/python benchmarks/run_all.py

# How costs grow with the log: a rebuild at 100,000 and at 1,000,000 events (about 30 minutes on
# an idle 2-core machine; KAM_BENCH_SCALE_SMALL / KAM_BENCH_SCALE_LARGE change the sizes).
bench-scale: $(VENV)/.installed-dev
	@mkdir -p var/bench
	$(BIN)/python benchmarks/run_all.py --scale

# RSS growth of one `kam serve` on PostgreSQL under steady mixed load (benchmarks/soak.py):
# 30 minutes (KAM_SOAK_MINUTES), so neither in `make bench` nor in CI. Needs wrk.
soak: $(VENV)/.installed-dev
	@mkdir -p var/bench
	$(BIN)/python benchmarks/soak.py

# The README's pictures of the web app (docs/images/), from the demo in headless Chromium.
screenshots: $(VENV)/.installed-dev
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
