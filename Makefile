# Developer and CI entry points.  `make` alone just builds the virtualenv.
#
#   make run     init + demo data + dev server on http://127.0.0.1:$(PORT)
#   make test    ruff + pytest, against SQLite and a throw-away PostgreSQL, browser tests
#                in Debian's Chromium (installed through apt-get when missing, as root)
#   make bench   benchmarks (bench/run_all.py)
#   make lint    ruff only
#   make clean   stop the test PostgreSQL and delete .venv, instance/, .pgtest/
#
# Variables: PORT (make run), PYTEST_ARGS (make test, e.g. PYTEST_ARGS='-x -k rules'),
# BENCH_ARGS (make bench, e.g. BENCH_ARGS='--only verdicts --verdict-staff 2000'),
# PYTHON (interpreter used to create .venv), ATTENDANCE_DATABASE_URL (make run),
# ATTENDANCE_TEST_POSTGRES_URL (make test: use this server instead of starting one).

PYTHON ?= python3
PORT ?= 5000
PYTEST_ARGS ?=
BENCH_ARGS ?=

VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; reinstall only when pyproject.toml is newer.
STAMP := $(VENV)/.installed
# Run through bash so a lost executable bit (e.g. some checkouts) does not matter.
PG := bash scripts/pg_test_server.sh

.DEFAULT_GOAL := venv
.PHONY: venv run test bench lint clean

venv: $(STAMP)

# A half-created venv (e.g. no ensurepip) would otherwise look done next time.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

# One venv for everything, with the test extras (pytest, ruff, psycopg...).
# A venv cut short (killed while being made) has python but no pip: made again.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

# Database: the default SQLite one unless ATTENDANCE_DATABASE_URL is set
# (the environment is passed through as is).  `attendance demo` is idempotent.
run: venv
	$(BIN)/attendance init
	$(BIN)/attendance demo
	$(BIN)/attendance serve --host 127.0.0.1 --port $(PORT)

# One shell for the whole recipe so the exported URL reaches pytest.
# The PostgreSQL server is left running afterwards so that the next `make test`
# starts instantly; stop it with `scripts/pg_test_server.sh stop` (or
# `make clean`).  .ci/run stops it when CI is done.
# Any non-zero exit fails the target, including pytest's 5 ("no tests collected").
# Chromium (browser tests) and LibreOffice + poppler (the report's PDF and PNG pages) are
# installed from Debian when missing.
# Browser tests only: make test PYTEST_ARGS='-m browser' (or -m 'not browser' to leave them out).
test: venv
	@set -e; \
	bash scripts/ensure_chromium.sh; \
	bash scripts/ensure_office.sh; \
	url=$$($(PG) start); \
	export ATTENDANCE_TEST_POSTGRES_URL="$$url"; \
	echo "ATTENDANCE_TEST_POSTGRES_URL=$$url"; \
	set -x; \
	$(BIN)/ruff check .; \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The PostgreSQL benchmarks (10 million punches imported, a province's verdicts, two schedulers)
# run in the database attendance_bench of the same throw-away server, which they empty; set
# ATTENDANCE_BENCH_POSTGRES_URL to use another server (its database is emptied too).
bench: venv
	@set -e; \
	if [ -z "$$ATTENDANCE_BENCH_POSTGRES_URL" ]; then \
		ATTENDANCE_BENCH_POSTGRES_URL=$$(PG_TEST_DATABASE=attendance_bench $(PG) start); \
	fi; \
	export ATTENDANCE_BENCH_POSTGRES_URL; \
	echo "ATTENDANCE_BENCH_POSTGRES_URL=$$ATTENDANCE_BENCH_POSTGRES_URL"; \
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .

# Stop the server first: deleting the directory of a running cluster would
# leave an orphan postgres process behind.
clean:
	-$(PG) destroy
	rm -rf $(VENV) instance .pgtest
