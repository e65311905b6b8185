"""Hostile input and secrets: hostile titles on the terminal, secrets out of logs and notes,
credentials out of error messages, and a local LLM switched on by its base URL alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from agent import steer
from agent.analyst.fallback import failure_notice
from agent.analyst.llm_client import ChatClient
from agent.analyst.schemas import PaperSummary
from agent.cli import escape
from agent.config import load_settings
from agent.cycle import CycleOptions, run_cycle
from agent.errors import AnalystError, ConfigError
from agent.logs import redact_secrets
from agent.models import Paper
from agent.settings import LLMSettings
from agent.store import Store
from agent.store.engine import parse_url
from tests.cli import run_cli

HOSTILE = Paper(
    id="2602.99998",
    title="Evil \x1b[31mRED\x1b[0m \u202eeman\x07 \x1b]0;pwned\x07 \u2066iso\u2069 \x9b31m"
    "\r\nsecond line",
    abstract="An abstract that clears the screen \x1b[2J and flips \u202etext.",
    authors=("Ann \x1b[1mBold",),
    categories=("cs.CL",),
    published=datetime(2026, 2, 20, tzinfo=UTC),
)
UNSAFE = ("\x1b", "\u202e", "\u2066", "\u2069", "\x9b", "\x07", "\r")


def assert_terminal_safe(text: str) -> None:
    for char in UNSAFE:
        assert char not in text, repr(char)


@pytest.fixture
def hostile(workspace: Path) -> Path:
    """A workspace whose store holds a paper with a hostile title, queued by the researcher."""
    with Store(load_settings(workspace).database_url) as store:
        store.upsert_papers([HOSTILE])
        store.set_status([HOSTILE.id], "summarized")
    steer.queue_add(workspace, HOSTILE.id, priority=5, note="why \x1b[31m", source="sample")
    return workspace


def test_escape_strips_terminal_controls_and_bidi_but_keeps_lines() -> None:
    text = "a\x1b[31mb\x1b]8;;http://x\x07c\u202ed\u200fe\x9bf\x00\tg\nh [red]i[/]"
    # "\x9bf" is a whole 8-bit CSI sequence (final byte "f"): it goes, like "\x1b[31m"
    assert escape(text) == "abcde\tg\nh \\[red]i\\[/]"


@pytest.mark.parametrize(
    "args",
    [("papers", "show", HOSTILE.id), ("papers", "search", "Evil"), ("status",), ("queue",),
     ("log",)],
    ids=" ".join,
)
def test_hostile_title_never_reaches_the_terminal_raw(
    hostile: Path, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, *args, "-w", str(hostile))
    assert result.code == 0, result.err
    assert_terminal_safe(result.out + result.err)
    if args[0] != "log":
        assert "RED" in result.out  # the title is shown, only its escapes are gone


def test_json_output_escapes_c1_and_bidi_and_keeps_the_value(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "papers", "show", HOSTILE.id, "-w", str(hostile), "--json")
    assert result.code == 0, result.err
    assert_terminal_safe(result.out)
    assert json.loads(result.out)["title"] == HOSTILE.title


def test_keys_of_any_shape_are_redacted_once_settings_are_loaded(
    workspace: Path, tmp_path: Path
) -> None:
    load_settings(workspace, environ={"OPENAI_API_KEY": "gsk_groqStyleKey0123456789"})
    assert "gsk_" not in redact_secrets("calling with gsk_groqStyleKey0123456789 now")
    key_file = tmp_path / "key.txt"
    key_file.write_text("0123456789abcdef0123456789abcdef\n", encoding="utf-8")
    (workspace / "research.toml").write_text(f'[llm]\napi_key_file = "{key_file}"\n')
    load_settings(workspace, environ={})
    assert redact_secrets("key 0123456789abcdef0123456789abcdef") == "key [REDACTED]"


def test_url_credentials_and_key_parameters_are_redacted() -> None:
    text = redact_secrets("GET https://user:hunter22@llm.example/v1?api-key=abc123&q=1 "
                          "and ?api_key=def456, &key=ghi789 &token=jkl012 sort_key=kept")
    for secret in ("hunter22", "abc123", "def456", "ghi789", "jkl012"):
        assert secret not in text
    assert "https://***@llm.example/v1" in text and "q=1" in text and "sort_key=kept" in text


def test_fallback_notice_carries_no_url_credentials() -> None:
    error = AnalystError("The LLM endpoint https://me:hunter22@h/v1?token=abc999 answered 500")
    notice = failure_notice("summaries", error, "did the rest")
    assert "hunter22" not in notice and "abc999" not in notice and "answered 500" in notice


def test_llm_errors_name_the_endpoint_without_userinfo_or_query(openai_server) -> None:  # type: ignore[no-untyped-def]
    url = openai_server.base_url.replace("http://", "http://me:hunter22@")
    settings = LLMSettings(base_url=url, api_key="test", max_retries=0)
    client = ChatClient(settings, usage_sink=lambda call: None)
    openai_server.fail_next(status=500)
    try:
        with pytest.raises(AnalystError) as caught:
            client.ask("summaries", [{"role": "user", "content": "hi"}], PaperSummary, 100)
    finally:
        client.close()
    assert "hunter22" not in str(caught.value)
    assert openai_server.base_url in str(caught.value)


@pytest.mark.parametrize(
    "url", ["postgres ql://user:hunter22@host/db", "postgresql://user:hunter22@host:port/db"]
)
def test_unparseable_database_url_hides_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_url(url)
    assert "hunter22" not in str(caught.value) and "user:***@host" in str(caught.value)


def test_base_url_alone_turns_the_llm_analyst_on(scanned: Path, openai_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)  # a local server: no key
    outcome = run_cycle(scanned, CycleOptions(action="learn", source="sample"))
    assert outcome.status == "committed", outcome.error
    note = (scanned / outcome.note_path).read_text(encoding="utf-8")
    assert yaml.safe_load(note.split("---\n")[1])["analyst"] == "llm"
    assert openai_server.requests
    assert openai_server.headers[0]["authorization"] == "Bearer not-needed"
