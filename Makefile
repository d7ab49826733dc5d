# Member Care Console. `make run` and `make test` do all the set-up on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install lock run test lint format types check bench clean

install: $(STAMP)

# Installs the exact versions in requirements.lock (what CI tested), then the project.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# Resolves requirements.lock again from pyproject.toml (with uv, from PyPI): after a
# dependency is added, or UPGRADE=1 for the newest versions pyproject.toml allows.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "uv>=0.5"
	$(VENV)/bin/uv pip compile pyproject.toml --group dev --universal --python-version 3.11 \
		$(if $(filter 1,$(UPGRADE)),--upgrade,) -o requirements.lock

# Migrates, creates demo accounts (DEBUG only), seeds the emulator once, queues
# again any import whose worker died (no heartbeat for two minutes), then serves
# the console and one task worker; Ctrl-C stops both. Periodic jobs (clean-up) are
# queued for the worker (schedule_periodic).
run: $(STAMP)
	@mkdir -p var
	@DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput -v 0
	@DEBUG=$${DEBUG:-true} $(PY) manage.py create_demo_accounts
	@DEBUG=$${DEBUG:-true} $(PY) manage.py seed_emulator --members 200 --if-empty
	@DEBUG=$${DEBUG:-true} $(PY) manage.py resume_imports
	@DEBUG=$${DEBUG:-true} $(PY) manage.py schedule_periodic
	@echo "Member Care Console on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	@# Ctrl-C reaches both processes (one process group); the trap only waits for them,
	@# and stops them on TERM. (`kill 0` in a trap signalled this shell again, recursively,
	@# until bash crashed.) Neither runs under the autoreloader.
	@export DEBUG=$${DEBUG:-true}; \
	$(PY) manage.py db_worker --queue-name '*' --no-reload & worker=$$!; \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload & web=$$!; \
	trap 'kill -TERM $$worker $$web 2>/dev/null; wait; exit 0' INT TERM; \
	wait

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

types: $(STAMP)
	$(VENV)/bin/mypy .

check: lint types test

# The quick form of every benchmark (small sizes, a few minutes); the full runs and
# their figures are in docs/benchmarks.md. BENCH_DATABASE_URL names a PostgreSQL
# database the audit-write benchmark may drop and create.
bench: $(STAMP)
	$(PY) bench/csv_check.py --quick
	$(PY) bench/client_overhead.py --batches 3 --calls 30
	$(PY) bench/emulator.py --members 2000 --seconds 1 --samples 200 --state var/bench/emulator-quick.sqlite3
	DJANGO_SETTINGS_MODULE=membercare.settings $(PY) bench/history.py --entries 5000 --repeat 3 --export-rows 1000
	@if [ -n "$(BENCH_DATABASE_URL)" ]; then \
		$(PY) bench/audit_writes.py --batches 3 --database-url "$(BENCH_DATABASE_URL)"; \
	else echo "bench/audit_writes.py needs PostgreSQL: set BENCH_DATABASE_URL (the database is dropped)"; fi
	$(PY) bench/pages.py --samples 5 --users 2 --seconds 3
	$(PY) bench/bulk_import.py --rows 2000 --timeout 300

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis staticfiles *.egg-info
