"""A year of papers in the store: how long the everyday commands and cycles take.

    python bench/year_scale.py                    # build 500k papers in a temp workspace, time all
    python bench/year_scale.py --papers 50000     # a smaller store
    python bench/year_scale.py --keep DIR         # build into DIR (kept), then time
    python bench/year_scale.py --reuse DIR        # time an existing synthetic workspace again
    python bench/year_scale.py --papers 3000 --cycles 12   # a quick end-to-end run (its test)

The synthetic year is the bundled sample (4,943 real papers) repeated with new arXiv ids, each
copy stored with the sample's own scores against five tracks (the ranker runs once, on the
sample), spread over 240 committed cycles, every paper "ranked" as a scan leaves it. Building
goes through the store's bulk upserts, so the build time is itself a figure.

Then, each in a fresh process where the command is one: a scan of one day's 1,500 new papers
(an offline source; target < 10 s), the same with 300 new versions of stored papers among them
(a day's listing carries replacements: each re-indexes its paper for search), `status`, `log`,
`digest`, `tracks`, `papers search`, `papers show` (each < 1 s), and a learn cycle's work before
its first LLM call (< 2 s): the steady state (stored scores, one query) and the state after a
track or rating changed (the candidate pool re-ranked).
Startup of the fast commands is also compared with a bare interpreter (target < 0.3 s). Wall
and CPU seconds are printed side by side, with the load average: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.changes import CycleSummary, dump_summary  # noqa: E402
from agent.models import Match, Paper  # noqa: E402
from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl  # noqa: E402

LAST_CPU = [0.0]  # CPU seconds of the last process run(): the machine may be shared
CYCLES = 240
DAY = 1_500
REPLACED = 300  # new versions of stored papers in a day's listing (arXiv: v2, v3 ...)
BATCH = 5_000
EXTRA_TRACKS = '''
[[track]]
id = "safety-evals"
name = "Safety evaluations of language models"
priority = 3
description = """Red-teaming, jailbreaks and dangerous-capability evaluations of LLMs."""
keywords = ["jailbreak", "red teaming", "safety evaluation", "refusal"]
categories = ["cs.CL", "cs.LG", "cs.AI"]

[[track]]
id = "sae-features"
name = "Sparse autoencoder features"
priority = 4
description = """Sparse autoencoders and dictionary learning on language model activations."""
keywords = ["sparse autoencoder", "dictionary learning", "feature", "superposition"]
categories = ["cs.LG", "cs.CL"]
'''


def new_id(n: int) -> str:
    """The n-th synthetic id: 12 months of 5-digit numbers, none in the sample's range."""
    return f"24{1 + n // 90_000:02d}.{10_000 + n % 90_000:05d}"


def copies(sample: list[Paper], start: int, count: int) -> list[Paper]:
    """`count` papers from the sample, repeated with fresh ids from number `start` on."""
    return [replace(sample[(start + i) % len(sample)], id=new_id(start + i), version=1)
            for i in range(count)]


def build_year(workspace: Path, total: int, cycles: int = CYCLES) -> dict[str, float]:
    """A workspace with `total` stored, scored papers and `cycles` committed cycles."""
    from agent.actions import Context, rank_fingerprint
    from agent.changes import RANK_FINGERPRINT
    from agent.config import load_settings
    from agent.rank import Ranker
    from agent.store import Store
    from agent.tracks import active_tracks, load_tracks
    from agent.workspace import init_workspace

    init_workspace(workspace)
    tracks_file = workspace / "state" / "tracks.toml"
    tracks_file.write_text(tracks_file.read_text(encoding="utf-8") + EXTRA_TRACKS, "utf-8")
    settings = load_settings(workspace)
    tracks = active_tracks(load_tracks(settings.tracks_path))
    sample = list(read_papers_jsonl(SAMPLE_PATH))
    clock = time.perf_counter()
    ranking = Ranker(tracks).rank(sample)
    by_paper: dict[str, list[Match]] = {}
    for matches in ranking.values():
        for m in matches:
            by_paper.setdefault(m.paper_id, []).append(m)
    figures = {"rank_sample_s": time.perf_counter() - clock}
    clock = time.perf_counter()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with Store(settings.database_url) as store:
        per_cycle = max(total // cycles, 1)
        for number in range(1, cycles + 1):
            when = start + timedelta(hours=36 * number)
            store.start_cycle("scan", "synthetic year", when, number=number)
            first = (number - 1) * per_cycle
            count = per_cycle if number < cycles else total - first
            papers: list[Paper] = []
            for offset in range(0, count, BATCH):
                batch = copies(sample, first + offset, min(BATCH, count - offset))
                papers += batch
                with store.transaction():
                    store.upsert_papers(batch, cycle=number)
                    sources = batch_sources(sample, first + offset, len(batch))
                    store.save_matches(
                        replace(m, paper_id=p.id)
                        for p, s in zip(batch, sources, strict=True)
                        for m in by_paper[s.id]
                    )
                    store.set_status([p.id for p in batch], "ranked")
            summary = dump_summary(CycleSummary(papers=len(papers)))
            store.update_cycle(number, status="committed", step="recorded", ended=when,
                               note_path=f"cycles/2025/01/{number:04d}-scan.md",
                               commit_sha="0" * 40, result_json=summary)
        judge_a_year(store, total)
        figures["build_s"] = time.perf_counter() - clock
        ctx = Context(settings=settings, tracks=tracks, store=store, source=None,  # type: ignore[arg-type]
                      analyst=None, now=datetime.now(UTC))  # type: ignore[arg-type]
        store.set_meta(RANK_FINGERPRINT, rank_fingerprint(ctx.ranker()))
    return figures


def judge_a_year(store: Any, total: int) -> None:
    """An LLM judge's year: 18% of the papers judged (a 2,000-paper day judges ~370), half of
    them turned down, the kept ones summarised but for the last 40 (the backlog's bound)."""
    judged = [new_id(n) for n in range(0, total, 5)][: int(total * 0.18)]
    with store.transaction():
        for i, pid in enumerate(judged):
            store.save_analysis(pid, 1, "judgement",
                                {"paper_id": pid, "track_id": "t", "score": 8 if i % 2 else 2,
                                 "reason": "A one-line reason, as a judge writes it."})
    kept = [pid for i, pid in enumerate(judged) if i % 2]
    store.set_status(kept[:-40], "summarized")


def batch_sources(sample: list[Paper], start: int, count: int) -> list[Paper]:
    return [sample[(start + i) % len(sample)] for i in range(count)]


# --- what is timed, each in a fresh process ----------------------------------------------------


def own_cpu() -> float:
    """CPU seconds of this process and of the children it waited for (git)."""
    return time.process_time() + cpu_of_children()


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(*args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall seconds of one whole process, and its stdout (CPU seconds kept in LAST_CPU)."""
    clock, cpu = time.perf_counter(), cpu_of_children()
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=900)
    elapsed = time.perf_counter() - clock
    LAST_CPU[0] = cpu_of_children() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


# `status` with a key counts an LLM judge's candidates (agent/waiting.py); nothing is sent
JUDGING = {"OPENAI_API_KEY": "bench-no-call"}


def command(workspace: Path, *args: str, env: dict[str, str] | None = None) -> float:
    return run("-m", "agent", *args, "-w", str(workspace), env=env)[0]


def scan_probe(workspace: Path, start: int, replaced: int) -> None:
    """One scan cycle of DAY new papers plus `replaced` new versions of stored ones (an
    offline source, in this process): prints seconds, status, papers stored."""
    from agent.config import load_settings
    from agent.cycle import CycleOptions, run_cycle
    from agent.sources import FetchResult
    from agent.store import Store

    sample = list(read_papers_jsonl(SAMPLE_PATH))
    day = copies(sample, start, DAY)
    with Store(load_settings(workspace).database_url) as store:  # spread over the stored year
        stored = store.count_papers()
        olds = store.get_papers([new_id(i * (stored // max(replaced, 1))) for i in range(replaced)])
    day += [replace(p, version=p.version + 1, abstract=p.abstract + " (v2: typos fixed)")
            for p in olds.values()]

    class OneDay:
        name = "sample"

        def fetch_new(self, request):  # type: ignore[no-untyped-def]
            return FetchResult(day, cursor=datetime.now(UTC), queries=["one synthetic day"])

        def search(self, track, max_results):  # type: ignore[no-untyped-def]
            return []

        def lookup(self, ids):  # type: ignore[no-untyped-def]
            return []

    clock, cpu = time.perf_counter(), own_cpu()
    outcome = run_cycle(workspace, CycleOptions(action="scan", make_source=lambda s, n: OneDay()))
    print(f"{time.perf_counter() - clock:.3f} {own_cpu() - cpu:.3f} {outcome.status} "
          f"{outcome.papers}")


class FirstCall(Exception):
    """Raised by the probe analyst at its first LLM call: the timing ends there."""


def learn_probe(workspace: Path, edit_track: bool) -> None:
    """A learn cycle (in this process) up to its first LLM call; prints the seconds it took."""
    from agent.config import load_settings
    from agent.cycle import CycleOptions, run_cycle
    from agent.snapshot import decide
    from agent.store import Store
    from agent.tracks import load_tracks

    tracks_file = workspace / "state" / "tracks.toml"
    text = tracks_file.read_text(encoding="utf-8")
    if edit_track:  # a changed track: the stored scores no longer reflect the tracks
        tracks_file.write_text(text.replace('"refusal"]', '"refusal", "over-refusal"]'), "utf-8")
    clock = time.perf_counter()
    settings = load_settings(workspace)
    with Store(settings.database_url) as store:  # what the daemon's policy reads every cycle
        decide(store, load_tracks(settings.tracks_path), settings, datetime.now(UTC))
    policy = time.perf_counter() - clock
    clock, cpu = time.perf_counter(), own_cpu()
    reached: list[tuple[float, float]] = []

    class Probe:
        name, label, model = "llm", "llm", "probe"
        judges_first, notices = True, ()

        def close(self) -> None:
            pass

        def judge(self, candidates, brief):  # type: ignore[no-untyped-def]
            reached.append((time.perf_counter() - clock, own_cpu() - cpu))
            raise FirstCall(f"{len(candidates)} candidates")

    outcome = run_cycle(workspace, CycleOptions(action="learn", source="sample",
                                                make_analyst=lambda s, r: Probe()))  # type: ignore[arg-type,return-value]
    tracks_file.write_text(text, "utf-8")  # the probe never commits: leave the tracks as found
    if not reached:
        raise SystemExit(f"the learn cycle never called the LLM: {outcome.status} {outcome.error}")
    print(f"{reached[0][0]:.3f} {reached[0][1]:.3f} {policy:.3f}")


def measure(workspace: Path) -> None:
    from agent.config import load_settings
    from agent.store import Store

    db = workspace / "state" / "agent.db"
    with Store(load_settings(workspace).database_url) as store:
        papers = store.count_papers()
    print(f"store: {papers:,} papers, {db.stat().st_size / 2**20:,.0f} MiB on disk")
    print(f"load average {load()}")
    print(f"{'':38}{'wall':>6}   {'CPU':>6}   (whole process: wall, CPU)")
    print(f"{'bare interpreter':<38}{run('-c', 'pass')[0]:6.2f} s {LAST_CPU[0]:6.2f} s")
    print(f"{'--help':<38}{run('-m', 'agent', '--help')[0]:6.2f} s {LAST_CPU[0]:6.2f} s")
    for name, args in [
        ("status", ("status",)),
        ("status, with an LLM judge", ("status",)),  # see JUDGING
        ("log", ("log",)),
        ("tracks", ("tracks",)),
        ("digest of the whole year", ("digest", "--since", "2025-01-01")),
        ("papers search", ("papers", "search", "speech", "tokenizer")),
        ("papers show", ("papers", "show", new_id(0))),  # the first paper of the year
    ]:
        env = JUDGING if "judge" in name else None
        print(f"{name:<38}{command(workspace, *args, env=env):6.2f} s {LAST_CPU[0]:6.2f} s")
    print(f"{'':38}{'wall':>6}   {'CPU':>6}   (the cycle itself; then its whole process)")
    start = str(papers + 1_000_000)  # fresh ids on every run of a reused store
    for label, replaced in [(f"scan of one day ({DAY:,} new papers)", "0"),
                            (f"  ... and {REPLACED} new versions", str(REPLACED))]:
        seconds, out = run(__file__, "--scan-probe", str(workspace), "--start", start,
                           "--replaced", replaced)
        cycle, cpu, status, stored = out.split()[:4]
        print(f"{label:<38}{float(cycle):6.2f} s {float(cpu):6.2f} s (process {seconds:.2f} s, "
              f"{LAST_CPU[0]:.2f} s CPU; {status}, {stored} papers)")
        start = str(int(start) + DAY)
    for label, flag in [("learn before its first LLM call", ()),
                        ("  ... after a track changed (re-rank)", ("--edit-track",))]:
        seconds, out = run(__file__, "--learn-probe", str(workspace), *flag)
        cycle, cpu, policy = (float(x) for x in out.split()[:3])
        print(f"{label:<38}{cycle:6.2f} s {cpu:6.2f} s (process {seconds:.2f} s, "
              f"{LAST_CPU[0]:.2f} s CPU; the policy's snapshot before it {policy:.2f} s)")
    print(f"load average {load()}")


def load() -> str:
    """The 1, 5 and 15 minute load averages (the machine may be shared)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=500_000)
    parser.add_argument("--cycles", type=int, default=CYCLES, help="cycles the papers spread over")
    parser.add_argument("--keep", type=Path, help="build into this directory and keep it")
    parser.add_argument("--reuse", type=Path, help="time an existing synthetic workspace")
    parser.add_argument("--scan-probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--learn-probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=900_000, help=argparse.SUPPRESS)
    parser.add_argument("--replaced", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--edit-track", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scan_probe:
        return scan_probe(args.scan_probe, args.start, args.replaced)
    if args.learn_probe:
        return learn_probe(args.learn_probe, args.edit_track)
    if args.reuse:
        return measure(args.reuse)
    base = args.keep or Path(tempfile.mkdtemp(prefix="year-scale-"))
    workspace = base / "radar"
    try:
        clock = time.perf_counter()
        figures = build_year(workspace, args.papers, args.cycles)
        print(f"built {args.papers:,} papers in {time.perf_counter() - clock:.1f} s "
              f"(ranking the sample {figures['rank_sample_s']:.1f} s, store writes "
              f"{figures['build_s']:.1f} s = {figures['build_s'] / args.papers * 1e3:.3f} ms a "
              f"paper with its scores)")
        measure(workspace)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
