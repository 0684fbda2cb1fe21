# riskguard — developer entry points. `make run` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_DIR ?= ./var/demo
SCENARIO ?= flash_crash
PYTEST_ARGS ?=

SOAK_MINUTES ?= 5
SOAK_MAX_MINUTES ?= 15
SOAK_MIN_TICKS ?= 2000000
SOAK_KAFKA ?= embedded

.PHONY: run test lint typecheck pytest bench chaos soak clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

RUN_ENV := RISKGUARD_STATE_DIR=$(RUN_DIR)/state RISKGUARD_LOG_DIR=$(RUN_DIR)/log
RG := $(RUN_ENV) $(VENV)/bin/riskguard --config config/risk_limits.yaml

# The main job on embedded defaults: paper terminal + monitor + engine as three processes on the
# flash_crash scenario, live view, ends HALTED and says how to inspect and reset. State in ./var.
run: $(STAMP)
	$(RG) demo --scenario $(SCENARIO)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) scripts/run_pytest.py $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	$(PY) bench/run_all.py

# every chaos scenario against real processes (also run by `make test` through tests/verify)
chaos: $(STAMP)
	$(RG) verify --kafka embedded

# paper terminal + monitor + engine + a Kafka broker, accelerated; judged over >= 2M ticks (runs on
# past SOAK_MINUTES until then); exit 1 unless monitor and engine grow <= 1 MiB per 1M ticks with
# flat fds (24 h: SOAK_MINUTES=1440 SOAK_MAX_MINUTES=1440 SOAK_KAFKA=none)
soak: $(STAMP)
	$(PY) bench/soak.py --minutes $(SOAK_MINUTES) --max-minutes $(SOAK_MAX_MINUTES) \
	  --min-ticks $(SOAK_MIN_TICKS) --kafka $(SOAK_KAFKA)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache var
