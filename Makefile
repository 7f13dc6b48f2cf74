# walkaway — run `make` (or `make help`) to list the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEALS ?= 20000
SEED ?= 7
SYNTH_DIR := data/raw/synthetic-crm
SCORES := data/processed/scored-open-deals.csv
REPORT := data/processed/pipeline-report.html
LATER_DIR := data/raw/synthetic-crm-later
MONTHLY := data/processed/monthly
MONITOR_REPORT := data/processed/monitor-report.html
SHIFT ?= rival:EMEA
STAMP := $(VENV)/.installed

.PHONY: help install lock demo synth train score chromium java test lint format bench bench-quick real-data notebooks mlflow-ui clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-11s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench,spark]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install walkaway with its test, benchmark and spark extras (pinned by constraints.txt)

lock: ## Re-resolve dependencies and rewrite constraints.txt (then commit it)
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e '.[test,notebooks,bench,spark]'
	.venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt
	rm -rf .venv-lock

demo: install ## Synthesise a CRM history, train, register and score its open deals; six months on, monitor
	$(BIN)/walkaway synth --deals $(DEALS) --seed $(SEED) --out $(SYNTH_DIR)
	$(BIN)/walkaway train --history $(SYNTH_DIR)
	$(BIN)/walkaway score --deals $(SYNTH_DIR)/pipeline.csv --out $(SCORES) --report $(REPORT) --as-of 2025-12-31
	@echo "Six months on, month by month$(if $(SHIFT), with the shift $(SHIFT)): continue the world, score each month's pipeline"
	@previous=$(SYNTH_DIR); for month in 1 2 3 4 5 6; do \
	  later=$(LATER_DIR)/month-$$month; \
	  $(BIN)/walkaway synth --continue-from $$previous --months 1 $(if $(SHIFT),--shift $(SHIFT)) \
	    --out $$later > /dev/null || exit 1; \
	  if [ $$month -lt 6 ]; then \
	    as_of=$$($(BIN)/python -c 'import json, sys; print(json.load(open(sys.argv[1]))["export_date"])' $$later/synth.json); \
	    $(BIN)/walkaway score --deals $$later/pipeline.csv --out $(MONTHLY)/scored-month-$$month.csv \
	      --as-of $$as_of > /dev/null || exit 1; \
	  fi; \
	  previous=$$later; \
	done
	$(BIN)/walkaway monitor --scored $(SCORES) $(MONTHLY)/scored-month-?.csv --history $(LATER_DIR)/month-6 --report $(MONITOR_REPORT)
	@echo "Open the pipeline report: $(REPORT)   the monitoring page: $(MONITOR_REPORT)   Browse runs and the model registry: make mlflow-ui"

synth: install ## Write a synthetic CRM export to data/raw/synthetic-crm (DEALS=, SEED=)
	$(BIN)/walkaway synth --deals $(DEALS) --seed $(SEED) --out $(SYNTH_DIR)

train: install ## Train on HISTORY (default: the synthetic export) and register the model
	$(BIN)/walkaway train --history $(or $(HISTORY),$(SYNTH_DIR))

score: install ## Score the open pipeline DEALS_FILE (default: the synthetic one) with the champion
	$(BIN)/walkaway score --deals $(or $(DEALS_FILE),$(SYNTH_DIR)/pipeline.csv) --out $(SCORES) --report $(REPORT)

chromium: ## Install Debian's headless Chromium when missing (the report's render test needs it)
	@command -v chromium >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

java: ## Install Debian's Java 17 runtime when no Java 17+ is found (Spark needs it)
	@version=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
	if [ -z "$$version" ] || [ "$$version" -lt 17 ]; then \
		echo "Installing a Java 17 runtime for Spark (openjdk-17-jre-headless)"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	fi

test: install chromium java ## Run the test suite (unit, property, integration; Chromium and Java 17 installed if missing; ../shared/data required)
	@# One test file per worker on every core (pytest-xdist), LightGBM on one thread per worker:
	@# its OpenMP threads spin, and two workers each taking every core would stall each other.
	OMP_NUM_THREADS=1 WALKAWAY_REQUIRE_CHROMIUM=1 WALKAWAY_REQUIRE_SHARED_DATA=1 \
		$(BIN)/python -m pytest -n auto --dist loadfile

lint: install ## Check style with ruff and types with mypy
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: install ## Format the code with ruff
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install ## Run the benchmarks (writes benchmarks/RESULTS.md)
	$(BIN)/python -m benchmarks.run

bench-quick: install ## Quick benchmarks for development (small sizes, one run each)
	$(BIN)/python -m benchmarks.run --quick

real-data: install ## Report walkaway on the public exports in ../shared/data (writes docs/real-data.md)
	$(BIN)/python docs/make_real_data.py

NOTEBOOKS_STAMP := $(VENV)/.notebooks-installed

$(NOTEBOOKS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[notebooks]'
	@touch $(NOTEBOOKS_STAMP)

notebooks: $(NOTEBOOKS_STAMP) ## Open Jupyter Lab on the notebooks (installs Jupyter once)
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

mlflow-ui: install ## Browse MLflow runs and the registry at http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///models/mlflow.db} --host 127.0.0.1 --port 5000

clean: ## Remove generated data, models and caches (keeps .venv)
	rm -rf data/raw/* data/interim/* data/processed/* models/* .pytest_cache .ruff_cache
	touch data/raw/.gitkeep data/interim/.gitkeep data/processed/.gitkeep models/.gitkeep
