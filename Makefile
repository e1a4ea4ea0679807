# Two entry points for a fresh machine (Python >= 3.11): `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench install

$(BIN)/kgweave: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(BIN)/kgweave

install: $(BIN)/kgweave

demo: $(BIN)/kgweave  ## the main job: sample corpus -> ./kgweave.db (embedded store, offline extractor)
	$(BIN)/kgweave build examples/abstracts/iclr2023_gnn_abstracts.jsonl
	$(BIN)/kgweave stats

test: $(BIN)/kgweave  ## the whole test suite (CI runs exactly this)
	$(BIN)/python -m pytest -q

lint: $(BIN)/kgweave
	$(BIN)/ruff check flows agents graph_store analysis tests benchmarks

bench: $(BIN)/kgweave
	$(BIN)/python benchmarks/build_throughput.py
