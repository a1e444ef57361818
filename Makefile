# MontyExchange's entry points: `make run` starts the stack, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test test-machine lint typecheck pytest bench install install-dev clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

## Start every service of the stack in the foreground (exchange 9047, users 9048, auth 9049).
run: install
	$(PY) scripts/run_stack.py

## Prepare the machine, then lint, format check, type check and the whole test suite.
test: test-machine lint typecheck pytest

## Start RabbitMQ, PostgreSQL and Redis if they are not running; install Chromium, wrk and HAProxy if missing.
test-machine:
	scripts/prepare_test_machine.sh

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy scripts
	$(VENV)/bin/mypy bench

pytest: install-dev test-machine
	$(VENV)/bin/pytest

## Measure the gateway side by side with RabbitMQ's management API, the seed's
## connection-per-request design, raw pika, a no-op Flask app, and granian serving the gateway and the
## no-op app in place of gunicorn (needs wrk; options: BENCH_ARGS="--help").
bench: install-dev test-machine
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
