"""LLM tokens and dollars of a day's triage: 300 new papers scanned, judged, summarised.

    python bench/cost.py                      # gpt-4.1-mini prices, the example tracks
    python bench/cost.py --price-in 0.15 --price-out 0.60 --model gpt-4o-mini
    python bench/cost.py --papers 40 --deep-sections 12   # a small radar's day, in seconds

Real cycles in a throwaway workspace (`init`'s example tracks, default settings): one scan of
300 real papers from the bundled sample (the tracks' categories, from its first dense listing
day on), then learn cycles until one summarises nothing (each judges up to `[learn]
judge_candidates` papers never judged before, down to `[learn] judge_floor`, and summarises the
best 5 it keeps; its judge keeps the papers the ranker scores 0.5 or more and turns the others
down, or with `--judge-keeps-all` keeps every paper, each judged once). Only 7 of those 300 clear a
track's bar, the first at the 116th: a smaller `--papers` day may have none, no learn cycle,
and the bench then says so and prices the deep reads alone. The LLM is a loopback
OpenAI-compatible server (tests/fakes/openai_server.py) whose answers are valid objects of the
asked schema, padded with the paper's own words to the length a real model writes (a summary
~350 tokens, a judgement ~45). It counts tokens as characters / 4, close to OpenAI's tokenisers
on English prose. One deep read of a paper-sized text (40 sample abstracts as its
sections, ~12k tokens of text) is measured through the LLM analyst directly, and the longest
deep read the analyst allows (12 parts, the rest skipped).

Prices are USD per million tokens, list prices as of 2025-06 (OpenAI's pricing page):
gpt-4.1-mini $0.40 in / $1.60 out; gpt-4o-mini $0.15 / $0.60. Cached input is cheaper still;
this bench charges every input token at the full price.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.analyst import Brief, Candidate  # noqa: E402
from agent.analyst.backends import AnalystSetup  # noqa: E402
from agent.analyst.budget import TokenBudget  # noqa: E402
from agent.analyst.llm import LLMAnalyst  # noqa: E402
from agent.config import load_settings  # noqa: E402
from agent.cycle import CycleOptions, run_cycle  # noqa: E402
from agent.models import FullText, LLMCall, Match, Paper, Track  # noqa: E402
from agent.sources import FetchResult, ScanRequest  # noqa: E402
from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl  # noqa: E402
from agent.tracks import active_tracks, load_tracks  # noqa: E402
from agent.workspace import init_workspace  # noqa: E402
from tests.fakes.openai_server import (  # noqa: E402
    FakeOpenAIServer,
    default_content,
    make_handler,
    prompt_text,
)

FIRST_DAY = datetime(2026, 1, 5, tzinfo=UTC)  # the sample's dense run of daily listings
FULL_DAY = 300  # the default day
# words a real model writes per field (the fake's own strings are a few words long)
FIELD_WORDS = {"headline": 25, "key_findings": 30, "gap": 40, "connection": 40, "tags": 1,
               "reason": 25, "points": 40, "open_question": 25, "next_steps": 20,
               "summary": 60, "methods": 30, "results": 30, "limitations": 30, "problem": 50,
               "method": 60, "key_results": 30, "open_questions": 25, "follow_ups": 20}


class ReplaySource:
    """A day's papers, once; nothing older (no discovery)."""

    name = "replay"

    def __init__(self, papers: Sequence[Paper]):
        self.papers = list(papers)

    def fetch_new(self, request: ScanRequest) -> FetchResult:
        papers, self.papers = self.papers, []
        return FetchResult(papers, datetime.now(UTC), ["bench replay"])

    def search(self, track: Track, max_results: int) -> list[Paper]:
        return []

    def lookup(self, ids: Sequence[str]) -> list[Paper]:
        return []


def pad(value: Any, name: str, words: list[str]) -> Any:
    """The fake's object with each string grown to the length a real model writes."""
    if isinstance(value, dict):
        return {k: pad(v, k, words) for k, v in value.items()}
    if isinstance(value, list):
        return [pad(v, name, words) for v in value]
    if isinstance(value, str) and name not in ("paper_id", "track_id"):
        want = FIELD_WORDS.get(name, 15)
        return " ".join([value, *words[:want]]) if want > 1 else value
    return value


HINT_RE = re.compile(r"^- paper_id: (\S+) \(ranker: [^\n]*?score ([0-9.]+)\)", re.MULTILINE)
KEEP_ALL = False  # --judge-keeps-all: the judge keeps every paper (the upper bound)


def realistic(request: dict[str, Any]) -> dict[str, Any]:
    """A valid answer of realistic length, its words taken from the prompt's paper text.

    Its judge agrees with the ranker's relevance threshold: 7/10 for a paper the ranker scored
    0.5 or more (the prompt shows each paper's score), 3/10 below, so a day summarises what
    the ranker found and the judge's reading further down (`[learn] judge_floor`) costs
    judgements only. With KEEP_ALL, 7/10 for every paper."""
    text = prompt_text(request)
    words = text.split("<data", 1)[-1].split()[5:300] or ["word"] * 300
    words = (words * (300 // len(words) + 1))[:300]
    answer = pad(default_content(request), "", words)
    hints = {pid: float(score) for pid, score in HINT_RE.findall(text)}
    for item in answer.get("items", []) if hints else []:
        item["score"] = 7 if KEEP_ALL or hints.get(item["paper_id"], 0.0) >= 0.5 else 3
    return answer


def start_llm() -> tuple[FakeOpenAIServer, ThreadingHTTPServer]:
    """The loopback LLM on 127.0.0.1 (port 0), answering realistic-length valid objects."""
    server = FakeOpenAIServer()
    server.respond_with(realistic)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(server))
    httpd.daemon_threads = True
    server.httpd = httpd
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return server, httpd


def day_of_papers(tracks: Sequence[Track], count: int) -> list[Paper]:
    """`count` real sample papers in the tracks' categories, oldest first from FIRST_DAY."""
    wanted = {c for t in tracks for c in t.categories}
    papers = [p for p in read_papers_jsonl(SAMPLE_PATH)
              if p.published and p.published >= FIRST_DAY and wanted & set(p.categories)]
    return sorted(papers, key=lambda p: (p.published, p.id))[:count]


def run_day(workspace: Path, papers: list[Paper]) -> list[int]:
    """Scan the papers, then learn until nothing relevant waits; the learn cycles' numbers."""
    source = ReplaySource(papers)
    options = CycleOptions(action="scan", make_source=lambda settings, name: source)
    assert run_cycle(workspace, options).status == "committed"
    learned = []
    for _ in range(20):
        outcome = run_cycle(workspace, CycleOptions(action="learn",
                                                    make_source=lambda s, n: source))
        assert outcome.status == "committed", outcome.error
        if outcome.papers == 0:
            break
        learned.append(outcome.number)
    return [n for n in learned if n is not None]


def largest_cycle(db: Path, cycles: list[int]) -> int:
    """Tokens of the most expensive of these cycles."""
    marks = ",".join("?" * len(cycles))
    with sqlite3.connect(db) as conn:
        return conn.execute(f"select max(tokens_in + tokens_out) from cycles where number in "
                            f"({marks})", cycles).fetchone()[0] or 0


def budget_stops(db: Path) -> int:
    """LLM calls the budget refused (the offline analyst took over)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from llm_calls where outcome = 'budget'").fetchone()[0]


def calls_by_purpose(db: Path, cycles: list[int]) -> dict[str, tuple[int, int, int]]:
    """purpose -> (calls, tokens in, tokens out) over the given cycles."""
    marks = ",".join("?" * len(cycles))
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"select purpose, count(*), sum(tokens_in), sum(tokens_out) "
                            f"from llm_calls where cycle in ({marks}) group by purpose", cycles)
        return {purpose: (n, i, o) for purpose, n, i, o in rows}


def papers_of(db: Path, cycles: list[int], kind: str) -> int:
    marks = ",".join("?" * len(cycles))
    with sqlite3.connect(db) as conn:
        return conn.execute(f"select count(*) from analyses where kind = ? and cycle in ({marks})",
                            [kind, *cycles]).fetchone()[0]


def deep_read_tokens(
    base_url: str, tracks: Sequence[Track], papers: list[Paper], sections: int
) -> tuple[int, int, int]:
    """(calls, tokens in, tokens out) of one deep read of a text made of `sections` abstracts."""
    calls: list[LLMCall] = []
    from agent.settings import LLMSettings

    settings = LLMSettings(base_url=base_url, api_key="bench", max_retries=0)
    budget = TokenBudget(settings.cycle_token_budget, settings.daily_token_budget)
    analyst = LLMAnalyst(AnalystSetup(settings, calls.append, budget=budget))
    paper = papers[0]
    text = FullText(paper.id, "html", [(p.title[:60], p.abstract) for p in papers[:sections]])
    analyst.deep_read(Candidate(paper, [Match(paper.id, tracks[0].id, 0.9, True)]), text,
                      Brief(tracks))
    analyst.close()
    return len(calls), sum(c.tokens_in for c in calls), sum(c.tokens_out for c in calls)


def dollars(tokens_in: float, tokens_out: float, price_in: float, price_out: float) -> float:
    return (tokens_in * price_in + tokens_out * price_out) / 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=300)
    parser.add_argument("--model", default="gpt-4.1-mini")
    parser.add_argument("--price-in", type=float, default=0.40, help="USD per 1M input tokens")
    parser.add_argument("--price-out", type=float, default=1.60, help="USD per 1M output tokens")
    parser.add_argument("--deep-reads", type=int, default=4, help="deep reads in a day")
    parser.add_argument("--deep-sections", type=int, default=200,
                        help="sections of the longest deep read's paper (the analyst reads 12)")
    parser.add_argument("--judge-keeps-all", action="store_true",
                        help="the judge keeps every paper (else: those the ranker scores 0.5+)")
    args = parser.parse_args(argv)
    global KEEP_ALL
    KEEP_ALL = args.judge_keeps_all
    server, httpd = start_llm()
    os.environ.update(OPENAI_API_KEY="bench", OPENAI_BASE_URL=server.base_url)
    os.environ.pop("DATABASE_URL", None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workspace, _ = init_workspace(Path(tmp) / "radar")
            settings = load_settings(workspace)
            tracks = active_tracks(load_tracks(settings.tracks_path))
            papers = day_of_papers(tracks, args.papers)
            cycles = run_day(workspace, papers)
            db = settings.state_dir / "agent.db"
            usage = calls_by_purpose(db, cycles)
            judged = papers_of(db, cycles, "judgement")
            summarised = papers_of(db, cycles, "summary")
            # the deep reads' texts: sample abstracts, however small the day
            text = day_of_papers(tracks, max(FULL_DAY, args.deep_sections))
            deep = deep_read_tokens(server.base_url, tracks, text, 40)
            longest = deep_read_tokens(server.base_url, tracks, text, args.deep_sections)
            report(args, settings, (len(papers), judged, summarised), cycles, usage, deep)
            print(f"longest deep read ({args.deep_sections} sections, at most "
                  f"{LLMAnalyst.max_map_calls} parts read): {longest[0]} calls, "
                  f"{longest[1] + longest[2]:,} tokens, "
                  f"${dollars(longest[1], longest[2], args.price_in, args.price_out):.4f}")
            print(f"largest learn cycle: {largest_cycle(db, cycles):,} tokens; "
                  f"LLM calls refused by the budget: {budget_stops(db)}")
    finally:
        httpd.shutdown()
        httpd.server_close()


def report(args: argparse.Namespace, settings: Any, papers: tuple[int, int, int],
           cycles: list[int], usage: dict[str, tuple[int, int, int]],
           deep: tuple[int, int, int]) -> None:
    """Print the table (this is a script: print is its output). `papers`: (new, judged,
    summarised); `deep`: (calls, tokens in, tokens out) of one deep read."""
    n_papers, judged, summarised = papers
    price = (args.price_in, args.price_out)
    rows: list[tuple[str, float, float]] = []

    def per(purpose: str, count: int) -> tuple[float, float]:
        _, tin, tout = usage.get(purpose, (0, 0, 0))
        return tin / max(count, 1), tout / max(count, 1)

    rows.append(("judge, per paper", *per("judge", judged)))
    rows.append(("summary, per paper", *per("summarize", summarised)))
    learns = len(cycles)
    learn_in = sum(u[1] for u in usage.values()) / max(learns, 1)
    learn_out = sum(u[2] for u in usage.values()) / max(learns, 1)
    if learns:
        rows.append(("field update, per learn cycle", *per("synthesize", learns)))
        rows.append(("learn cycle (judge+summaries+update)", learn_in, learn_out))
    rows.append((f"deep read, 40-section paper ({deep[0]} calls)", deep[1], deep[2]))
    day_in = learn_in * learns + deep[1] * args.deep_reads
    day_out = learn_out * learns + deep[2] * args.deep_reads
    rows.append((f"day: {learns} learn + {args.deep_reads} deep reads", day_in, day_out))
    print(f"{n_papers} new papers, {judged} judged, {summarised} summarised in {learns} "
          f"learn cycles; {args.model} at ${args.price_in:.2f}/${args.price_out:.2f} per M")
    if not learns:
        print("no learn cycle ran: no paper cleared a track's bar")
    print(f"{'':44} {'tokens in':>10} {'out':>8} {'total':>8} {'USD':>9}")
    for label, tin, tout in rows:
        cost = dollars(tin, tout, *price)
        print(f"{label:44} {tin:>10,.0f} {tout:>8,.0f} {tin + tout:>8,.0f} {cost:>9.4f}")
    budget_lines(settings.llm, day_in + day_out, learn_in + learn_out, deep, price)


def budget_lines(llm: Any, day: float, learn: float, deep: tuple[int, int, int],
                 price: tuple[float, float]) -> None:
    """What the budgets allow: the day's share, and learn cycles / deep reads per day."""
    daily = llm.daily_token_budget
    print(f"budgets: cycle {llm.cycle_token_budget:,} tokens, day {daily:,} tokens = "
          f"${dollars(daily * 0.85, daily * 0.15, *price):.2f} at 85% input")
    pays = [f"{daily / learn:.0f} learn cycles"] if learn else []
    pays += [f"{daily / (deep[1] + deep[2]):.0f} deep reads"] if deep[1] + deep[2] else []
    print(f"the day fits the daily budget: {'yes' if day <= daily else 'NO'} "
          f"({day / daily:.0%} of it); the daily budget alone pays for "
          f"{' or '.join(pays) or 'any number of cycles'}")


if __name__ == "__main__":
    main()
