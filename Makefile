# callqa: `make run` analyzes the sample call, `make test` runs ruff, mypy and pytest.
# Both create .venv and install everything first (torch pins: see README, "Install").

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip warns once per package about this machine's empty local index folders: not our news
PIP_QUIET := 2>&1 | { grep -v "is neither a file nor a directory" || true; }
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.callqa-installed
export CALLQA_MODEL_CACHE ?= $(CURDIR)/$(VENV)/callqa-models
export PYANNOTE_METRICS_ENABLED := 0
export HF_HUB_OFFLINE := 1

.PHONY: install browser run test lint typecheck pytest bench clean

install: $(STAMP) browser

# the review-page tests drive Debian's Chromium (Playwright never downloads a browser here)
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core; }

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip $(PIP_QUIET)
	# CPU-usable torch stack verified with pyannote.audio 4.0.7 (see README)
	$(BIN)/pip install --quiet torch==2.14.1 torchaudio==2.11.0 torchcodec==0.17.0 $(PIP_QUIET)
	$(BIN)/pip install --quiet -e '.[dev]' $(PIP_QUIET)
	touch $(STAMP)

run: install
	$(BIN)/callqa analyze samples/call.wav

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	# pytest exits 5 when it collects no tests: that is a failure too
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/transcribe.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
