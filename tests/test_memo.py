"""Validated tracks and settings are remembered by their inputs (agent/memo.py): a remembered
result is only ever the one validation gave, an edit is validated again, no secret is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_settings
from agent.errors import ConfigError
from agent.tracks import parse_tracks

TRACK = """[[track]]
id = "asr"
name = "Low-resource ASR"
description = "Speech recognition with little data."
keywords = ["low-resource ASR", "dialect"]
priority = {priority}
categories = ["cs.CL"]
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("RESEARCH_AGENT_CACHE", str(cache))
    return cache


def memos(cache: Path, kind: str) -> list[Path]:
    return sorted((cache / "memo").glob(f"{kind}-*.json"))


def test_remembered_tracks_equal_validated_ones_and_an_edit_is_validated_again(
    own_cache: Path,
) -> None:
    first = parse_tracks(TRACK.format(priority=4))
    assert len(memos(own_cache, "tracks")) == 1
    assert parse_tracks(TRACK.format(priority=4)) == first  # from the memo: same Tracks
    assert first[0].keywords == ("low-resource ASR", "dialect")
    with pytest.raises(ConfigError, match="priority"):
        parse_tracks(TRACK.format(priority=9))  # out of range: refused, memo or not
    assert len(memos(own_cache, "tracks")) == 1


def test_a_damaged_memo_is_ignored(own_cache: Path) -> None:
    text = TRACK.format(priority=4)
    expected = parse_tracks(text)
    for path in memos(own_cache, "tracks"):
        path.write_text('[{"id": "forged"}]', encoding="utf-8")
    assert parse_tracks(text) == expected


def test_settings_memo_keeps_no_key_and_the_key_still_arrives(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "research.toml").write_text('[llm]\nmodel = "m1"\n', encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    first = load_settings(workspace)
    (memo,) = memos(own_cache, "settings")
    assert "sk-secret-123" not in memo.read_text(encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other-456")  # the key is no part of the memo's key
    again = load_settings(workspace)
    assert len(memos(own_cache, "settings")) == 1
    assert again.llm.api_key == "sk-other-456" and again.llm.model == "m1"
    memo.unlink()
    assert load_settings(workspace) == again != first  # validated afresh: the same settings


def test_a_changed_variable_or_file_is_validated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARXIV_DELAY_SECONDS")  # (the test environment sets it to 0)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    settings = workspace / "research.toml"
    settings.write_text("[arxiv]\ndelay_seconds = 5\n", encoding="utf-8")
    assert load_settings(workspace).arxiv.delay_seconds == 5
    monkeypatch.setenv("ARXIV_DELAY_SECONDS", "inf")
    with pytest.raises(ConfigError, match="ARXIV_DELAY_SECONDS"):
        load_settings(workspace)
    monkeypatch.delenv("ARXIV_DELAY_SECONDS")
    settings.write_text("[arxiv]\ndelay_seconds = 500\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="delay_seconds"):
        load_settings(workspace)


def test_old_memos_are_pruned(own_cache: Path) -> None:
    import os

    from agent.memo import memo_path, recall, remember

    for number in range(6):
        remember("probe", [str(number).encode()], number)
        written = 1 + number  # 1970, an hour apart: an order a coarse clock cannot blur
        os.utime(memo_path("probe", [str(number).encode()]), (written * 3600, written * 3600))
    remember("probe", [b"6"], 6, keep=3)
    assert len(memos(own_cache, "probe")) == 3
    assert [recall("probe", [str(n).encode()]) for n in range(7)] == [None] * 4 + [4, 5, 6]


def test_a_database_password_is_never_cached(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://leo:hunter2@127.0.0.1/radar")
    assert "hunter2" in load_settings(workspace).database_url
    assert memos(own_cache, "settings") == []
