# Every target bootstraps .venv from pyproject.toml on first use, so a fresh
# checkout needs nothing but python3 (>= 3.11).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: serve test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/emqgw serve $(ARGS)

test: $(STAMP)
	$(VENV)/bin/pytest $(ARGS)

# ruff over the tree, mypy over the core and the account store (see [tool.mypy] in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/broker_throughput.py $(ARGS)

clean:
	rm -rf $(VENV)
