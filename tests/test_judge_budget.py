"""LLM judgement before summaries, and token budgets, through whole learn cycles.

The LLM is the loopback fake (`openai_server`); papers are the bundled sample's, scanned offline.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.analyst import Brief, Candidate
from agent.analyst.backends import AnalystSetup
from agent.analyst.budget import TokenBudget
from agent.analyst.llm import LLMAnalyst
from agent.errors import BudgetExceeded
from agent.models import LLMCall, Match, Paper, Track
from agent.settings import LLMSettings
from agent.store import Store
from tests.cli import run_cli
from tests.fakes.openai_server import FakeOpenAIServer

SECRET = "sk-test-judge-budget-0123456789"
JUDGED_RE = re.compile(r"^- paper_id: (\S+) \(ranker: ([\w-]+)", re.MULTILINE)
ARXIV_ID_RE = re.compile(r"arXiv id: (\S+)")


@pytest.fixture
def scanned(scanned_template: Path, tmp_path: Path, openai_server: FakeOpenAIServer,
            monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the scanned workspace, with the LLM pointed at the loopback fake.

    Its judge reads only the papers at the relevance threshold (`judge_floor = 0.5`): the 7
    relevant ones, one batch, as these tests count calls and tokens. The default floor's wider
    reading is tested in test_judge_floor.py."""
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    workspace = Path(shutil.copytree(scanned_template, tmp_path / "radar"))
    path = workspace / "research.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[learn]\n", "[learn]\njudge_floor = 0.5\n", 1), encoding="utf-8")
    return workspace


def set_llm(workspace: Path, **values: int) -> None:
    """Set `[llm]` keys in the workspace's research.toml (the shipped file has them commented)."""
    path = workspace / "research.toml"
    text = path.read_text(encoding="utf-8")
    lines = "".join(f"{key} = {value}\n" for key, value in values.items())
    path.write_text(text.replace("[llm]\n", "[llm]\n" + lines, 1), encoding="utf-8")


def schema_name(request: dict[str, Any]) -> str:
    return str(request["response_format"]["json_schema"]["name"])


def user_text(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def judged_ids(request: dict[str, Any]) -> list[str]:
    return [pid for pid, _ in JUDGED_RE.findall(user_text(request))]


def judge_rejecting(rejected_positions: set[int]) -> Any:
    """A judge that scores the papers at these positions of each batch 2/10, the others 8/10."""

    def respond(request: dict[str, Any]) -> dict[str, Any] | None:
        if schema_name(request) != "Judgements":
            return None  # the fake's default: a valid object for the schema
        items = [
            {"paper_id": pid, "track_id": track, "score": 2 if i in rejected_positions else 8,
             "reason": f"Judge's reason for {pid}: it tests whether the model listens."}
            for i, (pid, track) in enumerate(JUDGED_RE.findall(user_text(request)))
        ]
        return {"items": items}

    return respond


def learn(capsys: pytest.CaptureFixture[str], workspace: Path) -> str:
    run = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "learn", "--source", "sample")
    assert run.code == 0, run.err
    return run.out


def last_note(workspace: Path) -> tuple[dict[str, Any], str]:
    note = sorted((workspace / "cycles").rglob("0*-learn.md"))[-1]
    text = note.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1]), text


def llm_calls(workspace: Path, cycle: int) -> list[tuple[str, str, int, int]]:
    db = sqlite3.connect(workspace / "state" / "agent.db")
    try:
        return list(db.execute("select purpose, outcome, tokens_in, tokens_out from llm_calls "
                               "where cycle = ? order by id", (cycle,)))
    finally:
        db.close()


# --- judgement ------------------------------------------------------------------------------


def test_the_llm_judges_before_it_summarises_and_rejected_papers_cost_no_summary(
    scanned: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.respond_with(judge_rejecting({1, 3}))
    learn(capsys, scanned)
    names = [schema_name(r) for r in openai_server.requests]
    assert names[0] == "Judgements" and "PaperSummary" in names
    last_judge = max(i for i, n in enumerate(names) if n == "Judgements")
    assert last_judge < names.index("PaperSummary"), names
    judged = [pid for r in openai_server.requests if schema_name(r) == "Judgements"
              for pid in judged_ids(r)]
    assert len(judged) >= 4  # the scan leaves enough relevant candidates for one batch
    rejected = {judged[1], judged[3]}
    summarised = [ARXIV_ID_RE.search(user_text(r)).group(1)  # type: ignore[union-attr]
                  for r in openai_server.requests if schema_name(r) == "PaperSummary"]
    assert sorted(summarised) == sorted(set(judged) - rejected)

    meta, text = last_note(scanned)
    assert sorted(meta["papers"]) == sorted(summarised)
    for pid in summarised:
        assert f"**Why this paper**: Judge's reason for {pid}: it tests whether the model " \
               "listens. (judged 8/10 for" in text
    assert "below 5/10 and did not summarise them" in text
    for pid in rejected:
        assert f"arXiv:{pid} (2/10)" in text
        assert f"Judge's reason for {pid}" not in text


def test_every_prompt_starts_with_the_same_system_text_and_tracks_and_ends_with_the_paper(
    scanned: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    learn(capsys, scanned)
    systems = {r["messages"][0]["content"] for r in openai_server.requests}
    assert len(systems) == 1, "one stable prefix for the provider's prompt cache"
    system = systems.pop()
    for track in ("listen-vs-guess", "audio-interpretability", "speech-benchmarks"):
        assert f"track_id: {track}" in system
    assert "arXiv id:" not in system  # no paper in the cached prefix
    for request in openai_server.requests:
        if schema_name(request) in ("Judgements", "PaperSummary"):
            assert user_text(request).rstrip().endswith("</data>")


def test_rejected_papers_are_remembered_and_not_judged_again(
    scanned: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.respond_with(judge_rejecting(set(range(10))))  # the judge wants none
    learn(capsys, scanned)
    first = judged_ids(openai_server.requests[0])
    assert [schema_name(r) for r in openai_server.requests] == ["Judgements"]
    meta, text = last_note(scanned)
    assert meta["papers"] in (None, []) and "below 5/10" in text

    with Store(f"sqlite:///{scanned / 'state' / 'agent.db'}") as store:
        for pid in first:
            assert store.paper_status(pid) == "ranked"
            [judgement] = store.analyses_for(pid, "judgement")
            assert judgement["payload"]["score"] == 2 and judgement["track_id"]
            assert not any(m.relevant for m in store.matches_for([pid])[pid])

    openai_server.requests.clear()
    openai_server.respond_with(judge_rejecting(set()))
    learn(capsys, scanned)
    second = [pid for r in openai_server.requests if schema_name(r) == "Judgements"
              for pid in judged_ids(r)]
    assert second and not set(second) & set(first)
    papers = last_note(scanned)[0]["papers"]
    assert len(papers) == min(5, len(second)) and set(papers) <= set(second)

    run = run_cli(capsys, "rate", first[0], "up", "-w", str(scanned), "--source", "sample",
                  "--track", "listen-vs-guess")
    assert run.code == 0, run.err
    openai_server.requests.clear()
    openai_server.respond_with(judge_rejecting(set(range(10))))
    learn(capsys, scanned)  # the researcher overrules the judge: rated up, it is read first
    third = [pid for r in openai_server.requests if schema_name(r) == "Judgements"
             for pid in judged_ids(r)]
    assert not set(third) & set(first)  # its verdict stands; nobody is judged twice
    assert first[0] in last_note(scanned)[0]["papers"]


# --- budgets --------------------------------------------------------------------------------


def test_cycle_budget_stops_before_exceeding_and_the_offline_analyst_does_the_rest(
    scanned: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # one judge call (~3k tokens) and two or three summaries (~1.3k each, ~2.7k reserved) fit
    set_llm(scanned, cycle_token_budget=9000, concurrency=1)
    learn(capsys, scanned)
    calls = llm_calls(scanned, 2)
    assert [p for p, o, _, _ in calls if o == "ok"][0] == "judge"
    summaries = [c for c in calls if c[0] == "summarize" and c[1] == "ok"]
    assert 1 <= len(summaries) < 5
    assert ("summarize", "budget", 0, 0) in calls
    assert sum(i + o for _, _, i, o in calls) <= 9000
    assert "synthesize" not in [p for p, _, _, _ in calls]  # the offline analyst did the rest
    sent = [c for c in calls if c[1] != "budget"]
    assert len(openai_server.requests) == len(sent)  # a stopped call is never sent

    meta, text = last_note(scanned)
    judged = [pid for r in openai_server.requests if schema_name(r) == "Judgements"
              for pid in judged_ids(r)]
    assert meta["analyst"] == "llm+offline" and set(meta["papers"]) <= set(judged)
    assert len(meta["papers"]) == 5  # the 7 judged all cleared the bar: the best 5 are read
    assert (meta["tokens_in"], meta["tokens_out"]) == (
        sum(c[2] for c in calls), sum(c[3] for c in calls))
    plain = text.replace("\\", "")  # Markdown escapes
    assert "Token budget reached during summaries" in plain and "cycle_token_budget" in plain
    summarised_by_llm = {ARXIV_ID_RE.search(user_text(r)).group(1)  # type: ignore[union-attr]
                         for r in openai_server.requests if schema_name(r) == "PaperSummary"}
    assert summarised_by_llm < set(meta["papers"])
    for pid in summarised_by_llm:  # paid-for summaries are kept, not redone offline
        assert f"key findings 1 about {pid}" in text or f"finding 1 about {pid}" in text


def test_daily_budget_spent_means_no_llm_call_and_status_shows_todays_tokens(
    scanned: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    learn(capsys, scanned)
    calls = llm_calls(scanned, 2)
    spent_in, spent_out = sum(c[2] for c in calls), sum(c[3] for c in calls)
    meta, _ = last_note(scanned)
    assert (meta["tokens_in"], meta["tokens_out"]) == (spent_in, spent_out) and spent_in > 0
    status = run_cli(capsys, "status", "-w", str(scanned), "--json")
    assert status.code == 0, status.err
    today = json.loads(status.out)["tokens_today"]
    assert (today["in"], today["out"], today["budget"]) == (spent_in, spent_out, 600_000)

    set_llm(scanned, daily_token_budget=spent_in + spent_out + 500)  # less than any call needs
    sent = len(openai_server.requests)
    learn(capsys, scanned)
    assert len(openai_server.requests) == sent, "no request once the day's budget is spent"
    # the 2 papers judged in cycle 2 and left waiting: no judge call, their 2 summaries refused
    assert [c[1] for c in llm_calls(scanned, 3)] == ["budget", "budget"]
    meta, text = last_note(scanned)
    assert meta["analyst"] == "llm+offline" and meta["papers"]
    assert (meta["tokens_in"], meta["tokens_out"]) == (0, 0)
    plain = text.replace("\\", "")  # Markdown escapes
    assert "daily budget" in plain and "daily_token_budget" in plain
    today = json.loads(run_cli(capsys, "status", "-w", str(scanned), "--json").out)["tokens_today"]
    assert (today["in"], today["out"], today["budget"]) == (
        spent_in, spent_out, spent_in + spent_out + 500)


def test_concurrent_calls_reserve_their_worst_case_so_together_they_cannot_overshoot(
    openai_server: FakeOpenAIServer,
) -> None:
    tracks = [Track("sae", "Audio SAEs", "Sparse autoencoders", ("sparse autoencoder",), 5)]
    candidates = [Candidate(Paper(f"2602.0000{i}", f"Paper {i}", "We study SAEs. " * 20),
                            [Match(f"2602.0000{i}", "sae", 0.8, True)]) for i in range(1, 5)]
    calls: list[LLMCall] = []
    stopped = threading.Event()

    def record(call: LLMCall) -> None:
        calls.append(call)
        if sum(c.outcome == "budget" for c in calls) == 2:
            stopped.set()

    settings = LLMSettings(base_url=openai_server.base_url, api_key=SECRET, model="fake",
                           concurrency=4, max_retries=0, timeout_seconds=10.0)
    budget = TokenBudget(cycle_limit=1, daily_limit=10**9)
    analyst = LLMAnalyst(AnalystSetup(settings, record, budget=budget))
    one = budget.estimate("\n".join(m["content"] for m in analyst.messages(
        tracks, analyst.render("summarize.md.j2", paper=paper_context(candidates[0]),
                               matches=candidates[0].matches))), 1500)
    budget.cycle_limit = 2 * one + one // 2  # room for two calls in flight, not three
    openai_server.delay_next(seconds=10.0, times=4)  # hold every answer until released
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.extend(
        analyst.summarize_each(candidates, Brief(tracks))))
    worker.start()
    try:
        assert stopped.wait(10.0), "two calls must be refused while two are in flight"
    finally:
        openai_server.release()
        worker.join(10.0)
        analyst.close()
    assert len(openai_server.requests) == 2
    assert sum(isinstance(r, BudgetExceeded) for r in results) == 2
    assert budget.reserved == 0 and budget.spent_cycle <= budget.cycle_limit


def paper_context(candidate: Candidate) -> dict[str, Any]:
    from agent.analyst.llm import paper_context as context

    return context(candidate)
