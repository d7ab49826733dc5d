# Member Care Console. `make run` and `make test` do all the set-up on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format types check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e . --group dev
	@touch $(STAMP)

# Migrates, creates demo accounts (DEBUG only), seeds the emulator once, queues
# again any import whose worker died (no heartbeat for two minutes), then serves
# the console and one task worker; Ctrl-C stops both.
run: $(STAMP)
	@mkdir -p var
	@DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput -v 0
	@DEBUG=$${DEBUG:-true} $(PY) manage.py create_demo_accounts
	@DEBUG=$${DEBUG:-true} $(PY) manage.py seed_emulator --members 200 --if-empty
	@DEBUG=$${DEBUG:-true} $(PY) manage.py resume_imports
	@echo "Member Care Console on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	@trap 'kill 0' INT TERM EXIT; \
	DEBUG=$${DEBUG:-true} $(PY) manage.py db_worker --queue-name '*' & \
	DEBUG=$${DEBUG:-true} $(PY) manage.py runserver $(HOST):$(PORT) --noreload & \
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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
