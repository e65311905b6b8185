"""The store at a year's scale: counts by COUNT, learn's pick from stored scores, compact records.

Real SQLite files, a real workspace scanned from the bundled sample, the real cycle; nothing is
patched. Speed itself is measured in bench/year_scale.py, not here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from agent.actions import choose_for_learning, rerank_pick, stored_pick
from agent.changes import RANK_FINGERPRINT, cycle_summary, load_changes
from agent.config import load_settings
from agent.cycle import CycleOptions, run_cycle
from agent.models import Match, Paper, Rating
from agent.review import cycle_log
from agent.review.digest import digest_cycle
from agent.store import PAPER_STATUSES, Store, sqlite_url
from tests.context import context

ROOT = Path(__file__).resolve().parent.parent


def ids(candidates) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.paper.id for c in candidates]


# --- counts -------------------------------------------------------------------------------------


def test_counts_by_count_match_the_old_definitions(tmp_path: Path) -> None:
    with Store(sqlite_url(str(tmp_path / "agent.db"))) as store:
        papers = [Paper(id=f"2601.{i:05d}", title=f"P{i}", abstract="a") for i in range(40)]
        store.upsert_papers(papers, cycle=1)
        for i, status in enumerate(PAPER_STATUSES):
            store.set_status([p.id for p in papers[i * 6 : i * 6 + 6]], status)
        store.save_matches(
            Match(p.id, track, score=(i * 7 % 10) / 10, relevant=(i + len(track)) % 3 == 0)
            for i, p in enumerate(papers[:34])
            for track in ("t1", "t22")
        )
        # a rejection turns a match irrelevant: the counts must follow
        store.save_matches([Match(papers[3].id, "t1", 0.9, relevant=False),
                            Match(papers[3].id, "t22", 0.9, relevant=False)])
        for statuses in (("ranked",), PAPER_STATUSES, ("new", "summarized")):
            for relevant_only in (False, True):
                old = len(store.candidates(statuses, relevant_only=relevant_only))
                assert store.count_candidates(statuses, relevant_only=relevant_only) == old
        # `tracks`: papers relevant per track and the latest cycle that first saw one
        expected: dict[str, int] = {}
        for _, matches in store.candidates(PAPER_STATUSES, relevant_only=True):
            for m in matches:
                if m.relevant:
                    expected[m.track_id] = expected.get(m.track_id, 0) + 1
        counted = store.relevant_per_track()
        assert {t: n for t, (n, _) in counted.items()} == expected
        assert {cycle for _, cycle in counted.values()} == {1}


def test_candidates_follow_the_best_score_of_each_paper(tmp_path: Path) -> None:
    with Store(sqlite_url(str(tmp_path / "agent.db"))) as store:
        store.upsert_papers([Paper(id=i, title=i, abstract="a") for i in ("a", "b", "c")])
        store.set_status(["a", "b", "c"], "ranked")
        store.save_matches([Match("a", "t", 0.4), Match("b", "t", 0.8, True), Match("a", "u", 0.6)])
        assert [p.id for p, _ in store.candidates()] == ["b", "a", "c"]
        store.save_matches([Match("b", "t", 0.1)])  # a lower score replaces the best one
        assert [p.id for p, _ in store.candidates()] == ["a", "b", "c"]
        assert store.count_candidates(relevant_only=True) == 0


# --- learn's pick -------------------------------------------------------------------------------


def test_the_pick_from_stored_scores_equals_the_re_ranked_pick(scanned: Path) -> None:
    with Store(load_settings(scanned).database_url) as store:
        ctx = context(store, scanned)
        ranker = ctx.ranker()
        old = ids(rerank_pick(ctx, ranker, set()).chosen)
        new = ids(stored_pick(ctx, set()))
        assert len(old) == ctx.settings.learn.max_papers
        assert new == old
        turned_down = {old[0]}
        again = rerank_pick(ctx, ranker, turned_down).chosen
        assert ids(stored_pick(ctx, turned_down)) == ids(again)


def test_the_pick_reads_the_top_of_each_track_and_equals_the_full_sort(tmp_path: Path) -> None:
    with Store(sqlite_url(str(tmp_path / "agent.db"))) as store:
        papers = [Paper(id=f"2601.{i:05d}", title=f"P{i}", abstract="a") for i in range(60)]
        store.upsert_papers(papers)
        store.set_status([p.id for p in papers], "ranked")
        store.set_status([papers[1].id, papers[2].id], "summarized")
        store.save_matches(  # a low-priority track with high scores, ties, an inactive track
            Match(p.id, track, score=round(((i * 37) % 23) / 23, 2), relevant=(i + k) % 4 != 0)
            for i, p in enumerate(papers)
            for k, track in enumerate(("high", "low", "paused"))
        )
        priorities = {"high": 5, "low": 1}
        waiting = store.candidates(("ranked",), limit=None)
        for limit, exclude, floor in [(1, [], None), (5, [], None), (100, [], None),
                                      (5, [papers[3].id, papers[26].id], None),
                                      (5, [], 0.3), (100, [], 0.3), (100, [papers[3].id], 0.05)]:

            def counts(m: Match, floor: float | None = floor) -> bool:
                usable = m.relevant if floor is None else m.score >= floor
                return usable and m.track_id in priorities

            value = {p.id: max(m.score * priorities[m.track_id] for m in ms if counts(m))
                     for p, ms in waiting if p.id not in exclude and any(map(counts, ms))}
            expected = sorted(value, key=lambda pid: (-value[pid], pid))[:limit]
            picked = store.best_relevant(priorities, exclude=exclude, limit=limit, floor=floor)
            assert [p.id for p, _ in picked] == expected
            for _, matches in picked:
                assert all(map(counts, matches))
            if floor is not None:  # the floor reaches papers the ranker did not call relevant
                assert any(not m.relevant for _, ms in picked for m in ms) or limit < 100


def test_learn_re_ranks_only_when_a_rating_or_a_track_changes(scanned: Path) -> None:
    settings = load_settings(scanned)
    with Store(settings.database_url) as store:
        assert store.get_meta(RANK_FINGERPRINT) is None
        first = choose_for_learning(context(store, scanned), context(store, scanned).ranker())
        assert first.rescored and first.fingerprint  # no fingerprint yet: the pool is re-ranked
    # learn only two papers, so that relevant ones are still waiting afterwards
    options = CycleOptions(action="learn", source="sample", overrides={"learn.max_papers": 2})
    outcome = run_cycle(scanned, options)
    assert outcome.status == "committed", outcome.error
    with Store(settings.database_url) as store:
        assert store.get_meta(RANK_FINGERPRINT) == first.fingerprint
        ctx = context(store, scanned)
        unchanged = choose_for_learning(ctx, ctx.ranker())
        assert unchanged.rescored == [] and unchanged.fingerprint == ""
        assert unchanged.chosen  # chosen from the stored scores

        store.add_rating(Rating(unchanged.chosen[0].paper.id, 1))
        ctx = context(store, scanned)
        rated = choose_for_learning(ctx, ctx.ranker())
        assert rated.rescored and rated.fingerprint not in ("", first.fingerprint)

        ctx = context(store, scanned)
        ctx.tracks[0] = dataclasses.replace(ctx.tracks[0], keywords=("speech tokenizer",))
        edited = choose_for_learning(ctx, ctx.ranker())
        assert edited.rescored and edited.fingerprint not in ("", rated.fingerprint)


def test_learn_re_ranks_when_the_rankers_constants_change(scanned: Path) -> None:
    """A release that retunes the ranker must not leave last version's scores in the store."""
    settings = load_settings(scanned)
    with Store(settings.database_url) as store:
        ctx = context(store, scanned)
        ranker = ctx.ranker()
        first = choose_for_learning(ctx, ranker)
        store.set_meta(RANK_FINGERPRINT, first.fingerprint)
        assert choose_for_learning(ctx, ranker).rescored == []  # same ranker: stored scores
        retuned = ctx.ranker()
        retuned.tuning = dataclasses.replace(ranker.tuning, plain_share=0.5)
        again = choose_for_learning(ctx, retuned)
        assert again.rescored and again.fingerprint not in ("", first.fingerprint)


# --- compact cycle records ----------------------------------------------------------------------


def test_a_committed_cycle_keeps_a_summary_that_reports_the_same(scanned: Path) -> None:
    settings = load_settings(scanned)
    with Store(settings.database_url) as store:
        record = store.get_cycle(1)
    assert record is not None and record.result_json is not None
    data = json.loads(record.result_json)
    assert "summary" in data and "matches" not in data  # no copy of the papers and matches
    assert len(record.result_json) < 2000
    summary = cycle_summary(record.result_json)
    assert summary is not None and summary.papers > 50 and summary.relevant
    assert cycle_log(scanned)[0]["papers"] == summary.papers
    with Store(settings.database_url) as store:
        new, _ = store.new_per_cycle([1])[1]  # the first scan stored every paper it listed
    assert digest_cycle(record, new).new_papers == summary.papers


def test_the_digest_counts_per_cycle_equal_counting_each_new_papers_matches(
    scanned: Path,
) -> None:
    """`new_per_cycle` (two grouped counts) gives what reading every new paper's matches gave."""
    run_cycle(scanned, CycleOptions(action="scan", source="sample"))
    with Store(load_settings(scanned).database_url) as store:
        cycles = [r.number for r in store.recent_cycles(10)]
        expected: dict[int, tuple[int, dict[str, int]]] = {}
        for cycle, ids in store.first_seen_in(cycles).items():
            relevant: dict[str, int] = {}
            for matches in store.matches_for(ids).values():
                for m in (m for m in matches if m.relevant):
                    relevant[m.track_id] = relevant.get(m.track_id, 0) + 1
            expected[cycle] = (len(ids), relevant)
        assert store.new_per_cycle(cycles) == expected
        assert store.new_per_cycle([*cycles, 999])[999] == (0, {})
        assert store.new_per_cycle([]) == {}
        assert expected[1][0] > 50 and expected[1][1]


def test_a_crash_after_the_commit_is_repaired_from_the_full_changes_then_compacted(
    scanned: Path,
) -> None:
    env = {**os.environ, "RESEARCH_AGENT_CRASH_AT": "committed"}
    done = subprocess.run([sys.executable, "-m", "agent", "cycle", "-w", str(scanned),
                           "--action", "learn", "--source", "sample"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode in (137, -9), done.stderr
    settings = load_settings(scanned)
    with Store(settings.database_url) as store:
        record = store.get_cycle(2)
        assert record is not None and record.status == "note_written"
        saved = load_changes(record.result_json or "")  # everything reconcile needs, still whole
        read = [a["paper_id"] for a in saved.analyses if a["kind"] == "summary"]
        assert read and saved.matches
        assert all(store.paper_status(pid) == "ranked" for pid in read)
    outcome = run_cycle(scanned, CycleOptions(action="learn", source="sample"))
    assert outcome.status == "committed", outcome.error
    with Store(settings.database_url) as store:
        record = store.get_cycle(2)
        assert record is not None and record.status == "committed"
        assert all(store.paper_status(pid) in ("summarized", "queued") for pid in read)
        summary = cycle_summary(record.result_json)
        assert summary is not None and "summary" in json.loads(record.result_json or "")
        assert [pid for pid, kind, _ in summary.read if kind == "summary"] == read


# --- startup ------------------------------------------------------------------------------------

PROBE = """
import sys
from pathlib import Path
from agent.cli import app
from agent.cli import commands, morning, queue, tracks  # every command registered
assert "openai" not in sys.modules and "sqlalchemy" not in sys.modules, "at import"
from agent.review import cycle_log, track_rows
from agent.status import collect_status
workspace = Path(sys.argv[1])
report = collect_status(workspace)
rows = cycle_log(workspace)
hits = track_rows(workspace)
heavy = sorted(m for m in ("openai", "sqlalchemy", "sqlmodel", "jinja2") if m in sys.modules)
print(report["papers"], len(rows), len(hits), heavy)
"""


def test_status_log_and_tracks_load_neither_openai_nor_sqlalchemy(scanned: Path) -> None:
    """They read a migrated SQLite store through sqlite3 (timings: bench/year_scale.py)."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(scanned)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    papers, cycles, tracks, heavy = done.stdout.split(" ", 3)
    assert int(papers) > 50 and int(cycles) == 1 and int(tracks) >= 1
    assert heavy.strip() == "[]"


def test_the_quick_reader_answers_like_the_store(scanned: Path) -> None:
    from agent.store.quick import QuickReader

    settings = load_settings(scanned)
    run_cycle(scanned, CycleOptions(action="learn", source="sample"))
    path = scanned / "state" / "agent.db"
    quick = QuickReader.open(path)
    assert quick is not None
    with quick, Store(settings.database_url) as store:
        assert quick.recent_cycles(5) == store.recent_cycles(5)
        assert quick.get_cycle(1) == store.get_cycle(1)
        assert quick.queue_list() == store.queue_list() and store.queue_list()
        assert quick.count_papers() == store.count_papers()
        for relevant_only in (False, True):
            assert quick.count_candidates(relevant_only=relevant_only) == store.count_candidates(
                relevant_only=relevant_only)
        since = store.recent_cycles(5)[-1].started
        assert quick.tokens_since(since) == store.tokens_since(since)
        assert quick.relevant_per_track() == store.relevant_per_track()
        assert quick.arrivals() == store.arrivals() and store.arrivals()[0]
        assert quick.new_per_cycle([1, 2]) == store.new_per_cycle([1, 2])
        assert quick.count_candidates(relevant_only=True, tracks=["audio-interpretability"]) == (
            store.count_candidates(relevant_only=True, tracks=["audio-interpretability"]))
