# riskguard — developer entry points. `make run` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_DIR ?= ./var
PYTEST_ARGS ?=

.PHONY: run test lint typecheck pytest bench clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

RUN_ENV := RISKGUARD_STATE_DIR=$(RUN_DIR)/state RISKGUARD_LOG_DIR=$(RUN_DIR)/log
RG := $(RUN_ENV) $(VENV)/bin/riskguard --config config/risk_limits.yaml

# Until the three-process demo lands (issue #4): validate the config, trip the local breaker as an
# operator would, and show it persisted and refusing a premature reset.
run: $(STAMP)
	$(RG) config check config/risk_limits.yaml
	$(RG) breaker trip --reason "make run: operator kill switch" --operator demo
	$(RG) breaker status
	-$(RG) breaker reset --operator demo --reason "too early" --yes
	@echo "state in $(RUN_DIR)/state, evidence log in $(RUN_DIR)/log/evidence.jsonl"

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

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache var
