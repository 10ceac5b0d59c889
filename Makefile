# Everything runs from a project-local virtual environment: Debian's Python refuses
# `pip install` outside one, and CI starts from a clean clone on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed
AZURITE := 3.35.0

.PHONY: install system-deps test lint demo lab-up lab-down bench clean

# Two installs: the demo's (the auditor, its Cloud Storage extra, the lab's emulators and
# the Debian packages the demo's two servers run) and the test lab's (everything). A
# newcomer's `make demo` waits for the first only.
$(DEMO_STAMP): pyproject.toml scripts/system-deps.sh
	./scripts/system-deps.sh demo
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[demo]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml scripts/system-deps.sh
	./scripts/system-deps.sh test
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# Azurite, Microsoft's Azure Storage emulator, for the Azure tests (npm registry).
	npm install --prefix $(VENV)/npm --no-audit --no-fund --silent azurite@$(AZURITE)
	touch $(STAMP) $(DEMO_STAMP)

install: $(STAMP)  ## create .venv and install the auditor with its test tools

system-deps:  ## nmap, sshd, redis, nginx...: apt-get when root, else say what to install
	./scripts/system-deps.sh test

test: $(STAMP)  ## the whole suite against real local servers (README's test command)
	$(PY) -m tests.halves --durations=15

lint: $(STAMP)
	$(BIN)/ruff check auditor tests
	$(BIN)/ruff format --check auditor tests
	$(BIN)/mypy auditor

demo: $(DEMO_STAMP)  ## start the lab of misconfigured servers, audit it, tear it down
	$(PY) -m tests.lab demo

lab-up: $(DEMO_STAMP)
	$(PY) -m tests.lab up

lab-down: $(DEMO_STAMP)
	$(PY) -m tests.lab down

bench: $(STAMP)  ## how audit time grows with the fleet (prints a table)
	$(PY) -m tests.bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
