# Set-up and everyday commands. Every target installs what it needs first.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.dev-stamp
LLM_STAMP := $(VENV)/.llm-test-stamp
DATA_DIR ?= ./om-data
# all-MiniLM-L6-v2's files as a package of their own (packages/octomem-minilm), built here
MODEL_WHEEL := dist/octomem_minilm_l6_v2-1.2.0-py3-none-any.whl
# the environment the model wheel's build step writes the model's ONNX graph in: the onnx
# package, needed there only (octomem runs the graph with onnxruntime, never imports onnx)
EXPORT_VENV := build/onnx-export
# bge-small-en-v1.5 (int8 ONNX), the optional embedder of `octomem[bge]` (packages/octomem-bge-small-en-v1-5)
BGE_WHEEL := dist/octomem_bge_small_en_v1_5-1.0.0-py3-none-any.whl
# pyenv's shims find python3.12 / python3.13 only when they are in its version list
ifneq ($(shell command -v pyenv 2>/dev/null),)
export PYENV_VERSION ?= $(shell pyenv versions --bare --skip-aliases 2>/dev/null | grep -E '^3\.(11|12|13)\.[0-9]+$$' | sort -t. -k2,2n | paste -sd: -)
endif

.PHONY: install install-dev demo test browser ui-screenshots test-llm test-versions dist lint bench bench-longmemeval bench-memory bench-serve bench-scale bench-store bench-history bench-ocr clean talk-report recall-report

# what a user needs: octomem and its dependencies, no torch (`make demo`)
$(STAMP): pyproject.toml packages/octomem-minilm/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(MAKE) --no-print-directory $(MODEL_WHEEL)
	$(BIN)/pip install --quiet --find-links dist -e .
	touch $(STAMP)

# the model's files, checked against the official release's sha256; its ONNX graph written
# from them (checked against its own recorded sha256); then their wheel
$(MODEL_WHEEL): packages/octomem-minilm/pyproject.toml packages/octomem-minilm/fetch_weights.py packages/octomem-minilm/export_onnx.py packages/octomem-minilm/octomem_minilm_l6_v2/__init__.py packages/octomem-minilm/README.md packages/wheel_files.py | $(EXPORT_VENV)/bin/python
	$(BIN)/python packages/octomem-minilm/fetch_weights.py
	$(EXPORT_VENV)/bin/python packages/octomem-minilm/export_onnx.py
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist packages/octomem-minilm

$(EXPORT_VENV)/bin/python:
	$(PY) -m venv $(EXPORT_VENV)
	$(EXPORT_VENV)/bin/pip install --quiet 'onnx>=1.17'

# bge-small-en-v1.5's int8 ONNX file and tokenizer, checked against their upstream sha256,
# then their wheel (not installed by `make install`: the `bge` extra)
$(BGE_WHEEL): packages/octomem-bge-small-en-v1-5/pyproject.toml packages/octomem-bge-small-en-v1-5/fetch_weights.py packages/wheel_files.py
	$(BIN)/python packages/octomem-bge-small-en-v1-5/fetch_weights.py
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist packages/octomem-bge-small-en-v1-5

# what the suite needs too: the dev extra, with sentence-transformers on torch (the suite
# checks the ONNX embedder against it). The CPU build of torch first, where the index has
# it, so that nothing pulls the multi-GB CUDA build. The dev extra includes the bge extra,
# so the suite tests that model's package too
$(DEV_STAMP): $(STAMP) packages/octomem-bge-small-en-v1-5/pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(MAKE) --no-print-directory $(BGE_WHEEL)
	$(BIN)/pip install --quiet --find-links dist -e '.[dev]'
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

demo: install
	$(BIN)/octomem demo --data-dir $(DATA_DIR)

# libfaketime (Debian's faketime) for the clock-skew test's host a day off, and Debian's
# chromium for the inspector's browser tests (Playwright drives it; no browser is
# downloaded): installed with apt-get when missing and this is root, else the tests say
# what to install
test: install-dev browser
	@ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq faketime >/dev/null; } || echo "libfaketime is missing (apt-get install faketime): test_clock_skew will fail"
	$(BIN)/pytest -q

browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium is missing (apt-get install chromium): the browser tests (tests/integration/test_ui_browser.py) will skip"

# the inspector's pages as PNGs in docs/ui/ (docs/ui.md), taken by its browser tests
ui-screenshots: install-dev browser
	OCTOMEM_UI_SCREENSHOTS=docs/ui $(BIN)/pytest -q -n 0 -s tests/integration/test_ui_browser.py

# octomem's sdist and wheel in dist/, beside the model's wheel
dist: install-dev
	rm -f dist/octomem-[0-9]*
	$(BIN)/python -m build --outdir dist . >/dev/null

# the wheel in a clean virtualenv of each supported Python (noxfile.py): the import (no
# torch), `octomem demo` and `octomem serve` from outside the repository, and the unit tests
test-versions: dist
	$(BIN)/nox --error-on-missing-interpreters -s wheel

$(LLM_STAMP): $(DEV_STAMP) pyproject.toml
	# llama-cpp-python is an sdist: its first install compiles llama.cpp for the CPU (about
	# 10 minutes on 2 cores); pip caches the wheel, so later installs take seconds
	$(BIN)/pip install --quiet --find-links dist -e '.[llm-test]'
	touch $(LLM_STAMP)

# process() and recall() against Gemma 3 270M served by llama.cpp's server, both
# extraction modes (tests/llm_server); not part of `make test`
test-llm: $(LLM_STAMP)
	$(BIN)/pytest -q -rA -n 0 -m llm_server tests/llm_server

# the phrasing corpus (tests/data/talk_corpus.py): pass rate per category, offline (the
# rules) and llm-plumbing (a scripted model handed the gold answers: the LLM path, not a
# model's extraction - that is `make test-llm`'s), then every failing case with its reason
talk-report: install-dev
	$(BIN)/python -m tests.scenarios.talk_runner 2>/dev/null

# the recall-regression fixture (tests/data/recall_fixture.py): recall@5/@10 per category,
# turns only and with the offline extraction, then every question whose answer is missed
recall-report: install-dev
	$(BIN)/python -m tests.scenarios.recall_regression 2>/dev/null

bench: install-dev
	# mem0ai (the comparison) and matplotlib (the charts) are optional: without them the
	# benchmarks skip mem0 and the PNGs and say so
	$(BIN)/pip install --quiet --find-links dist -e '.[bench]' || echo "bench extras not installed: mem0 and charts skipped"
	$(BIN)/python -m benchmarks locomo --data ../shared/bench/locomo_dev.json --limit-conversations 1 --json bench-results/locomo.json
	$(BIN)/python -m benchmarks perf --sizes 1000 --json bench-results/perf.json
	$(BIN)/python -m benchmarks.process_cost --sizes 250,500 --json bench-results/process_cost.json

# LongMemEval-S dev (72 questions, ~34k turns) in four parts, each reportable alone,
# then one report with the paired intervals (docs/benchmarks.md#retrieval-quality-longmemeval)
LME := ../shared/bench/longmemeval_s_dev.json.gz
bench-longmemeval: install-dev
	for k in 1 2 3 4; do $(BIN)/python -m benchmarks locomo --data $(LME) --part $$k/4 --no-mem0 --json bench-results/lme-part$$k.json || exit 1; done
	$(BIN)/python -m benchmarks locomo-report --data $(LME) bench-results/lme-part1.json bench-results/lme-part2.json bench-results/lme-part3.json bench-results/lme-part4.json --json bench-results/longmemeval.json

# resident memory over 2,000 process() calls for 20 users: a row every 200 calls
# (docs/benchmarks.md#memory-over-many-calls)
bench-memory: install-dev
	$(BIN)/python -m benchmarks.memory_growth --calls 2000 --every 200

# the HTTP service under 1, 10 and 50 concurrent clients (80% search, 20% add), side by
# side with the same calls in-process; about 8 minutes (docs/benchmarks.md#the-http-service-under-load)
bench-serve: install-dev
	$(BIN)/python -m benchmarks serve --clients 1,10,50 --duration 60 --max-requests 5000 --json bench-results/serve.json

# embedded against server mode at 10k memories, then one against two `octomem serve`
# processes, on a Chroma server and an ArcadeDB Bolt server the bench starts and stops
# (docs/benchmarks.md#server-mode-and-scale-out)
bench-scale: install-dev
	$(BIN)/python -m benchmarks scale --size 10000 --duration 60 --max-requests 3000 --json bench-results/scale.json

# the LangGraph store adapter against LangGraph's InMemoryStore, same embedder, one run:
# put and search as ratios (docs/benchmarks.md#langgraph-store-adapter-vs-inmemorystore)
bench-store: install-dev
	$(BIN)/python -m benchmarks store --items 300 --queries 100 --json bench-results/store.json

bench-history: install-dev
	$(BIN)/python -m benchmarks.history_recall --data-dir bench-results/history-store --queries 100

# OCR's character and word error rates, lines lost and seconds per image, before and after
# issue 48, then where a 2-megapixel screen's time goes (docs/benchmarks.md#ocr-of-images)
bench-ocr: install-dev
	$(BIN)/python -m benchmarks.ocr
	$(BIN)/python -m benchmarks.ocr --stages 5

lint: install-dev
	$(BIN)/ruff check octomem benchmarks tests
	$(BIN)/ruff format --check octomem benchmarks tests
	$(BIN)/mypy octomem benchmarks
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache .nox dist build
