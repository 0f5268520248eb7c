# Net Inspector — the two commands (`make run`, `make test`) set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: run test zoo lint format bench train screenshot clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when the project's metadata or the pins change.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/net-inspector $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(ARGS)

# Every model of tests/zoo through graph, snapshot, activations and the window: a table.
zoo: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.zoo.run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/net-inspector bench $(ARGS)

train: $(STAMP)
	$(BIN)/net-inspector train --data ../shared/mnist $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
