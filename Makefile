# callqa: `make run` analyzes the sample call, `make test` runs ruff, mypy, the import contract
# and pytest.
# Both create .venv and install requirements.lock into it first (see README, "Install");
# `make lock` regenerates that lock from pyproject.toml and the torch pins below.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip warns once per package about this machine's empty local index folders: not our news
PIP_QUIET := 2>&1 | { grep -v "is neither a file nor a directory" || true; }
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.callqa-installed
LOCK := requirements.lock
# the installer itself is pinned too (the pip that built the venv the lock was first taken from)
PIP_VERSION := 26.3
export CALLQA_MODEL_CACHE ?= $(abspath $(VENV))/callqa-models
export PYANNOTE_METRICS_ENABLED := 0
export HF_HUB_OFFLINE := 1

.PHONY: install lock browser run sample sample-tools corpus accuracy test lint typecheck contracts pytest bench clean

install: $(STAMP)

# every package at the lock's exact version, each file checked against the lock's sha256 hashes;
# then callqa itself, editable, built with the lock's setuptools (no build isolation, so nothing
# unlocked is fetched); pip check: the lock is complete and consistent
$(STAMP): $(LOCK) pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip==$(PIP_VERSION) $(PIP_QUIET)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK) $(PIP_QUIET)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . $(PIP_QUIET)
	$(BIN)/pip check
	touch $(STAMP)

# Regenerate requirements.lock: pyproject.toml with the dev extra, plus the torch stack pinned here
# (CPU-usable, verified with pyannote.audio 4.0.7), resolved by uv against PyPI for CPython 3.11 on
# Linux x86-64, with the hashes of all of PyPI's files of each version. Versions already in the lock
# are kept while the ranges allow them; `make lock UPGRADE=1` moves everything to the newest allowed.
# pyproject.toml keeps ranges for people installing callqa into their own environment.
TORCH_PINS := torch==2.14.1 torchaudio==2.11.0 torchcodec==0.17.0
UV_VERSION := 0.13.9
LOCK_TOOLS := $(VENV)/lock-tools
lock:
	test -x $(LOCK_TOOLS)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOLS) && \
		$(LOCK_TOOLS)/bin/pip install --quiet uv==$(UV_VERSION) $(PIP_QUIET); }
	printf '%s\n' $(TORCH_PINS) > $(LOCK_TOOLS)/torch-pins.txt
	if [ -f $(LOCK) ]; then cp $(LOCK) $(LOCK_TOOLS)/$(LOCK); else rm -f $(LOCK_TOOLS)/$(LOCK); fi
	$(LOCK_TOOLS)/bin/uv pip compile pyproject.toml $(LOCK_TOOLS)/torch-pins.txt --extra dev \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--default-index https://pypi.org/simple --generate-hashes --no-strip-markers --no-header \
		$(if $(UPGRADE),--upgrade) --quiet --output-file $(LOCK_TOOLS)/$(LOCK)
	@{ printf '%s\n' \
		'# requirements.lock: everything callqa and its tests install (the dev extra and the torch' \
		'# stack included), for CPython 3.11 on Linux x86-64, at one exact version each, with the' \
		'# sha256 of every file PyPI has for that version. `make install` installs exactly this' \
		'# (pip --require-hashes --no-deps), then callqa itself (editable, --no-deps).' \
		'# Made by `make lock` (uv $(UV_VERSION) pip compile of pyproject.toml [dev] + the Makefile'"'"'s' \
		'# TORCH_PINS against PyPI; locked versions are kept, `make lock UPGRADE=1` moves them).' \
		'# Do not edit by hand: change pyproject.toml or the Makefile, then run `make lock`.' \
		'# torch is PyPI'"'"'s default Linux build, which brings the CUDA 13 runtime wheels (nvidia-*,' \
		'# cuda-*, triton); callqa runs it on the CPU.' \
		'#'; \
	  sed 's|$(LOCK_TOOLS)/torch-pins.txt|TORCH_PINS (Makefile)|' $(LOCK_TOOLS)/$(LOCK); } > $(LOCK)

# the review-page tests drive Debian's Chromium (Playwright never downloads a browser here):
# a dependency of the tests only, so `make run` needs neither root nor a browser
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core; }

# the readable report of the sample call (a realistic after-sales call, see samples/NOTICE.md)
# against the sample policy; the record and the timeline picture go to call.record.json and
# call.timeline.png here
run: install
	$(BIN)/callqa analyze samples/call.wav --policy samples/policies/ecommerce-aftersales.yaml \
		--layout stereo-agent-left

# Rebuild samples/call.wav and samples/call.json (committed; neither run nor test needs this):
# piper-tts and its voice in a venv of their own, every file checked against the hashes of
# samples/build-requirements.txt; Debian's espeak-ng (the customer) and sox (the phone line),
# installed when missing (root or sudo)
SAMPLE_VENV := .venv-sample
sample: sample-tools
	$(SAMPLE_VENV)/bin/python samples/build_sample_call.py

sample-tools:
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
		espeak-ng sox; }
	test -x $(SAMPLE_VENV)/bin/python || $(PYTHON) -m venv $(SAMPLE_VENV)
	$(SAMPLE_VENV)/bin/pip install --quiet --require-hashes -r samples/build-requirements.txt \
		$(PIP_QUIET)

# The evaluation corpus (samples/corpus_calls.py) into var/corpus: the sample venv's piper voice,
# espeak-ng and sox, plus the real phone call shipped in the pyannote.audio wheel
corpus: install sample-tools
	$(SAMPLE_VENV)/bin/python samples/build_corpus.py --pyannote-sample \
		"$$($(BIN)/python -c 'import pathlib, pyannote.audio as p; print(pathlib.Path(p.__file__).parent / "sample")')"

# accuracy of this checkout on the corpus, through callqa analyze (bench/accuracy.py)
accuracy: corpus
	$(BIN)/python bench/accuracy.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# the import contract of pyproject.toml ([tool.importlinter]): the layers and rooms of the
# README's Layout, no import cycle between rooms
contracts: install
	$(BIN)/lint-imports --no-cache

pytest: install browser
	# pytest exits 5 when it collects no tests: that is a failure too
	$(BIN)/pytest -q

test: lint typecheck contracts pytest

bench: install
	$(BIN)/python bench/transcribe.py

clean:
	rm -rf $(VENV) .venv-sample .mypy_cache .ruff_cache .pytest_cache
