# userpipe: `make run` starts everything locally, `make test` checks everything.
# Only Python 3.11+ and make are assumed; the rest is installed into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck pytest chromium screenshot bench up down dashboards clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "userpipe needs Python 3.11+, found " + sys.version.split()[0])'
	@echo "==> installing userpipe and its dependencies into $(VENV) (first run only, ~2 min; pip's progress below)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)
	@echo "==> $(VENV) is ready; later runs skip this step"

install: $(STAMP) ## Create .venv and install userpipe with its dependencies

run: install ## Start embedded PostgreSQL + the local API and run the pipeline every minute (live view)
	$(BIN)/userpipe run

test: install lint chromium ## ruff, mypy and the whole test suite (real PostgreSQL, real HTTP); mypy runs beside pytest
	@tmp=$$(mktemp -d); \
	$(BIN)/mypy > $$tmp/mypy.log 2>&1 & mypy=$$!; \
	$(MAKE) --no-print-directory pytest; tests=$$?; \
	wait $$mypy; mypy_rc=$$?; \
	echo "==> mypy (run beside the tests):"; cat $$tmp/mypy.log; rm -rf $$tmp; \
	test $$tests -eq 0 -a $$mypy_rc -eq 0

lint: install ## ruff
	$(BIN)/ruff check .

typecheck: install ## mypy
	$(BIN)/mypy

# pytest runs as two sessions, one per core, so both end about together: the fault suite, the orchestration,
# stream and warehouse tests (real processes and servers) in one, the rest in the other
BESIDE := tests/faults tests/orchestration tests/stream tests/warehouse

pytest: install chromium ## pytest only, as two sessions side by side (BESIDE, then the rest)
	@tmp=$$(mktemp -d); \
	$(BIN)/pytest $(BESIDE) --basetemp=$$tmp/beside -p no:cacheprovider $(PYTEST_ARGS) > $$tmp/beside.log 2>&1 & beside=$$!; \
	$(BIN)/pytest $(addprefix --ignore=,$(BESIDE)) --basetemp=$$tmp/rest $(PYTEST_ARGS); rest=$$?; \
	wait $$beside; beside_rc=$$?; \
	echo "==> $(BESIDE) (run beside the rest):"; cat $$tmp/beside.log; rm -rf $$tmp; \
	test $$rest -eq 0 -a $$beside_rc -eq 0

chromium: ## Debian's chromium for the dashboard's browser tests (apt-get install when missing)
	@if [ -x $(CHROMIUM) ]; then echo "chromium: using $(CHROMIUM)"; else \
	  echo "chromium: $(CHROMIUM) missing: $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium"; \
	  $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; fi

screenshot: install chromium ## Regenerate docs/dashboard.png: the page over a freshly loaded test warehouse
	USERPIPE_DASHBOARD_SCREENSHOT=$(CURDIR)/docs/dashboard.png $(BIN)/pytest -q tests/dashboard/test_page.py -k every_panel

bench: install ## Benchmarks: print measured rates and ratios (not tests); BENCH_ARGS=--full for README sizes (10M users: hours)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

dashboards: install ## Regenerate grafana/dashboards/*.json from grafana/build_dashboard.py
	$(BIN)/python grafana/build_dashboard.py

up: install ## docker-compose stack (PostgreSQL, Kestra, Grafana, local API) with a guided quick start
	$(BIN)/userpipe quickstart

down: ## Stop the docker-compose stack
	docker compose down

clean: ## Stop the embedded PostgreSQL and remove .venv and local state
	-$(BIN)/userpipe db stop
	rm -rf $(VENV) .userpipe dbt_project/target dbt_project/logs
