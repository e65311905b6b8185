"""Shared fixtures. Loopback fakes of the outside world live in tests/fakes/ (one module each)."""

pytest_plugins = [
    "tests.fakes.arxiv_server",
    "tests.fakes.openai_server",
    "tests.fakes.fulltext_server",
]
