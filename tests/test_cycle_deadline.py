"""A cycle ends on time and spends nothing it cannot commit (loopback LLM, real git and SQLite)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent.cycle import CycleOptions, run_cycle
from agent.store import Store
from tests.cli import run_cli
from tests.fakes.openai_server import FakeOpenAIServer
from tests.repo import git

SECRET = "sk-test-deadline-0123456789"


@pytest.fixture
def scanned(scanned_template: Path, tmp_path: Path, openai_server: FakeOpenAIServer,
            monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the scanned workspace, with the LLM pointed at the loopback fake."""
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return Path(shutil.copytree(scanned_template, tmp_path / "radar"))


def set_setting(workspace: Path, section: str, **values: Any) -> None:
    """Set keys of one section in the workspace's research.toml."""
    path = workspace / "research.toml"
    text = path.read_text(encoding="utf-8")
    lines = "".join(f"{key} = {value}\n" for key, value in values.items())
    path.write_text(text.replace(f"[{section}]\n", f"[{section}]\n" + lines, 1), encoding="utf-8")


def learn(workspace: Path) -> Any:
    return run_cycle(workspace, CycleOptions(action="learn", source="sample"))


def head(workspace: Path) -> str:
    return git(workspace, "rev-parse", "HEAD").strip()


def cycle_row(workspace: Path, number: int) -> Any:
    with Store(f"sqlite:///{workspace / 'state' / 'agent.db'}") as store:
        return store.get_cycle(number)


def notes_of(workspace: Path) -> list[Path]:
    return sorted(p for p in (workspace / "cycles").rglob("0*.md"))


# --- a cycle has a deadline -----------------------------------------------------------------


def test_a_cycle_past_its_deadline_is_aborted_like_sigterm_and_the_next_one_runs(
    scanned: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    set_setting(scanned, "schedule", cycle_deadline=2)  # any step it hits: aborted
    set_setting(scanned, "llm", max_retries=0, timeout_seconds=120)
    openai_server.delay_next(120.0, times=50)  # the LLM holds every answer (until teardown)
    before, notes = head(scanned), notes_of(scanned)
    started = time.monotonic()
    outcome = learn(scanned)
    assert time.monotonic() - started < 60  # the deadline ended it, not the LLM's timeout
    assert outcome.status == "aborted", outcome.error
    assert "cycle_deadline" in (outcome.error or "")
    assert head(scanned) == before and notes_of(scanned) == notes  # no note, no commit
    assert git(scanned, "status", "--porcelain", "--", "cycles", "state").strip() == ""
    row = cycle_row(scanned, outcome.number)
    assert row.status == "aborted" and "cycle_deadline" in row.error
    # tokens: the log line, the cycle row (what `log` shows) and the calls table agree
    logged = run_cli(capsys, "log", "-w", str(scanned), "--json")
    [shown] = [r for r in json.loads(logged.out) if r["number"] == outcome.number]
    assert shown["tokens"] == outcome.tokens == row.tokens_in + row.tokens_out

    openai_server.release()  # the endpoint recovers: the next cycle commits as usual
    toml = scanned / "research.toml"
    toml.write_text(toml.read_text().replace("cycle_deadline = 2", "cycle_deadline = 600"))
    again = learn(scanned)
    assert again.status == "committed", again.error


def test_an_absurd_cycle_deadline_is_refused_with_its_name(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_setting(scanned, "schedule", cycle_deadline="inf")
    run = run_cli(capsys, "cycle", "-w", str(scanned), "--action", "learn", "--source", "sample")
    assert run.code != 0
    assert "schedule.cycle_deadline" in run.err and "research.toml" in run.err


# --- nothing is spent before the commit is known to be possible -----------------------------


def test_a_git_index_lock_stops_the_cycle_before_any_llm_call(
    scanned: Path, openai_server: FakeOpenAIServer
) -> None:
    lock = scanned / ".git" / "index.lock"
    lock.write_text("", encoding="utf-8")  # the researcher's git is busy
    before, notes = head(scanned), notes_of(scanned)
    outcome = learn(scanned)
    assert outcome.status == "failed"
    assert str(lock) in (outcome.error or "")
    assert openai_server.requests == [] and outcome.tokens == 0
    assert lock.exists()  # not ours to remove
    lock.unlink()
    assert head(scanned) == before and notes_of(scanned) == notes


def test_a_folder_where_a_generated_file_goes_stops_the_cycle_before_any_llm_call(
    scanned: Path, openai_server: FakeOpenAIServer
) -> None:
    index = scanned / "cycles" / "README.md"
    index.unlink()
    index.mkdir()
    outcome = learn(scanned)
    assert outcome.status == "failed" and str(index) in (outcome.error or "")
    assert openai_server.requests == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_cycles_folder_stops_the_cycle_before_any_llm_call(
    scanned: Path, openai_server: FakeOpenAIServer
) -> None:
    folder = scanned / "cycles"
    mode = folder.stat().st_mode
    folder.chmod(0o555)
    try:
        outcome = learn(scanned)
    finally:
        folder.chmod(mode)
    assert outcome.status == "failed" and "read-only" in (outcome.error or "")
    assert openai_server.requests == []


# --- one round per phase ------------------------------------------------------------------


def test_a_learn_is_three_rounds_judge_summaries_synthesis(
    scanned: Path, openai_server: FakeOpenAIServer
) -> None:
    # all five judge batches, then all five summaries, must be in flight at once
    together = {"Judgements": threading.Barrier(5, timeout=10),
                "PaperSummary": threading.Barrier(5, timeout=10)}

    def respond(request: dict[str, Any]) -> None:
        barrier = together.get(request["response_format"]["json_schema"]["name"])
        if barrier is not None:
            barrier.wait()  # BrokenBarrierError (a 500) if they come in two waves
        return None

    openai_server.respond_with(respond)
    outcome = learn(scanned)
    assert outcome.status == "committed", outcome.error
    names = [r["response_format"]["json_schema"]["name"] for r in openai_server.requests]
    # the judge reads 50 candidates (down to the judge floor): five batches in one round
    assert sorted(names) == ["FieldUpdate"] + ["Judgements"] * 5 + ["PaperSummary"] * 5
    assert openai_server.max_in_flight == 5
    assert openai_server.rounds == 3


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("llm", "timeout_seconds", "inf"),
        ("llm", "concurrency", "inf"),
        ("llm", "max_retries", "1e12"),
        ("llm", "daily_token_budget", "1e20"),
        ("fulltext", "deadline_seconds", "inf"),
        ("fulltext", "deadline_seconds", "nan"),
        ("fulltext", "max_bytes", "1e15"),
        ("schedule", "cycle_deadline", "1e12"),
    ],
)
def test_absurd_deadlines_and_limits_are_refused_with_their_names(
    tmp_path: Path, section: str, key: str, value: str
) -> None:
    from agent.config import load_settings
    from agent.errors import ConfigError

    (tmp_path / "research.toml").write_text(f"[{section}]\n{key} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert f"{section}.{key}" in message and "research.toml" in message
    assert "at most" in message or "between" in message or "must be a whole number" in message
