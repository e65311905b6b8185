# `make check` runs exactly what CI runs (.ci/run): the tests, ruff, mypy.
PYTHON ?= .venv/bin/python

.PHONY: check test lint install

install:
	python3 -m venv .venv && .venv/bin/pip install -e '.[test]'

test:
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy agent

check: test lint
