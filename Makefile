# Two commands for a newcomer: `make run` (install + serve the bundled pack on SQLite) and
# `make test` (install + every check and test). Everything lives in ./.venv.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
RR := $(VENV)/bin/riskrules
BIND ?= 127.0.0.1:8080

.PHONY: install run test lint typecheck pytest rulecheck bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: install
	@mkdir -p var
	@test -f var/keys.yaml || $(RR) keys create --keys-file var/keys.yaml --id quickstart \
		--role submitter --role auditor --role admin
	$(RR) serve --bind $(BIND) --keys-file var/keys.yaml

test: install lint typecheck rulecheck pytest

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

rulecheck: install
	$(RR) --rules rules schema --check
	$(RR) --rules rules check --strict
	$(RR) --rules rules test --coverage --min-coverage 100

pytest: install
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/engine.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
