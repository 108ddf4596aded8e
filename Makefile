# Two entry points for people: `make demo` (offline demo) and `make test` (every test).
# Both create and fill the virtual environments they need; `make test` also installs the Debian
# packages it lacks (patchelf, chromium, chromium-driver), provides a Python >= 3.14.2 (found, or set
# up once from Debian's binary packages into ~/.cache/apsystems-chargehq) and builds .venv-ha, Home
# Assistant 2026.11 for the end-to-end suite; nothing else has to be installed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Home Assistant for the end-to-end suite: its own venv on Python 3.14 (scripts/ha_env.py).
HA_VENV := .venv-ha
# pytest runs in a private network namespace with only loopback (scripts/netns.py), so that
# nothing the end-to-end suite starts can listen beyond 127.0.0.1/::1.
NETNS := $(PY) -m scripts.netns --

.PHONY: demo test e2e e2e-env lint unit venv clean dist

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## Debian packages, Python 3.14 and Home Assistant 2026.11 in $(HA_VENV); each a no-op when already there.
e2e-env:
	$(PYTHON) -m scripts.system_packages
	$(PYTHON) -m scripts.ha_env

## Offline demo against the fake APsystems cloud.
demo: $(STAMP)
	$(PY) -m scripts.demo

## Every test: static checks first, then the whole pytest suite, end-to-end included
## (exit code 5, "no tests ran", fails; a missing Home Assistant fails instead of skipping).
test: $(STAMP) e2e-env
	$(PY) -m ruff check apps fakes tests scripts benchmarks
	$(PY) -m ruff format --check apps fakes tests scripts benchmarks
	$(PY) -m mypy
	APS_E2E_REQUIRED=1 $(NETNS) $(PY) -m pytest

## Only the end-to-end suite (real Home Assistant + AppDaemon + the fakes).
e2e: $(STAMP) e2e-env
	APS_E2E_REQUIRED=1 $(NETNS) $(PY) -m pytest -m e2e tests/e2e

lint: $(STAMP)
	$(PY) -m ruff check apps fakes tests scripts benchmarks
	$(PY) -m ruff format --check apps fakes tests scripts benchmarks
	$(PY) -m mypy

## The release zip (dist/apsystems-chargehq-<version>.zip) and its SHA-256; same bytes for the same commit.
dist:
	$(PYTHON) -m scripts.dist

clean:
	rm -rf $(VENV) $(HA_VENV) dist .pytest_cache .mypy_cache .ruff_cache
