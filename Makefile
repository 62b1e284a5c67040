# Two commands for a newcomer: `make run` (install + serve the bundled pack on SQLite) and
# `make test` (install + every check and test). Everything lives in ./.venv.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
RR := $(VENV)/bin/riskrules
BIND ?= 127.0.0.1:8080

.PHONY: install prerequisites run test lint typecheck pytest rulecheck bench clean

# durable-rules (the rule engine) has no wheels on PyPI: pip builds its C core from source, as
# it builds riskrules' screening kernel (engine/screening/_kernel.c, setup.py), which needs a
# C compiler and Python's headers. Say so before pip fails 200 lines deep.
prerequisites:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "riskrules needs Python 3.11 or later ($(PYTHON) is older; try make PYTHON=python3.11)" >&2; exit 1; }
	@command -v "$${CC:-cc}" >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || command -v clang >/dev/null 2>&1 || \
		{ echo "riskrules needs a C compiler to build durable-rules and its screening kernel from source, and none was found." >&2; \
		  echo "  Debian/Ubuntu: sudo apt-get install build-essential python3-dev" >&2; \
		  echo "  Fedora/RHEL:   sudo dnf install gcc python3-devel" >&2; \
		  echo "  macOS:         xcode-select --install" >&2; exit 1; }
	@$(PYTHON) -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' || \
		{ echo "riskrules needs Python's C headers (Python.h) to build durable-rules: install python3-dev (Debian/Ubuntu) or python3-devel (Fedora/RHEL)." >&2; exit 1; }

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py engine/screening/_kernel.c
	@$(MAKE) --no-print-directory prerequisites
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# `make run BIND=0.0.0.0:9000` to listen elsewhere (default 127.0.0.1:8080).
run: install
	@mkdir -p var
	@test -f var/keys.yaml || $(RR) keys create --keys-file var/keys.yaml --id quickstart \
		--role submitter --role auditor --role admin --role reviewer
	$(RR) serve --bind $(BIND) --keys-file var/keys.yaml

test: install lint typecheck rulecheck pytest

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

rulecheck: install
	$(RR) --rules rules schema --check
	$(RR) --rules rules check --strict --allow-sample-lists
	$(RR) --rules rules test --coverage --min-coverage 100

pytest: install
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/engine.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
