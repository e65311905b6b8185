"""SampleSource: the bundled papers replayed day by day, in replay time."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from agent.errors import ConfigError, UnknownPaperError
from agent.models import Track
from agent.sources import ScanRequest
from agent.sources.jsonl import SAMPLE_PATH
from agent.sources.sample import SampleSource

SPEECH = Track("speech", "Speech", "", ("speech enhancement",), 4, categories=("eess.AS",))
LLM = Track("llm", "LLMs", "", ("language model",), 3)


def record(n: int, day: str | None, title: str, abstract: str = "x", cats=("cs.CL",)) -> dict:
    return {
        "id": f"2601.{n:05d}",
        "title": title,
        "abstract": abstract,
        "categories": list(cats),
        "published": day or "2023-05-15",
        "first_listing_date": day,
        "version": "v1",
    }


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    rows = [
        record(1, "2026-01-05", "Speech Enhancement with diffusion", cats=("cs.SD",)),
        record(2, "2026-01-05", "A large language model", "language model, language model"),
        record(3, "2026-01-05", "Graph colouring", cats=("math.CO",)),
        record(4, "2026-01-07", "Audio codecs", cats=("eess.AS", "cs.SD")),
        record(5, "2026-01-09", "Small language model tricks"),
        record(6, None, "Old speech enhancement paper, re-listed", cats=("eess.AS",)),
    ]
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


def midnight(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_replays_one_listing_day_at_a_time(sample_file):
    source = SampleSource(sample_file)
    first = source.fetch_new(ScanRequest([SPEECH, LLM]))
    # SPEECH watches eess.AS (nothing that day); LLM has no categories: its keywords list paper 2.
    # Paper 1 matches SPEECH's keywords but is in cs.SD only: not in the watched listing.
    assert [p.id for p in first.papers] == ["2601.00002"]  # not the graph paper
    assert first.categories == ["eess.AS"] and first.keyword_tracks == ["llm"]
    assert first.cursor == midnight("2026-01-05")
    second = source.fetch_new(ScanRequest([SPEECH, LLM], since=first.cursor))
    assert [p.id for p in second.papers] == ["2601.00004"]  # by category overlap
    assert second.cursor == midnight("2026-01-07")
    third = source.fetch_new(ScanRequest([SPEECH, LLM], since=second.cursor))
    assert [p.id for p in third.papers] == ["2601.00005"]  # by keyword, case-insensitive
    assert third.cursor == midnight("2026-01-09")
    assert third.queries[0] == "sample replay: every paper in eess.AS"
    assert len(third.queries) == 2 and "language model" in third.queries[1]


def test_a_replayed_day_is_the_whole_listing_of_the_watched_categories(sample_file):
    cs_cl = Track("cl", "CL", "", ("nothing matches this",), 3, categories=("cs.CL", "math.CO"))
    result = SampleSource(sample_file).fetch_new(ScanRequest([cs_cl]))
    # every paper of the day in cs.CL or math.CO, keywords or not
    assert [p.id for p in result.papers] == ["2601.00002", "2601.00003"]


def test_exhausted_replay_returns_nothing_and_keeps_the_cursor(sample_file):
    source = SampleSource(sample_file)
    last = midnight("2026-01-09")
    result = source.fetch_new(ScanRequest([SPEECH], since=last))
    assert result.papers == [] and result.cursor == last


def test_days_per_fetch_and_start(sample_file):
    source = SampleSource(sample_file, days_per_fetch=2, start=date(2026, 1, 6))
    result = source.fetch_new(ScanRequest([SPEECH, LLM]))
    assert [p.id for p in result.papers] == ["2601.00004", "2601.00005"]
    assert result.cursor == midnight("2026-01-09")


def test_since_between_days_moves_to_the_next_listing_day(sample_file):
    source = SampleSource(sample_file)
    naive = datetime(2026, 1, 6, 18, 30)  # taken as UTC
    result = source.fetch_new(ScanRequest([SPEECH], since=naive))
    assert result.cursor == midnight("2026-01-07")


def test_inactive_tracks_match_nothing(sample_file):
    idle = Track("idle", "Idle", "", ("language model",), 1, active=False)
    result = SampleSource(sample_file).fetch_new(ScanRequest([idle]))
    assert result.papers == [] and result.cursor == midnight("2026-01-05")


def test_search_only_sees_papers_listed_up_to_the_cursor(sample_file):
    source = SampleSource(sample_file, cursor=midnight("2026-01-05"))
    assert [p.id for p in source.search(LLM, 10)] == ["2601.00002"]
    source.fetch_new(ScanRequest([LLM], since=midnight("2026-01-07")))  # the cursor moves too
    assert [p.id for p in source.search(LLM, 10)] == ["2601.00002", "2601.00005"]
    assert [p.id for p in source.search(LLM, 1)] == ["2601.00002"]  # most keyword hits first


def test_search_includes_never_listed_papers(sample_file):
    source = SampleSource(sample_file, cursor=midnight("2026-01-05"))
    # one keyword hit each; the old paper also shares the track's category
    assert [p.id for p in source.search(SPEECH, 10)] == ["2601.00006", "2601.00001"]


def test_lookup_covers_the_whole_file(sample_file):
    source = SampleSource(sample_file, cursor=midnight("2026-01-05"))
    papers = source.lookup(["arxiv:2601.00005v1", "2601.00006", "2601.99999"])
    assert [p.id for p in papers] == ["2601.00005", "2601.00006"]
    with pytest.raises(UnknownPaperError):
        source.lookup(["abc"])


def test_bad_listing_date_names_the_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    bad = {**record(1, "5 January", "T"), "published": "2026-01-05", "updated": "2026-01-05"}
    path.write_text(json.dumps(bad) + "\n", "utf-8")
    with pytest.raises(ConfigError, match="bad.jsonl.*first_listing_date"):
        SampleSource(path).fetch_new(ScanRequest([LLM]))


def test_bundled_sample_replays_real_papers():
    source = SampleSource()
    assert source.path == SAMPLE_PATH
    days = source.listing_days()
    assert days[0] == date(2025, 5, 19) and days[-1] == date(2026, 2, 27)
    nlp = Track("nlp", "NLP", "", ("language model",), 3, categories=("cs.CL",))
    result = SampleSource(start=date(2026, 1, 5)).fetch_new(ScanRequest([nlp]))
    assert result.cursor == midnight("2026-01-05")
    assert 20 < len(result.papers) <= 55
    assert all(p.published and p.title and p.abstract for p in result.papers)
    [paper] = source.lookup(["2602.15307"])
    assert paper.title.startswith("What Do Neurons Listen To?")
