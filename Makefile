# The two commands of the quick start: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo run test test-fast bench lint clean db-stop

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Generate a synthetic bank (10,000 customers, two years) and run crm_daily for its last date.
demo: install
	$(BIN)/crm demo

## Run crm_daily for one date on what is already generated: make run DATE=2026-09-30
run: install
	$(BIN)/crm run $(if $(DATE),--date $(DATE),)

## Unit, integration and end-to-end tests (embedded Postgres unless CRM_PG_DSN is set).
test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not integration and not e2e"

bench: install
	$(BIN)/python -m bench.run_all

db-stop:
	$(BIN)/crm db stop

clean:
	-$(BIN)/crm db stop
	rm -rf .crm dbt_project/target dbt_project/logs
