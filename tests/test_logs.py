"""Logging setup: the rotating log file, idempotence, key redaction, the one line per cycle."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent import logs
from agent.cycle import CycleOutcome, log_outcome
from agent.logs import redact_secrets, register_secret, setup_logging

ENV_KEY = "local-proxy-token-0123456789"
SK_KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUv012345"


@pytest.fixture(autouse=True)
def _restore_logging(restore_root_logger: None) -> None:
    """Every test here configures logging; conftest's fixture puts it back."""


def our_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_research_agent_handler", False)]


def test_keys_never_reach_the_log_file_or_stderr(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    setup_logging(tmp_path)
    log = logging.getLogger("agent.analyst.llm")
    log.info("calling endpoint with key %s and %s", ENV_KEY, SK_KEY)
    log.warning("header was Authorization: Bearer %s", ENV_KEY[::-1])
    try:
        raise RuntimeError(f"401 for key {SK_KEY}")
    except RuntimeError:
        log.exception("LLM call failed")
    text = (tmp_path / "agent.log").read_text()
    err = capsys.readouterr().err
    for output in (text, err):
        assert ENV_KEY not in output and SK_KEY not in output and ENV_KEY[::-1] not in output
        assert "RuntimeError: 401 for key [REDACTED]" in output  # the traceback too
    assert "calling endpoint with key [REDACTED] and [REDACTED]" in text
    assert "agent.analyst.llm" in text  # the file names the module


def test_registered_secret_is_redacted():
    register_secret("toml-file-secret-987654")
    register_secret("short")  # placeholders like "ollama" are not secrets
    assert redact_secrets("key=toml-file-secret-987654, short") == "key=[REDACTED], short"


def test_setup_is_idempotent(tmp_path: Path):
    setup_logging(tmp_path)
    setup_logging(tmp_path, verbose=True)
    assert len(our_handlers()) == 2  # stderr + file, not four
    logging.getLogger("agent.cycle").debug("only once")
    assert (tmp_path / "agent.log").read_text().count("only once") == 1


def test_without_state_dir_logs_only_to_stderr(tmp_path: Path):
    setup_logging(None)
    (handler,) = our_handlers()
    assert isinstance(handler, logging.StreamHandler)
    assert not isinstance(handler, logging.FileHandler)


def test_third_party_info_is_quiet_unless_verbose(tmp_path: Path):
    setup_logging(tmp_path)
    logging.getLogger("httpx").info("HTTP Request: GET http://127.0.0.1:9/api/query")
    logging.getLogger("agent.cycle").info("cycle 3 started")
    text = (tmp_path / "agent.log").read_text()
    assert "cycle 3 started" in text and "HTTP Request" not in text


def test_log_file_rotates(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(logs, "LOG_MAX_BYTES", 300)
    setup_logging(tmp_path)
    for number in range(20):
        logging.getLogger("agent.cycle").info("cycle %d: a line long enough to fill it", number)
    assert (tmp_path / "agent.log.1").exists()
    assert not (tmp_path / "agent.log.6").exists()  # five backups kept


def test_cycle_line(caplog):
    with caplog.at_level(logging.INFO, logger="agent.cycle"):
        log_outcome(CycleOutcome(24, "learn", "Must-read list exhausted.\nExpanding the frontier.",
                                 "committed", sha="a1b2c3d4e5f6", papers=3, tokens=12345,
                                 duration_s=41.23))  # fmt: skip
        log_outcome(CycleOutcome(25, "scan", "x" * 400, "failed", duration_s=2.0))
    first, second = caplog.records
    assert first.getMessage() == (
        "cycle 24 committed: learn, 3 papers, 12,345 tokens, 41.2s, commit a1b2c3d "
        "(Must-read list exhausted. Expanding the frontier.)"
    )
    assert first.levelno == logging.INFO
    assert second.levelno == logging.ERROR and "commit -" in second.getMessage()
    assert "\n" not in second.getMessage() and len(second.getMessage()) < 250


def test_cycle_line_counts_in_words(caplog):
    """'1 paper' and '1,500 papers', as a person writes them."""
    with caplog.at_level(logging.INFO, logger="agent.cycle"):
        log_outcome(CycleOutcome(3, "deep-read", "r", "committed", papers=1, duration_s=1.0))
        log_outcome(CycleOutcome(4, "scan", "r", "committed", papers=1500, duration_s=1.0))
    first, second = (r.getMessage() for r in caplog.records)
    assert "deep-read, 1 paper, 0 tokens" in first
    assert "scan, 1,500 papers, 0 tokens" in second
