# netsec: `make demo` runs the whole pipeline on synthetic data; `make test` runs the test suite.
# Both create .venv and install everything they need (age and chromium from Debian when missing).
# `make tools` puts DVC in its own venv, .venv-tools (its hydra-core pins an antlr4 runtime that
# moto[server] in .venv cannot use); tests/test_dvc.py runs it.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
NETSEC := $(VENV)/bin/netsec
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MONGO_PORT ?= 27017
TOOLS_VENV ?= .venv-tools
DVC_SPEC := dvc>=3.50,<4

.PHONY: install tools age chromium demo test mongo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

tools: $(TOOLS_VENV)/.installed

$(TOOLS_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet '$(DVC_SPEC)'
	touch $@

age:
	@command -v age >/dev/null && command -v age-keygen >/dev/null || \
	  ( $(SUDO) apt-get install -y -qq age || ( $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq age ) )

chromium:
	@command -v chromium >/dev/null || \
	  ( $(SUDO) apt-get install -y -qq chromium || ( $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium ) )

demo: install
	$(NETSEC) run --source synthetic
	$(PY) scripts/make_sample.py --rows 2000 --output demo/sample_flows.npy
	$(NETSEC) predict demo/sample_flows.npy --output demo/predictions.csv

test: install tools age chromium
	$(PY) -m pytest -q

mongo: install
	@echo "SecantusDB (MongoDB wire protocol) on mongodb://127.0.0.1:$(MONGO_PORT)/ - data in ./mongo-data"
	$(VENV)/bin/secantusd-py --host 127.0.0.1 --port $(MONGO_PORT) --storage-path mongo-data

bench: install
	$(PY) scripts/bench_quality.py
	$(PY) scripts/bench_predict.py

clean:
	rm -rf artifacts logs mlruns.db mlruns demo .pytest_cache
