# All set-up lives here so that the README's two Quickstart commands work on a fresh machine.
# torch is pinned in the same pip command (constraints.txt): spikingjelly asks for torchvision and
# torchaudio unpinned, and an unpinned torch would pull a multi-GB CUDA build.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test,frameworks,ray]'
	touch $@

.PHONY: install demo test lint bench
install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/ashbench energy

test: $(VENV)/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check ashbench tests benchmarks

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/profiler_overhead.py --threads 1
	$(BIN)/python benchmarks/train_overhead.py
