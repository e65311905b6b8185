# `make check` runs what CI runs (.ci/run), in the same order: the linters first (a style error
# fails in seconds), then the fast suite (the README's `pytest`), then the slow real-process tests.
PYTHON ?= .venv/bin/python

.PHONY: check test test-slow lint install

install:
	python3 -m venv .venv && .venv/bin/pip install -e '.[test]'

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy agent

test:
	$(PYTHON) -m pytest

test-slow:
	$(PYTHON) -m pytest -m slow -n 0  # one at a time: each times real processes

check: lint test test-slow
