# Two commands set up a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench clean

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "==> installing requirements into $(VENV) (torch first, pinned)"
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m app bootstrap
	$(BIN)/python -m app serve $(if $(PORT),--port $(PORT)) $(if $(ADDRESS),--address $(ADDRESS))

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check app core db tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/extract.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/dashboard.py

clean:
	rm -rf var reports test-artifacts
