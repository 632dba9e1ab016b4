# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint check bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# Web server, Celery worker and beat on embedded defaults (SQLite, filesystem broker);
# Ctrl-C stops all three.
run: $(VENV)/.installed
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo --if-empty
	@echo "Open http://localhost:$(PORT)/ (Ctrl-C stops web, worker and beat)"
	DEBUG=$${DEBUG:-1} PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

# Tests run with DEBUG off, as production does; they need only a throwaway key. One pytest
# worker a core, and one more: tests/conftest.py keeps the tests that start servers, workers
# or a browser on one worker, which spends most of its time waiting on them
# (TEST_WORKERS=0 runs everything in this process).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(VENV)/.installed
	SECRET_KEY=$${SECRET_KEY:-test-only-secret} $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: lint
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# Every benchmark of the design's budgets, each figure printed as it is measured (under 15
# minutes on 2 cores; BENCH_ARGS=--quick is the one-minute smoke test, BENCH_ARGS="--parts api"
# one part). It needs a throwaway PostgreSQL database, which it fills and empties again.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portfolio_bench
bench: $(VENV)/.installed
	@createdb -h 127.0.0.1 -U postgres portfolio_bench 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) SECRET_KEY=$${SECRET_KEY:-bench-only-secret} \
	  $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) SECRET_KEY=$${SECRET_KEY:-bench-only-secret} \
	  $(BIN)/python manage.py bench $(BENCH_ARGS)

clean:
	rm -rf var/broker var/celery-results var/celerybeat-schedule*
