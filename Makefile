# Two commands from a fresh clone: `make demo` and `make test` (README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -n 2

.PHONY: demo test lint stop migrate seed bench-ledger bench-ingest bench-redeem bench-portal bench-periodic bench-statements bench-content

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --no-input

seed: migrate
	$(PY) manage.py seed_demo

demo: seed
	$(PY) manage.py runserver 127.0.0.1:8000

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

test: lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

stop: $(VENV)/.installed
	$(PY) -c "from pathlib import Path; from portal.embedded_db import stop; print('stopped' if stop(Path('var/pgdata')) else 'not running')"

bench-ledger: migrate
	$(PY) bench/ledger.py

bench-ingest: migrate
	$(PY) bench/ingest.py

bench-redeem: migrate
	$(PY) bench/redeem.py

# The demo's dashboard against a trivial signed-in page, served by gunicorn (needs `make seed` once).
bench-portal: migrate
	$(PY) bench/portal.py

# The tier review and the expiry run at 20,000 and 100,000 partners, in a database of its own (--small: quick).
bench-periodic: $(VENV)/.installed
	$(PY) bench/periodic.py $(BENCH_ARGS)

# The month's statements of 1,000 partners (half Hebrew) on real Celery workers, one per core, against the naive
# way, in a database of its own; needs Redis (REDIS_URL, default redis://127.0.0.1:6379/12). BENCH_ARGS=--profile.
bench-statements: $(VENV)/.installed
	timeout 1500 $(PY) bench/statements.py $(BENCH_ARGS)

# Learning's earning path: every person's quiz passes sent twice at once (two tabs) by 8 processes, each company
# over its monthly cap; then the Learn page under load; in a database of its own. BENCH_ARGS=--companies 40.
bench-content: $(VENV)/.installed
	timeout 1500 $(PY) bench/content.py $(BENCH_ARGS)
