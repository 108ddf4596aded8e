# Two entry points for people: `make demo` (offline demo) and `make test` (every test).
# Both create and fill the virtual environment they need; nothing else has to be installed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit venv clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## Offline demo against the fake APsystems cloud.
demo: $(STAMP)
	$(PY) -m scripts.demo

## Every test: static checks first, then the whole pytest suite (exit code 5, "no tests ran", fails).
test: $(STAMP)
	$(PY) -m ruff check apps fakes tests scripts benchmarks
	$(PY) -m mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check apps fakes tests scripts benchmarks
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
