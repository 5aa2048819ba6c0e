# Two commands: `make serve` (set up and serve the default models) and `make test` (set up and run the tests).
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
THREADS ?= 2
BIN := $(VENV)/bin
TORCH := torch==2.13.0
# The service's dependencies at the versions the tests pass with (`make constraints` writes them again).
CONSTRAINTS := docker/constraints.txt

.PHONY: install serve test test-fast lint bench constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The service needs no torch: the models carry ONNX encoders.
$(VENV)/.serve: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[serve]'
	touch $@

# Training and the tests need torch: pinned and installed first, so that pip takes the CPU build.
$(VENV)/.dev: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
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
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet --upgrade -e '.[dev]'
	$(BIN)/python docker/constraints.py > $(CONSTRAINTS).new || { rm -f $(CONSTRAINTS).new; exit 1; }
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	touch $(VENV)/.dev $(VENV)/.serve

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
