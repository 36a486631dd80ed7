# The two entry points a new user needs (see README.md):
#   make run    set up, build the knowledge base from $(SHARED), start the app
#   make test   set up, run the whole test suite (what CI runs)
VENV    ?= .venv
PY      := $(VENV)/bin/python
KB      := $(VENV)/bin/kb
SHARED  ?= ../shared
DB      ?= data/kb.duckdb
PORT    ?= 8501
export HF_HUB_OFFLINE = 1

.PHONY: setup run build test browser lint

setup: $(VENV)/.installed

# torch first, pinned to the CPU build that lies on disk: an unpinned torch pulls a CUDA build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

build: setup
	$(KB) ingest $(SHARED)/seeds $(SHARED)/datasets --db $(DB)
	$(KB) index --db $(DB)
	$(KB) stats --db $(DB)

run: build
	$(KB) app --db $(DB) --port $(PORT)

# Debian's Chromium for the real-browser test (Playwright cannot download a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: setup browser
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy kb ingest app
