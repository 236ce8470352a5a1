# seatkeeper: `make demo` tells the main story on the local stack; `make test` runs lint and every test.
# Both create .venv and install what they need (pinned by constraints.txt) on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: the demo needs only the local stack (.[local]); lint and tests add the dev toolchain
# (.[local,dev]: mypy, checkov, schemathesis, Playwright, ...). Either order works: the dev stamp
# builds on the local one, and installing .[local] again never removes what dev added.
LOCAL_STAMP := $(VENV)/.local-stamp
STAMP := $(VENV)/.installed-stamp

.PHONY: demo local test unit lint bench clean layer-requirements

$(LOCAL_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[local]'
	touch $(LOCAL_STAMP)

$(STAMP): $(LOCAL_STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[local,dev]'
	touch $(STAMP)

demo: $(LOCAL_STAMP)
	$(BIN)/seatkeeper demo

local: $(LOCAL_STAMP)
	$(BIN)/seatkeeper local --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	node --check functions/api/dashboard/app.js
	$(BIN)/mypy
	# The import contracts of pyproject.toml's [tool.importlinter]: the domain's layers, the routes' and the local stack's seams.
	PYTHONPATH=layers/seatkeeper:local:functions/api $(BIN)/lint-imports --no-cache
	$(BIN)/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	BC_SKIP_MAPPING=TRUE $(BIN)/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

# The dashboard's browser test drives Debian's Chromium (Playwright never downloads its own).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# From the npm registry, never committed: axe-core for the browser test's accessibility check,
# oidc-provider (a certified OAuth server) for the OAuth tests, Prism for mocks served from the
# vendors' API descriptions (tests/integration/test_vendor_mocks.py).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# One worker per core, each with its own local stack; a module stays on one worker (its fixtures are per module).
test: lint $(CHROMIUM) node_modules/.installed
	mkdir -p test-output
	$(BIN)/python -m pytest -n auto --dist loadfile

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

# dlt (and DuckDB) only for the benchmarks that compare with it: neither `make test` nor `make demo` installs them.
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(LOCAL_STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[local,bench]'
	touch $(BENCH_STAMP)

# Every benchmark runs and prints its figures against its goal, even after one misses; `make bench`
# fails if any did. The two at the largest sizes take about 10 and 16 minutes here.
BENCHMARKS := layer_size cold_start sync versus_dlt pacing aws_bill positions largest_app largest_reconciliation

bench: $(BENCH_STAMP)
	@uptime
	@missed=""; for b in $(BENCHMARKS); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || missed="$$missed $$b"; done; \
	if [ -n "$$missed" ]; then echo "goal not met:$$missed"; exit 1; fi

# The layer's requirements.txt, pinned from constraints.txt (a unit test fails when they drift apart).
layer-requirements: $(STAMP)
	$(BIN)/python scripts/layer_requirements.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis test-output .seatkeeper node_modules
