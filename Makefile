# Two commands: `make serve` (set up and serve the default models) and `make test` (set up and run the tests).
PYTHON ?= python3
VENV ?= .venv
# The service's NER_HOST, NER_PORT and NER_THREADS when set (not the shell's own HOST or PORT);
# `make serve PORT=9000` overrides them.
HOST = $(or $(NER_HOST),127.0.0.1)
PORT = $(or $(NER_PORT),8000)
THREADS = $(or $(NER_THREADS),2)
BIN := $(VENV)/bin
TORCH := torch==2.13.0
# An index holding torch's CPU build, for a machine where pip would otherwise take the CUDA build of several
# GB from PyPI: `make install TORCH_INDEX=https://download.pytorch.org/whl/cpu`.
TORCH_INDEX ?=
TORCH_FROM := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
# The service's dependencies at the versions the tests pass with, and training's and the tests' (torch
# aside); `make constraints` writes both again.
CONSTRAINTS := docker/constraints.txt
DEV_CONSTRAINTS := docker/constraints-dev.txt

.PHONY: install serve test test-fast lint bench constraints clean

# A failed start (python3 without its venv module, pip unreachable) leaves no half-made environment behind.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install --quiet --upgrade pip || { rm -rf $(VENV); exit 1; }

# The service needs no torch: the models carry ONNX encoders.
$(VENV)/.serve: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[serve]'
	touch $@

# Training and the tests need torch: pinned and installed first (its CPU build where pip finds one: TORCH_INDEX).
$(VENV)/.dev: pyproject.toml $(CONSTRAINTS) $(DEV_CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(DEV_CONSTRAINTS) $(TORCH_FROM) $(TORCH)
	$(BIN)/pip install --quiet -c $(DEV_CONSTRAINTS) -e '.[dev]'
	touch $@ $(VENV)/.serve

install: $(VENV)/.dev

serve: $(VENV)/.serve
	NER_THREADS=$(THREADS) $(BIN)/ner serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev
	$(BIN)/ruff check ner api tests benchmarks
	$(BIN)/pytest -q

test-fast: $(VENV)/.dev
	$(BIN)/pytest -q -m "not slow"

lint: $(VENV)/.dev
	$(BIN)/ruff check ner api tests benchmarks
	$(BIN)/ruff format --check ner api tests benchmarks

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks.run

# After a dependency changes in pyproject.toml: install it without the old pins (pip upgrades what the
# change asks for, and keeps what still satisfies it), then pin what is installed.
constraints: | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_FROM) $(TORCH)
	$(BIN)/pip install --quiet --upgrade -e '.[dev]'
	$(BIN)/python docker/constraints.py > $(CONSTRAINTS).new || { rm -f $(CONSTRAINTS).new; exit 1; }
	$(BIN)/python docker/constraints.py --dev > $(DEV_CONSTRAINTS).new || { rm -f $(CONSTRAINTS).new $(DEV_CONSTRAINTS).new; exit 1; }
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	mv $(DEV_CONSTRAINTS).new $(DEV_CONSTRAINTS)
	touch $(VENV)/.dev $(VENV)/.serve

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
