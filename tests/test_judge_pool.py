"""The judge's shortlist: an LLM judges `[learn] judge_candidates` papers per learn cycle, the
best `max_papers` it keeps are summarised, the rest wait and are never judged again.

Whole learn cycles through the CLI against the loopback LLM (`openai_server`, the real openai
client speaking HTTP); the workspace is the bundled sample scanned with one broad track added,
so that ~120 papers are relevant (the shipped tracks alone leave 7).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.actions.pick import choose_for_learning
from agent.analyst.offline import OfflineAnalyst
from agent.rank.worth import worth
from agent.settings import LearnSettings
from agent.status import active_track_ids, collect_status
from agent.store import Store
from agent.tracks import active_tracks, load_tracks
from agent.waiting import waiting_counts
from agent.workspace import Workspace
from tests.cli import run_cli
from tests.context import context
from tests.fakes.openai_server import FakeOpenAIServer
from tests.workspaces import scanned_workspace

SECRET = "sk-test-judge-pool-0123456789"
JUDGED_RE = re.compile(r"^- paper_id: (\S+) \(ranker: ", re.MULTILINE)
ARXIV_ID_RE = re.compile(r"arXiv id: (\S+)")
BROAD_TRACK = '''
[[track]]
id = "language-models"
name = "Language models"
priority = 3
description = """Large language models: reasoning, evaluation, training and alignment."""
keywords = ["language model", "large language model", "LLM", "reasoning"]
categories = ["cs.CL"]
'''


@pytest.fixture(scope="module")
def broad_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after one offline scan of the sample, with a broad fourth track."""
    return scanned_workspace(tmp_path_factory.mktemp("broad"), extra_tracks=BROAD_TRACK)


@pytest.fixture
def broad(broad_template: Path, tmp_path: Path, openai_server: FakeOpenAIServer,
          monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the broad workspace, with the LLM pointed at the loopback fake."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return Path(shutil.copytree(broad_template, tmp_path / "radar", symlinks=True))


def schema_name(request: dict[str, Any]) -> str:
    return str(request["response_format"]["json_schema"]["name"])


def user_text(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def judged(server: FakeOpenAIServer) -> list[str]:
    """Every paper id the judge was asked about, one per paper per request."""
    return [pid for r in server.requests if schema_name(r) == "Judgements"
            for pid in JUDGED_RE.findall(user_text(r))]


def summarised(server: FakeOpenAIServer) -> list[str]:
    return [ARXIV_ID_RE.findall(user_text(r))[0] for r in server.requests
            if schema_name(r) == "PaperSummary"]


def judge_with(
    score: Callable[[str], int], together: threading.Barrier | None = None
) -> Callable[[dict[str, Any]], Any]:
    """A judge that gives each paper `score(paper_id)`; other requests get the fake's default.
    With `together`, each judge request waits there (a 500 if they do not all come at once)."""

    def respond(request: dict[str, Any]) -> dict[str, Any] | None:
        if schema_name(request) != "Judgements":
            return None
        if together is not None:
            together.wait()
        return {"items": [{"paper_id": pid, "track_id": "language-models", "score": score(pid),
                           "reason": f"Judge's reason for {pid}."}
                          for pid in JUDGED_RE.findall(user_text(request))]}

    return respond


def hashed_score(pid: str) -> int:
    """2 (below the bar) for ~3 papers in 10, 9 for ~1 in 10, else 7: fixed per paper."""
    bucket = int(hashlib.sha256(pid.encode()).hexdigest(), 16) % 10
    return 2 if bucket < 3 else 9 if bucket == 3 else 7


def learn(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    run = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "learn", "--source", "sample")
    assert run.code == 0, run.err


def last_note(workspace: Path) -> tuple[dict[str, Any], str]:
    note = sorted((workspace / "cycles").rglob("0*-learn.md"))[-1]
    text = note.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1]), text


def db_rows(workspace: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(workspace / "state" / "agent.db")
    try:
        return list(db.execute(sql, args))
    finally:
        db.close()


def last_cycle(workspace: Path) -> int:
    return int(db_rows(workspace, "select max(number) from cycles")[0][0])


def analyses(workspace: Path, cycle: int, kind: str) -> list[str]:
    return [pid for (pid,) in db_rows(
        workspace, "select paper_id from analyses where cycle = ? and kind = ?", cycle, kind)]


def values(workspace: Path, ids: list[str]) -> dict[str, float]:
    """Each paper's best stored score x track priority on an active track (the ranker's order)."""
    priority = {t.id: t.priority
                for t in active_tracks(load_tracks(workspace / "state" / "tracks.toml"))}
    with Store(f"sqlite:///{workspace / 'state' / 'agent.db'}") as store:
        matches = store.matches_for(ids)
    return {pid: max((worth(m.score, priority[m.track_id]) for m in matches[pid]
                      if m.relevant and m.track_id in priority), default=0.0) for pid in ids}


def best_five(workspace: Path, scores: dict[str, int]) -> list[str]:
    """The five the judge kept that a cycle must summarise: judge's score, then the ranker's."""
    kept = [pid for pid, s in scores.items() if s >= 5]
    value = values(workspace, kept)
    return sorted(kept, key=lambda pid: (-scores[pid], -value[pid], pid))[:5]


def set_learn(workspace: Path, **settings: int) -> None:
    path = workspace / "research.toml"
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[learn]\n", "[learn]\n" + lines, 1), encoding="utf-8")


# --- one cycle: 50 judged, 5 summarised ---------------------------------------------------------


def test_the_judge_reads_50_candidates_in_one_round_and_the_best_5_are_summarised(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.respond_with(judge_with(hashed_score, threading.Barrier(5, timeout=10)))
    learn(capsys, broad)

    ids = judged(openai_server)
    assert len(ids) == 50 and len(set(ids)) == 50
    names = [schema_name(r) for r in openai_server.requests]
    assert names.count("Judgements") == 5  # batches of 10
    assert names.count("PaperSummary") == 5 and names.count("FieldUpdate") == 1
    assert openai_server.max_in_flight >= 5  # the five judge requests went out together
    scores = {pid: hashed_score(pid) for pid in ids}
    above = [pid for pid in ids if scores[pid] >= 5]
    below = [pid for pid in ids if scores[pid] < 5]
    assert len(below) > 5 and len(above) > 5  # the scores split the pool both ways
    assert sorted(summarised(openai_server)) == sorted(best_five(broad, scores))

    # the cycle's note, the store and the log agree, count for count
    cycle = last_cycle(broad)
    meta, text = last_note(broad)
    assert sorted(meta["papers"]) == sorted(best_five(broad, scores))
    assert "## Content: 5 papers" in text
    assert (f"The LLM judged 50 candidates (the ranker's best unread papers not judged before): "
            f"{len(above)} at or above 5/10, {len(below)} below. 5 papers are summarised (the "
            f"best by the judge's score, then the ranker's). {len(above) - 5} papers the judge "
            "kept wait for a later cycle (not judged again).") in text
    notice = re.search(r"The LLM judged (\d+) candidates below 5/10 and did not summarise them: "
                       r"(.*), and (\d+) more\.", text)
    assert notice is not None
    named = re.findall(r"arXiv:(\S+) \(2/10\)", notice.group(2))
    assert len(set(named)) == 5 and set(named) <= set(below)  # the first few, then a count
    assert (int(notice.group(1)), int(notice.group(3))) == (len(below), len(below) - 5)
    assert sorted(analyses(broad, cycle, "judgement")) == sorted(ids)
    assert sorted(analyses(broad, cycle, "summary")) == sorted(meta["papers"])
    statuses = dict(db_rows(broad, "select id, status from papers"))
    read = sorted(p for p in ids if statuses[p] in ("summarized", "queued"))  # queued: read next
    assert read == sorted(meta["papers"])
    assert {statuses[p] for p in ids if p not in meta["papers"]} == {"ranked"}

    run = run_cli(capsys, "log", "-w", str(broad), "--json")
    [row] = [r for r in json.loads(run.out) if r["number"] == cycle]
    assert row["papers"] == 5  # the papers it summarised, not the 50 it judged

    # 50 judged abstracts fit the default budgets, with room to spare
    calls = db_rows(broad, "select purpose, outcome, tokens_in + tokens_out from llm_calls "
                    "where cycle = ?", cycle)
    assert {outcome for _, outcome, _ in calls} == {"ok"}
    assert sum(t for _, _, t in calls) < 120_000 / 2


# --- later cycles: waiting papers are summarised, nobody is judged twice --------------------------


def first_learn(
    broad: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> tuple[list[str], dict[str, int], set[str]]:
    """One learn cycle whose judge scores each paper by its id's hash: (the papers judged, their
    scores, the five summarised)."""
    server.respond_with(judge_with(hashed_score))
    learn(capsys, broad)
    first = judged(server)
    scores = {pid: hashed_score(pid) for pid in first}
    return first, scores, set(best_five(broad, scores))


def test_the_next_cycle_summarises_waiting_papers_without_judging_them_again(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first, scores, done = first_learn(broad, openai_server, capsys)
    waiting = {pid: s for pid, s in scores.items() if s >= 5 and pid not in done}

    openai_server.requests.clear()
    openai_server.respond_with(judge_with(lambda pid: 6))  # every new paper: kept, but below 7
    learn(capsys, broad)
    second = judged(openai_server)
    fresh = 50 - len(waiting)  # each paper waiting takes the place of one new candidate
    assert len(second) == fresh and not set(second) & set(first)  # never judged twice
    expected = best_five(broad, waiting)  # the earlier 9s and 7s beat this cycle's 6s
    assert sorted(summarised(openai_server)) == sorted(expected)

    cycle = last_cycle(broad)
    meta, text = last_note(broad)
    assert sorted(meta["papers"]) == sorted(expected)
    assert (f"The LLM judged {fresh} candidates (the ranker's best unread papers not judged "
            f"before; at most {fresh} rather than 50: {len(waiting)} papers kept earlier already "
            f"wait): {fresh} at or above 5/10, 0 below. 5 papers are summarised (the best by the "
            "judge's score, then the ranker's), 5 of them judged in an earlier cycle. "
            "45 papers the judge kept wait for a later cycle (not judged again).") in text
    for pid in expected:  # the earlier verdict is shown, not stored again
        assert f"**Why this paper**: Judge's reason for {pid}. (judged {scores[pid]}/10 for" in text
    assert sorted(analyses(broad, cycle, "judgement")) == sorted(second)
    assert sorted(analyses(broad, cycle, "summary")) == sorted(expected)


def test_papers_judged_below_the_bar_are_never_judged_again(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.respond_with(judge_with(lambda pid: 2))  # the judge wants none
    learn(capsys, broad)
    rejected = judged(openai_server)
    assert len(rejected) == 50 and summarised(openai_server) == []
    meta, text = last_note(broad)
    assert meta["papers"] in (None, [])
    assert "0 at or above 5/10, 50 below. 0 papers are summarised." in text
    assert ", and 45 more." in text
    with Store(f"sqlite:///{broad / 'state' / 'agent.db'}") as store:
        matches = store.matches_for(rejected)
    assert not any(m.relevant for pid in rejected for m in matches[pid])

    seen = set(rejected)
    openai_server.respond_with(judge_with(lambda pid: 8))
    for _ in range(2):  # 50 more, then the rest of the relevant papers
        openai_server.requests.clear()
        learn(capsys, broad)
        now = judged(openai_server)
        assert not set(now) & seen
        assert not set(summarised(openai_server)) & set(rejected)
        seen |= set(now)
    assert len(seen) > 100


def lowest_kept(workspace: Path, scores: dict[str, int], done: set[str]) -> str:
    """The waiting paper the judge kept with the lowest score (then the ranker's lowest)."""
    return min((pid for pid, s in scores.items() if s >= 5 and pid not in done),
               key=lambda pid: (scores[pid], values(workspace, [pid])[pid]))


def test_after_a_rating_the_pool_is_ranked_again_and_still_nobody_is_judged_twice(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first, scores, done = first_learn(broad, openai_server, capsys)
    lowest = lowest_kept(broad, scores, done)
    run = run_cli(capsys, "rate", lowest, "up", "-w", str(broad), "--source", "sample",
                  "--track", "language-models")
    assert run.code == 0, run.err

    openai_server.requests.clear()
    learn(capsys, broad)  # the rating changed the ranker: the waiting papers are ranked again
    second = judged(openai_server)  # the new query finds fewer unjudged papers relevant
    assert not set(second) & set(first)
    read = summarised(openai_server)
    assert len(read) == 5 and lowest in read  # your rating puts it first, its verdict stands
    assert not set(read) & done
    assert ("5 papers are summarised (papers you rated up first, then the best by the judge's "
            "score, then the ranker's)") in last_note(broad)[1]


def failing_judge(
    fails: Callable[[list[str]], bool], score: Callable[[str], int] = hashed_score
) -> tuple[Callable[[dict[str, Any]], Any], set[str]]:
    """A judge whose requests about the papers `fails(ids)` picks get HTTP 500 (retries too),
    and the set those papers are added to; other judge requests get `score`."""
    failed: set[str] = set()
    judge = judge_with(score)

    def respond(request: dict[str, Any]) -> Any:
        ids = JUDGED_RE.findall(user_text(request)) if schema_name(request) == "Judgements" else []
        if ids and fails(ids):
            failed.update(ids)
            raise RuntimeError("this judge request fails")  # the fake answers 500
        return judge(request)

    return respond, failed


def second_batch() -> Callable[[list[str]], bool]:
    """Picks the second batch to arrive (by its first paper), every time it is sent again."""
    firsts: list[str] = []
    lock = threading.Lock()

    def fails(ids: list[str]) -> bool:
        with lock:
            if ids[0] not in firsts:
                firsts.append(ids[0])
            return firsts.index(ids[0]) == 1

    return fails


def test_when_the_llm_fails_the_offline_verdicts_are_not_kept_and_the_llm_judges_later(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    respond, failed = failing_judge(lambda ids: True)  # every judge request, with its retries
    openai_server.respond_with(respond)
    relevant_before = set(db_rows(broad, "select paper_id, track_id from scores where relevant"))
    learn(capsys, broad)
    meta, text = last_note(broad)
    assert meta["analyst"] == "llm+offline" and len(meta["papers"]) == 5
    assert len(failed) == 50 and set(meta["papers"]) <= failed
    assert "The LLM failed during judging" in text
    assert ("The offline analyst, judging in the LLM's place, judged 50 candidates (the ranker's "
            "best unread papers not judged before): ") in text
    assert ("its verdicts are not kept: the 45 not summarised stay unjudged, for the LLM to judge "
            "in a later cycle.") in text
    assert "The LLM judged" not in text and "wait for a later cycle" not in text
    assert "**Why this paper**" not in text  # the LLM's reason; the offline analyst gave none
    assert analyses(broad, last_cycle(broad), "judgement") == []  # only the LLM's verdicts stay
    with Store(f"sqlite:///{broad / 'state' / 'agent.db'}") as store:
        assert store.judgement_scores() == {}
    relevant_after = set(db_rows(broad, "select paper_id, track_id from scores where relevant"))
    demoted = {pid for pid, _ in relevant_before - relevant_after}
    assert not demoted & failed and any(pid for pid, _ in relevant_before if pid in failed)

    openai_server.requests.clear()
    openai_server.respond_with(judge_with(hashed_score))
    learn(capsys, broad)  # the LLM works again: it judges what the offline analyst judged
    assert failed - set(meta["papers"]) <= set(judged(openai_server))
    assert "The LLM judged 50 candidates" in last_note(broad)[1]


def test_when_one_judge_batch_fails_the_llms_other_verdicts_stick(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    respond, failed = failing_judge(second_batch())
    openai_server.respond_with(respond)
    learn(capsys, broad)
    ids = set(judged(openai_server))
    assert len(ids) == 50 and len(failed) == 10
    by_llm = sorted(ids - failed)
    stored = analyses(broad, last_cycle(broad), "judgement")
    assert sorted(stored) == by_llm  # the 40 the LLM judged, not the 10 the offline one did
    above = sum(1 for pid in by_llm if hashed_score(pid) >= 5)
    meta, text = last_note(broad)
    assert set(meta["papers"]) <= set(by_llm)  # the LLM's verdicts come first
    assert (f"The LLM judged 40 candidates (the ranker's best unread papers not judged before): "
            f"{above} at or above 5/10, {40 - above} below. The offline analyst, judging in the "
            "LLM's place, judged 10 more: ") in text
    assert ("its verdicts are not kept: these papers stay unjudged, for the LLM to judge in a "
            "later cycle. 5 papers are summarised (the LLM's verdicts before the offline "
            "analyst's, then the best by the judge's score, then the ranker's).") in text
    assert "the offline analyst judged 10 of the 50 candidates in its place" in text
    assert f"{above - 5} papers the LLM kept wait for a later cycle (not judged again)." in text
    assert "The LLM failed during judging" in text

    openai_server.requests.clear()
    openai_server.respond_with(judge_with(hashed_score))
    learn(capsys, broad)
    again = judged(openai_server)
    assert failed <= set(again) and not set(again) & set(by_llm)  # judged once, by the LLM


# --- the backlog: papers the judge kept wait, and bound how many new ones it judges -------------


def backlog(workspace: Path) -> set[str]:
    """Papers the LLM kept (latest verdict at or above the bar) that are still unread."""
    rows = db_rows(workspace, "select a.paper_id, a.payload from analyses a join papers p on "
                   "p.id = a.paper_id where a.kind = 'judgement' and p.status = 'ranked' "
                   "order by a.id")
    latest = {pid: json.loads(payload)["score"] for pid, payload in rows}
    return {pid for pid, score in latest.items() if score >= 5}


def test_a_cycle_judges_judge_candidates_less_the_backlog_and_at_least_max_papers(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.respond_with(judge_with(hashed_score))
    seen: set[str] = set()
    for cycle in range(3):
        if cycle == 2:
            openai_server.respond_with(judge_with(lambda pid: 8))  # it keeps every new one
        waiting = len(backlog(broad))
        openai_server.requests.clear()
        learn(capsys, broad)
        now = judged(openai_server)
        limit = max(5, 50 - waiting)
        assert len(now) == limit and not set(now) & seen, (cycle, waiting)
        seen |= set(now)
        assert len(backlog(broad)) <= 45  # judge_candidates - max_papers, whatever the cycle
        text = last_note(broad)[1]
        cap = "" if not waiting else (f"; at most {limit} rather than 50: {waiting} papers kept "
                                      "earlier already wait")
        assert (f"The LLM judged {limit} candidates (the ranker's best unread papers not judged "
                f"before{cap}): ") in text
        assert f"{len(backlog(broad))} papers the judge kept wait for a later cycle" in text
    assert len(backlog(broad)) == 45  # full: judge_candidates - max_papers

    openai_server.requests.clear()
    learn(capsys, broad)
    assert len(judged(openai_server)) == 5  # a full backlog still lets max_papers fresh ones in
    assert len(backlog(broad)) == 45


# --- status counts what the next learn would choose from ------------------------------------------


class JudgingAnalyst(OfflineAnalyst):
    """A stand-in for the LLM analyst in a test's Context: it judges first (never called here)."""

    judges_first = True


def learn_would_choose(workspace: Path) -> int:
    """The papers the next learn cycle chooses from: never judged, plus judged and waiting."""
    set_learn(workspace, judge_candidates=1000)  # every unjudged candidate, not the best 50
    with Store(f"sqlite:///{workspace / 'state' / 'agent.db'}") as store:
        ctx = context(store, workspace)
        ctx.analyst = JudgingAnalyst(workspace)
        pick = choose_for_learning(ctx, ctx.ranker())
    assert not pick.rescored and not pick.discovered  # the stored scores are current
    return len(pick.chosen) + len(pick.waiting)


def test_status_counts_the_papers_learn_would_choose_from_after_a_rating(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first, scores, done = first_learn(broad, openai_server, capsys)
    lowest = lowest_kept(broad, scores, done)
    run = run_cli(capsys, "rate", lowest, "down", "-w", str(broad), "--source", "sample")
    assert run.code == 0, run.err
    openai_server.respond_with(judge_with(lambda pid: 2))  # the new ones: all turned down
    learn(capsys, broad)  # ranks again with the rating: the stored scores follow it
    assert lowest in backlog(broad) and values(broad, [lowest])[lowest] == 0.0  # below the bar

    expected = learn_would_choose(broad)
    report = collect_status(broad)  # the quick reader
    assert report["candidates"] == expected
    assert report["candidates_judged"] == len(backlog(broad))
    with Store(f"sqlite:///{broad / 'state' / 'agent.db'}") as store:
        assert waiting_counts(store, active_track_ids(Workspace(broad)), judging=True,
                              floor=LearnSettings().judge_floor) == (expected, len(backlog(broad)))
    run = run_cli(capsys, "status", "-w", str(broad))
    assert (f"candidates: {expected} ({len(backlog(broad))} kept by the LLM judge, "
            f"{expected - len(backlog(broad))} not judged yet)") in run.out


# --- settings ------------------------------------------------------------------------------------


def test_judge_candidates_below_max_papers_judges_max_papers(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    set_learn(broad, judge_candidates=2, max_papers=4)
    openai_server.respond_with(judge_with(lambda pid: 8))
    learn(capsys, broad)
    assert len(judged(openai_server)) == 4  # max_papers wins
    assert len(summarised(openai_server)) == 4
    assert "The LLM judged 4 candidates" in last_note(broad)[1]


def test_judge_candidates_sets_how_many_the_judge_reads(
    broad: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    set_learn(broad, judge_candidates=23, max_papers=3)
    openai_server.respond_with(judge_with(lambda pid: 8))
    learn(capsys, broad)
    assert len(judged(openai_server)) == 23
    assert len(summarised(openai_server)) == 3


def test_the_offline_analyst_judges_nothing_and_summarises_max_papers(
    broad: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    learn(capsys, broad)
    cycle = last_cycle(broad)
    meta, text = last_note(broad)
    assert len(meta["papers"]) == 5
    assert analyses(broad, cycle, "judgement") == []
    assert len(analyses(broad, cycle, "summary")) == 5
    assert "The LLM judged" not in text
