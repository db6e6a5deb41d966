# scrape-push developer commands. Two do all the set-up on a fresh machine:
#   make demo   run the real handler locally against emulated AWS and a live exposition endpoint
#   make test   lint, type-check, unit + functional + integration tests, SAM validate and build
PYTHON ?= python3
VENV   ?= .venv
SAMENV ?= .venv-sam
PY     := $(VENV)/bin/python
SAM    := $(SAMENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
export SAM_CLI_TELEMETRY := 0
# Bytecode is written (into __pycache__, ignored by git) even where the shell sets
# PYTHONDONTWRITEBYTECODE: the suite starts three pytest passes and many interpreters of its own,
# and without bytecode each compiles again every module it imports (a pass's collection alone took
# 16 s of CPU instead of 6 on a 2-vCPU machine).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: native fuzz demo test lint typecheck pytest pytest-lambda-python unit functional integration sam-validate sam-build sam-check test-arm64 test-lambda bench clean

$(VENV)/.installed: requirements-dev.txt layers/deps/requirements.txt functions/scrape_push/native/requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(SAMENV)/.installed:
	$(PYTHON) -m venv $(SAMENV)
	$(SAMENV)/bin/pip install --quiet --upgrade pip
	$(SAMENV)/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

# The compiled kernels (functions/scrape_push/native/, docs/native.md) for this machine, in place:
# the tests and the demo use them, and the pure-Python path where one is not built.
NATIVE_OUT := functions/scrape_push/scrape_push

native: $(VENV)/.installed
	@$(PY) functions/scrape_push/native/build.py --out $(NATIVE_OUT)

demo: $(VENV)/.installed native
	$(PY) -m devtools.demo

# The main pass runs beside the rest (the CPython 3.13 pass, then the arm64 build and artifact under
# qemu): each side is one process on one CPU, and in turn they took CI past its time. Under qemu the
# kernels' differential tests run quick here (ARM64_DIFFERENTIAL=quick: 2 examples a property test,
# the slowest kinds left out; tests/arm64/test_artifact.py); make test-arm64 alone runs them all.
# The environments install at once first (pip mostly waits on the network and the disk).
test:
	$(MAKE) --no-print-directory --output-sync=target -j3 $(ENVIRONMENTS)
	$(MAKE) --no-print-directory lint typecheck
	$(MAKE) --no-print-directory --output-sync=target -j2 pytest test-lambda
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

test-lambda: native
	$(MAKE) --no-print-directory pytest-lambda-python
	ARM64_DIFFERENTIAL=quick $(MAKE) --no-print-directory test-arm64

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check functions devtools tests bench
	$(VENV)/bin/ruff format --check functions devtools tests bench

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy --strict functions/scrape_push/scrape_push functions/scrape_push/app.py devtools

pytest: $(VENV)/.installed native
	$(PY) -m pytest $(PYTEST_ARGS)

# Lambda runs CPython 3.13: run the unit and functional tests on it too when this machine has one
# (pyenv's, or python3.13 on PATH); a machine without it says so and skips this step. The
# integration tests (third-party servers: what they check does not depend on our interpreter)
# and the tests marked `once` (long, interpreter-independent) run on the first pass only, which
# keeps CI within its time; so do the kernels' differential tests (`native`), which run again
# on CPython 3.13 in test-arm64, on the arm64 build Lambda loads. Its property tests draw 10
# examples each (the second-interpreter profile, tests/conftest.py): the first pass searched.
PY_LAMBDA ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
VENV_LAMBDA ?= .venv-py313
ENVIRONMENTS = $(VENV)/.installed $(SAMENV)/.installed $(if $(strip $(PY_LAMBDA)),$(VENV_LAMBDA)/.installed)

$(VENV_LAMBDA)/.installed: requirements-dev.txt layers/deps/requirements.txt functions/scrape_push/native/requirements.txt pyproject.toml
	$(PY_LAMBDA) -m venv $(VENV_LAMBDA)
	$(VENV_LAMBDA)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_LAMBDA)/bin/python -m pip install --quiet -r requirements-dev.txt
	$(VENV_LAMBDA)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

pytest-lambda-python: native
ifeq ($(strip $(PY_LAMBDA)),)
	@echo "pytest-lambda-python: no CPython 3.13 on this machine; the suite ran on $$($(PY) --version) only"
else
	$(MAKE) $(VENV_LAMBDA)/.installed
	$(VENV_LAMBDA)/bin/python -m pytest -q -m "not scale and not once and not native" \
		-p tests.support.capped --hypothesis-profile=second-interpreter tests/unit tests/functional $(PYTEST_ARGS)
endif

unit: $(VENV)/.installed native
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

functional: $(VENV)/.installed native
	$(PY) -m pytest tests/functional $(PYTEST_ARGS)

integration: $(VENV)/.installed native
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

sam-validate: $(SAMENV)/.installed
	$(SAM) validate --lint --template template.yaml --region us-east-1

# Docker-free build: the function and layer use BuildMethod: makefile, and the layer's
# Makefile asks pip for aarch64 / CPython 3.13 wheels; the function's cross-compiles the kernels
# for arm64 (with the venv's Zig: no fetch); with a CPython 3.13 here (PY_LAMBDA) both ship its
# bytecode. Then check what was built.
sam-build: $(SAMENV)/.installed $(VENV)/.installed
	rm -rf .aws-sam
	PYTHON_LAMBDA="$(PY_LAMBDA)" NATIVE_PYTHON="$(abspath $(PY))" $(SAM) build --template template.yaml
	$(PY) -m devtools.check_build .aws-sam/build $(if $(strip $(PY_LAMBDA)),--bytecode)

sam-check: sam-validate sam-build

# The sam-built function and layer on an arm64 CPython 3.13 under qemu-aarch64 (docs/native.md):
# the kernels load, a cycle's parse and Remote Write request equal the pure-Python ones, and the
# differential tests (-m native) pass there. The interpreter comes from Debian's arm64 packages,
# verified and unpacked into a cache; a machine without qemu-aarch64 says so and skips (CI fails).
test-arm64: sam-check
	PYTHON_LAMBDA="$(PY_LAMBDA)" $(PY) -m devtools.arm64 test $(PYTEST_ARGS)

# The scan kernel's fuzzer (tests/fuzz/fuzz_scan.py, docs/native.md): atheris on the kernel built
# with sanitizer coverage, ASan and UBSan, its pure-Python reference the oracle, for FUZZ_SECONDS
# (make test: a bounded run). It fails on any difference or crash; its corpus and what it found
# are kept in build/fuzz/.
FUZZ_SECONDS ?= 300

fuzz: $(VENV)/.installed
	$(PY) -m tests.fuzz.fuzz_scan --seconds $(FUZZ_SECONDS)

bench: $(VENV)/.installed native
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache
