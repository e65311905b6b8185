"""Sentences a truth audit of the demo's notes and views found false or overstated, now true.

Each test asserts the true statement next to the one that was written before."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agent.actions.scan import scan_next_steps
from agent.analyst.schemas import DeepRead
from agent.changes import StateChanges, changes_from_result, cycle_summary, dump_summary, summarise
from agent.models import FullText, Match, Paper, Track
from agent.notes import render_note
from agent.results import CycleResult, PaperSection, ScanStats
from agent.review.digest import DigestCycle, DigestPage
from agent.store import CycleRecord

STARTED = datetime(2026, 1, 9, 2, 0, tzinfo=UTC)
BENCH = Track("bench", "Evaluating spoken language models", "Benchmarks.", ("benchmark",), 2)
LISTEN = Track("listen", "Listen vs Guess", "Audio or text?", ("audio",), 5)


def paper(number: int, categories: tuple[str, ...] = ("cs.SD",)) -> Paper:
    return Paper(f"2601.{number:05d}", f"Paper {number}", "We benchmark audio models.",
                 authors=("A. Author",), categories=categories,
                 published=datetime(2026, 1, 8, tzinfo=UTC))


def scan_with_six_relevant() -> CycleResult:
    """Six papers relevant to one track: the note shows the best five."""
    papers = [paper(n) for n in range(1, 7)]
    matches = [Match(p.id, "bench", 0.9 - i / 100, True) for i, p in enumerate(papers)]
    sections = [PaperSection(p, [m]) for p, m in zip(papers, matches, strict=True)][:5]
    result = CycleResult(action="scan", summary_line="6 new papers", new_papers=papers,
                         matches=matches, best_per_track={"bench": sections})
    result.scan = ScanStats("sample", fetched=6, new=6, categories=["cs.SD", "eess.AS"],
                            listed={"cs.SD": 6, "eess.AS": 2}, new_by_category={"cs.SD": 6})
    return result


def test_a_scan_counts_every_relevant_paper_not_only_those_it_shows() -> None:
    """Was: "the best of the 5 relevant papers" when 6 were relevant and 5 shown."""
    steps = scan_next_steps(scan_with_six_relevant(), [BENCH])
    assert steps == ["Learn: summarise the best of the 6 relevant papers "
                     "(Evaluating spoken language models)."]


def test_with_an_llm_judge_a_scan_says_the_judge_reads_down_to_its_floor() -> None:
    """Was: "summarise the best of the 6 relevant papers" when the next learn's judge reads
    every paper at its floor, relevant or not, and summarises the best it keeps."""
    result = scan_with_six_relevant()
    extra = paper(7)
    result.matches.append(Match(extra.id, "bench", 0.2, False))
    result.matches.append(Match(paper(8).id, "bench", 0.1, False))  # below the floor
    steps = scan_next_steps(result, [BENCH], floor=0.15)
    assert steps == ["Learn: the LLM judge reads the best of the 7 papers scoring 0.15 or more "
                     "on a track (6 of them relevant: Evaluating spoken language models); the "
                     "best it keeps are summarised."]
    result.matches = result.matches[-2:]
    result.best_per_track = {}
    assert scan_next_steps(result, [BENCH], floor=0.15) == [
        "Learn: the LLM judge reads the 1 paper scoring 0.15 or more on a track (none at a "
        "track's relevance bar); it is summarised if the judge keeps it."]
    assert scan_next_steps(result, [BENCH])[0].startswith("Nothing new cleared")


def test_a_scan_note_says_when_a_track_has_more_relevant_papers_than_it_shows() -> None:
    body = render_note(scan_with_six_relevant(), cycle=6, started=STARTED, tracks=[BENCH],
                       reason="r")
    assert "**Evaluating spoken language models (priority 2)** (the best 5 of 6 relevant):" in body


def test_per_category_counts_say_a_cross_listed_paper_counts_in_each() -> None:
    """8 listed across two categories from 6 papers: the note says why the sum is larger."""
    body = render_note(scan_with_six_relevant(), cycle=6, started=STARTED, tracks=[BENCH],
                       reason="r")
    assert "a paper cross-listed in several counts in each" in body


def abstract_deep_read() -> CycleResult:
    read = paper(7)
    reading = DeepRead(paper_id=read.id, problem="Which?", method="We benchmark.",
                       key_results=["It works."], limitations=[], connections=[],
                       open_questions=[], follow_ups=[])
    return CycleResult("deep-read", f"arXiv:{read.id} (abstract)", [PaperSection(read)],
                       deep_read=reading, analyst="offline",
                       full_text=FullText(read.id, "abstract", [("Abstract", read.abstract)]))


def test_an_offline_deep_read_of_the_abstract_does_not_claim_sections() -> None:
    """Was: "the paper's own sentences, sorted by the section they come from" for an
    abstract, which has no sections."""
    body = render_note(abstract_deep_read(), cycle=3, started=STARTED, tracks=[BENCH],
                       reason="r")
    assert "sorted by the section they come from" not in body
    assert ("Offline analyst: the abstract's own sentences, sorted by what each states "
            "(problem, method, results); no LLM was used.") in body
    full = abstract_deep_read()
    full.full_text = FullText(full.deep_read.paper_id, "html", [("Method", "We benchmark.")])
    body = render_note(full, cycle=3, started=STARTED, tracks=[BENCH], reason="r")
    assert "the paper's own sentences, sorted by the section they come from" in body


def record(number: int, action: str, changes: StateChanges) -> CycleRecord:
    return CycleRecord(number, action, "r", "committed", "recorded", STARTED, STARTED,
                       f"cycles/2026/01/{number:04d}-{action}.md", "a" * 40, 0, 0, None,
                       dump_summary(summarise(changes)), None)


def digest_items() -> tuple[DigestPage, list[DigestCycle]]:
    """One paper summarised in cycle 2, then deep-read from its abstract in cycle 3."""
    learned = paper(7)
    learn = CycleResult("learn", "1 paper", [PaperSection(learned)])
    summary_changes = changes_from_result(learn)
    summary_changes.analyses.append({"paper_id": learned.id, "kind": "summary", "track_id": None,
                                     "payload": {"headline": "We benchmark."}})
    items = []
    for number, action, changes in ((2, "learn", summary_changes),
                                    (3, "deep-read", changes_from_result(abstract_deep_read()))):
        summary = cycle_summary(record(number, action, changes).result_json)
        assert summary is not None
        item = DigestCycle(record(number, action, changes))
        item.read = [(p, k) for p, k, _ in summary.read]
        item.abstract_only = set(summary.abstract_only)
        items.append(item)
    matches = {learned.id: [Match(learned.id, "bench", 0.8, True)]}
    page = DigestPage([BENCH, LISTEN], {learned.id: learned}, matches, ZoneInfo("UTC"))
    return page, items


def test_the_digest_counts_papers_read_per_track_not_readings() -> None:
    """Was: 2 "summarised or read" for one paper summarised and then deep-read."""
    page, items = digest_items()
    rows = [line for line in page.track_lines(items) if line.startswith("| Evaluating")]
    assert rows == ["| Evaluating spoken language models | 2 | 0 | 1 |"]


def test_the_digest_says_a_deep_read_read_only_the_abstract() -> None:
    page, items = digest_items()
    line = page.paper_line("2601.00007", "deep-read", "", items[1].abstract_only)
    assert line.startswith("- Deep-read (abstract only): [arXiv:2601.00007]")
    assert page.paper_line("2601.00007", "deep-read", "", set()).startswith("- Deep-read: ")


def test_a_learn_note_does_not_call_the_papers_it_summarised_new(scanned) -> None:  # type: ignore[no-untyped-def]
    """Was: "…the highest-priority track with new papers this cycle" in a learn note; a learn
    stores no new paper, it summarises papers an earlier scan stored."""
    from agent.cycle import CycleOptions, run_cycle

    outcome = run_cycle(scanned, CycleOptions(action="learn", source="sample"))
    assert outcome.status == "committed" and outcome.note_path, outcome.error
    note = (scanned / outcome.note_path).read_text(encoding="utf-8")
    assert "new papers this cycle" not in note
    assert "the highest-priority track among this cycle's papers." in note


def test_papers_show_says_a_deep_read_read_only_the_abstract(scanned, capsys) -> None:  # type: ignore[no-untyped-def]
    """Was: "deep-read (cycle 3)" with the abstract's sentences under "problem", "method"."""
    from agent.cycle import CycleOptions, run_cycle
    from tests.cli import run_cli

    learn = run_cycle(scanned, CycleOptions(action="learn", source="sample"))
    read = run_cycle(scanned, CycleOptions(action="deep-read", source="sample"))
    assert learn.status == read.status == "committed", (learn.error, read.error)
    paper_id = read.note_path and (scanned / read.note_path).read_text().split("arXiv:")[1][:10]
    shown = run_cli(capsys, "papers", "show", str(paper_id), "-w", str(scanned)).out
    assert f"deep-read (cycle {read.number}, from the abstract only)" in shown, shown


def test_a_learn_note_written_by_a_model_says_it_read_abstracts_only() -> None:
    """Was: nothing; the note's key findings and gaps read as if the model had read the paper,
    but the summary prompt carries only the abstract and arXiv metadata."""
    from agent.analyst.schemas import PaperSummary
    from agent.notes import LLM_ABSTRACTS_NOTICE, OFFLINE_NOTICE

    read = paper(8)
    summary = PaperSummary(paper_id=read.id, headline="New.", models=[], method="m",
                           key_findings=["f"], gap="g", connections=[], tags=[])
    result = CycleResult("learn", "1 paper", [PaperSection(read, summary=summary)],
                         analyst="llm", model="gpt-4.1-mini")
    body = render_note(result, cycle=4, started=STARTED, tracks=[BENCH], reason="r")
    assert LLM_ABSTRACTS_NOTICE == (
        "Summaries are the model's reading of each paper's abstract and arXiv metadata, "
        "not of its full text; a deep read reads the full text."
    )
    assert LLM_ABSTRACTS_NOTICE in body and OFFLINE_NOTICE not in body
    result.analyst = "offline"
    body = render_note(result, cycle=4, started=STARTED, tracks=[BENCH], reason="r")
    assert LLM_ABSTRACTS_NOTICE not in body and OFFLINE_NOTICE in body


def test_the_cycles_index_counts_notes_not_every_cycle() -> None:
    """Was: "The latest 2 of 2 cycles" when a third cycle had failed (no note) and, past 50
    notes, "50 of 50" however many there were: the index is given its rows only."""
    from agent.notes import CycleRow, render_cycles_readme

    rows = [CycleRow(n, STARTED, "scan", "r", 3, f"cycles/2026/01/{n:04d}-scan.md")
            for n in (1, 3)]
    text = render_cycles_readme(rows)
    assert "of 2 cycles" not in text
    assert "The latest 2 cycle notes, newest first" in text
    assert "`research-agent log` lists every cycle" in text


def test_the_knowledge_graph_says_its_cycle_is_the_last_reading_not_the_finding() -> None:
    """Was: "the cycle that found them", next to the cycle of the paper's latest summary or
    deep read (a paper a scan found in cycle 1 showed "(cycle 4)")."""
    from agent.notes import render_knowledge_graph

    text = render_knowledge_graph([], [], cycle=4, updated=STARTED)
    assert "the cycle that found them" not in text
    assert "the cycle that last read them" in text


def test_a_scan_of_one_request_says_request_not_requests() -> None:
    """Was: "Fetched: 151 papers: 151 new, 0 updated (1 requests)"."""
    result = scan_with_six_relevant()
    assert result.scan is not None
    result.scan.requests = 1
    body = render_note(result, cycle=6, started=STARTED, tracks=[BENCH], reason="r")
    assert "(1 request)" in body and "(1 requests)" not in body
    result.scan.requests = 2
    body = render_note(result, cycle=6, started=STARTED, tracks=[BENCH], reason="r")
    assert "(2 requests)" in body



def test_a_scan_note_names_no_track_it_found_nothing_for() -> None:
    """Was: an empty "**Listen vs Guess (priority 5)**:" heading under Best per track, and
    the track in the front matter's `tracks` and the tags, for a track no new paper matched."""
    from agent.notes import touched_tracks

    result = scan_with_six_relevant()
    result.best_per_track["listen"] = []
    body = render_note(result, cycle=6, started=STARTED, tracks=[BENCH, LISTEN], reason="r")
    assert "**Listen vs Guess (priority 5)**:\n\n" not in body
    assert "No new or revised paper was relevant to Listen vs Guess (priority 5)." in body
    assert touched_tracks(result, [BENCH, LISTEN]) == ["bench"]
    assert "#listen" not in body
    result.best_per_track = {"bench": [], "listen": []}
    body = render_note(result, cycle=6, started=STARTED, tracks=[BENCH, LISTEN], reason="r")
    assert "No paper matched a track strongly this time." in body


def learn_with_failing_summaries(scanned, openai_server, monkeypatch, fails):  # type: ignore[no-untyped-def]
    """A learn whose judge works and whose summary of each paper `fails(paper_id)` answers
    garbage, so the offline analyst summarises those papers in the model's place."""
    import re

    from agent.cycle import CycleOptions, run_cycle

    def answer(request):  # type: ignore[no-untyped-def]
        name = request.get("response_format", {}).get("json_schema", {}).get("name")
        text = " ".join(str(m.get("content", "")) for m in request["messages"])
        ids = re.findall(r"paper_id:\s*(\S+)", text)
        if name == "PaperSummary" and ids and fails(ids[0]):
            return "this is {not json"
        return None

    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdefghijklmnop")
    openai_server.respond_with(answer)
    outcome = run_cycle(scanned, CycleOptions(action="learn", source="sample"))
    assert outcome.status == "committed" and outcome.note_path, outcome.error
    return (scanned / outcome.note_path).read_text(encoding="utf-8")


def test_a_learn_whose_summaries_the_offline_analyst_wrote_does_not_credit_the_model(
    scanned, openai_server, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    """Was: "Summaries are the model's reading of each paper's abstract…" above five
    summaries the offline analyst wrote after every summary call failed."""
    from agent.notes import (
        LLM_ABSTRACTS_NOTICE,
        NO_LLM,
        OFFLINE_ABSTRACT_NOTICE,
        OFFLINE_DEEP_NOTICE,
        OFFLINE_NOTICE,
    )

    assert all(NO_LLM in n for n in (OFFLINE_NOTICE, OFFLINE_DEEP_NOTICE, OFFLINE_ABSTRACT_NOTICE))
    note = learn_with_failing_summaries(scanned, openai_server, monkeypatch, lambda pid: True)
    assert "analyst: llm+offline" in note
    assert LLM_ABSTRACTS_NOTICE not in note and OFFLINE_NOTICE not in note  # the LLM judged
    assert ("Offline analyst: extractive reading of abstracts, in the model's place (it failed: "
            "see below). Each paper's lines are its abstract's own sentences") in note
    assert "The LLM failed during summaries" in note


def test_a_learn_with_some_summaries_written_offline_says_which(
    scanned, openai_server, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    from agent.notes import LLM_ABSTRACTS_NOTICE, OFFLINE_NOTICE

    failed: list[str] = []

    def fails(paper_id: str) -> bool:
        if not failed or paper_id in failed:
            failed.append(paper_id)
            return True
        return False

    note = learn_with_failing_summaries(scanned, openai_server, monkeypatch, fails)
    assert LLM_ABSTRACTS_NOTICE not in note and OFFLINE_NOTICE not in note
    assert (f"Summaries are the model's reading of each paper's abstract and arXiv metadata, "
            f"not of its full text, except arXiv:{failed[0]}'s: the offline analyst's extractive "
            "reading of its abstract (no LLM).") in note


def test_a_deep_read_the_offline_analyst_wrote_after_the_model_failed_says_so() -> None:
    """Was: no word on how it was read, beyond the failure notice."""
    result = abstract_deep_read()
    result.analyst = "llm+offline"
    result.offline_papers = ["2601.00007"]
    body = render_note(result, cycle=3, started=STARTED, tracks=[BENCH], reason="r")
    assert ("Offline analyst: the abstract's own sentences, sorted by what each states "
            "(problem, method, results), in the model's place (it failed: see below).") in body
    result.offline_papers = []
    result.analyst = "llm"
    body = render_note(result, cycle=3, started=STARTED, tracks=[BENCH], reason="r")
    assert "Offline analyst" not in body


def learned(matches: list[Match]) -> CycleResult:
    read = paper(9)
    return CycleResult("learn", "1 paper", [PaperSection(read, matches)], analyst="offline")


def test_a_learn_note_lists_under_relevance_only_the_tracks_a_paper_is_relevant_to() -> None:
    """Was: "*Relevance*: Evaluating spoken language models (priority 4) 0.91 · Listen vs Guess
    (priority 5) 0.34 · … 0.00" for a paper judged in an earlier cycle, whose matches to every
    track came back from the store; the field update counted it for the first track only."""
    pid = "2601.00009"
    matches = [Match(pid, "bench", 0.91, True), Match(pid, "listen", 0.34, False)]
    body = render_note(learned(matches), cycle=4, started=STARTED, tracks=[BENCH, LISTEN],
                       reason="r")
    assert "*Relevance*: Evaluating spoken language models (priority 2) 0.91\n" in body
    assert "0.34" not in body


def test_a_paper_relevant_to_no_track_says_its_best_score_is_below_the_bar() -> None:
    pid = "2601.00009"
    matches = [Match(pid, "listen", 0.34, False), Match(pid, "bench", 0.1, False)]
    body = render_note(learned(matches), cycle=4, started=STARTED, tracks=[BENCH, LISTEN],
                       reason="r")
    assert ("*Relevance*: Listen vs Guess (priority 5) 0.34 (below its relevance bar)\n"
            in body)
    assert "0.10" not in body


def test_a_learn_after_the_judge_turned_every_paper_down_says_so(
    workspace, arxiv_server, openai_server, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    """Was: "No paper cleared any track's relevance bar; nothing was summarised." in the learn
    after the LLM judge turned down every relevant paper, which had all cleared it; nor did
    the note say that it had searched older papers and found nothing new."""
    import re
    import sqlite3

    from agent.cycle import CycleOptions, run_cycle
    from tests.corpus import audio_papers

    arxiv_server.add_papers(audio_papers())  # older papers by keyword: none the scan missed
    monkeypatch.setenv("ARXIV_API_URL", arxiv_server.url)
    monkeypatch.setenv("ARXIV_DELAY_SECONDS", "0")
    scanned = workspace
    assert run_cycle(scanned, CycleOptions(action="scan")).status == "committed"

    def low(request):  # type: ignore[no-untyped-def]
        if request.get("response_format", {}).get("json_schema", {}).get("name") != "Judgements":
            return None
        text = " ".join(str(m.get("content", "")) for m in request["messages"])
        ids = list(dict.fromkeys(re.findall(r"paper_id:\s*(\S+)", text)))
        track = re.findall(r"track_id:\s*(\S+)", text)[0]
        return {"items": [{"paper_id": p, "track_id": track, "score": 2, "reason": "Off topic."}
                          for p in ids]}

    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdefghijklmnop")
    openai_server.respond_with(low)
    outcomes = [run_cycle(scanned, CycleOptions(action="learn")) for _ in range(2)]
    assert all(o.status == "committed" and o.note_path for o in outcomes), outcomes
    with sqlite3.connect(scanned / "state" / "agent.db") as db:
        rejected = db.execute("SELECT COUNT(DISTINCT paper_id) FROM analyses "
                              "WHERE kind = 'judgement'").fetchone()[0]
    assert rejected > 0
    note = (scanned / str(outcomes[1].note_path)).read_text(encoding="utf-8")
    assert "No paper cleared any track's relevance bar" not in note
    assert (f"No unread paper is waiting: the judge turned down {rejected} papers in earlier "
            "cycles") in note, note
    assert "searched older papers by the tracks' keywords and found none new" in note
