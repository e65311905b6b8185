"""Whole-process time and peak memory of `research-agent triage` beside bm25s and scikit-learn.

    python bench/triage_speed.py                 # 2k, 20k and 100k papers x 5 tracks, 3 runs each
    python bench/triage_speed.py 20000 --runs 5  # one size

Every system is a fresh process that reads the same JSON-lines file of papers, ranks it against
the same 5 tracks (query = description + keywords for the peers) and prints the best 50 per track
as JSON: `python -m agent triage` (ours, background statistics included), a bm25s script (its
defaults: English stop words, no stemmer) and, when installed, a scikit-learn tf-idf script
(arxiv-sanity-lite's features). Runs alternate ours/peers and the ratios are the medians of the
per-run ratios, of wall time and of CPU time (user + system, steadier than wall on a loaded
machine). Peak RSS and CPU are each process's own (wait4).

Larger sets are the bundled sample resampled with new ids and lightly perturbed abstracts (a
sentence dropped, sentences shuffled), so they are not 4,943 papers repeated verbatim. The files
are written once under the system temp directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (2_000, 20_000, 100_000)
TRACKS_TOML = '''
[[track]]
id = "hallucination"
name = "Hallucination in speech LLMs"
description = "Why audio language models hallucinate sounds and words that are not there."
keywords = ["audio hallucination", "speech LLM", "large audio language model"]
priority = 5
categories = ["cs.SD", "eess.AS"]

[[track]]
id = "asr"
name = "Low-resource speech recognition"
description = "ASR for languages with little data."
keywords = ["low-resource ASR", "dialect", "code-switching"]
priority = 4

[[track]]
id = "agents"
name = "LLM agents with tools"
description = "Agents that call tools and APIs."
keywords = ["tool use", "function calling", "LLM agent"]
priority = 3
exclude = ["survey"]

[[track]]
id = "music"
name = "Music generation"
description = "Generating music and evaluating it."
keywords = ["text-to-music", "symbolic music"]
priority = 3

[[track]]
id = "duplex"
name = "Full-duplex dialogue"
description = "Spoken dialogue that listens while speaking."
keywords = ["full-duplex", "turn-taking", "backchannel"]
priority = 5
'''

PEER_COMMON = r'''
import json, sys, tomllib
import numpy as np
papers = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
tracks = tomllib.loads(open(sys.argv[2], encoding="utf-8").read())["track"]
texts = [p["title"] + " " + p["abstract"] for p in papers]
queries = [t["description"] + " " + " ".join(t["keywords"]) for t in tracks]
'''
BM25S = PEER_COMMON + r'''
import bm25s
retriever = bm25s.BM25()
retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
out = {}
for track, query in zip(tracks, queries):
    docs, scores = retriever.retrieve(bm25s.tokenize([query], stopwords="en", show_progress=False),
                                      k=50, show_progress=False)
    out[track["id"]] = [{"id": papers[d]["id"], "score": round(float(s), 4)}
                        for d, s in zip(docs[0], scores[0])]
print(json.dumps(out))
'''
SKLEARN = PEER_COMMON + r'''
from sklearn.feature_extraction.text import TfidfVectorizer
vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=5, max_df=0.5,
                             max_features=10000, sublinear_tf=True, dtype=np.float32)
matrix = vectorizer.fit_transform(texts)
sims = (vectorizer.transform(queries) @ matrix.T).toarray()
out = {}
for track, row in zip(tracks, sims):
    best = np.argsort(-row, kind="stable")[:50]
    out[track["id"]] = [{"id": papers[d]["id"], "score": round(float(row[d]), 4)} for d in best]
print(json.dumps(out))
'''


def synthesise(n: int, seed: int = 7) -> list[dict]:
    """`n` sample records, with new ids and shuffled abstract sentences beyond the first 4,943."""
    sys.path.insert(0, str(ROOT))
    from agent.sources.jsonl import SAMPLE_PATH, iter_records

    base = [record for record, _ in iter_records(SAMPLE_PATH)]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i < len(base):
            out.append(base[i])
            continue
        record = dict(rng.choice(base))
        sentences = record["abstract"].split(". ")
        if len(sentences) > 2:
            sentences.pop(rng.randrange(len(sentences)))
            rng.shuffle(sentences)
        record["id"] = f"9{i:08d}"
        record["abstract"] = ". ".join(sentences)
        out.append(record)
    return out


def files(n: int) -> tuple[Path, Path]:
    """The papers file for `n` papers and the tracks file (written once)."""
    folder = Path(tempfile.gettempdir()) / "research-agent-triage-bench"
    folder.mkdir(exist_ok=True)
    tracks = folder / "tracks.toml"
    tracks.write_text(TRACKS_TOML, encoding="utf-8")
    papers = folder / f"papers-{n}.jsonl"
    if not papers.exists():  # written whole, then renamed: an interrupted run leaves no stub
        keep = ("id", "title", "abstract", "authors", "categories", "primary_category")
        partial = papers.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as out:
            for record in synthesise(n):
                out.write(json.dumps({k: record[k] for k in keep if k in record}) + "\n")
        partial.replace(papers)
    return papers, tracks


def run(command: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, CPU seconds) of one process; its output must be 5 tracks x
    50 papers."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode:
            raise SystemExit(f"{command[:4]} failed: {err.read().decode()[-2000:]}")
        ranking = json.loads(out.read())
    assert len(ranking) == 5 and all(len(rows) == 50 for rows in ranking.values()), ranking.keys()
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def commands(papers: Path, tracks: Path, sklearn: bool = True) -> dict[str, list[str]]:
    """The systems to compare; scikit-learn only when installed and wanted."""
    py = sys.executable
    systems = {
        "ours": [py, "-m", "agent", "triage", "--tracks", str(tracks), "--papers", str(papers),
                 "--top", "50"],
        "bm25s": [py, "-c", BM25S, str(papers), str(tracks)],
    }
    try:
        if sklearn:
            import sklearn as _  # noqa: F401

            systems["sklearn"] = [py, "-c", SKLEARN, str(papers), str(tracks)]
    except ImportError:
        pass
    return systems


def measure(n: int, runs: int, sklearn: bool) -> None:
    """Print one row per system for `n` papers."""
    papers, tracks = files(n)
    systems = commands(papers, tracks, sklearn)
    for command in systems.values():  # warm-up: file cache, the background cache
        run(command)
    times: dict[str, list[float]] = {name: [] for name in systems}
    peaks: dict[str, list[float]] = {name: [] for name in systems}
    cpus: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(runs):
        for name, command in systems.items():
            seconds, peak, cpu = run(command)
            times[name].append(seconds)
            peaks[name].append(peak)
            cpus[name].append(cpu)
    for name in systems:
        ratio, cpu_ratio = (statistics.median(
            a / b for a, b in zip(figures["ours"], figures[name], strict=True)
        ) for figures in (times, cpus))
        print(f"{n:>8} {name:>8} {statistics.median(times[name]):>9.2f} "
              f"{statistics.median(cpus[name]):>8.2f} {max(peaks[name]):>10.0f} "
              f"{ratio:>12.2f} {cpu_ratio:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-sklearn", action="store_true", help="skip the slowest peer")
    args = parser.parse_args()
    print(f"{'papers':>8} {'system':>8} {'median s':>9} {'CPU s':>8} {'peak MiB':>10} "
          f"{'ours/system':>12} {'CPU':>8}")
    for n in args.sizes:
        measure(n, args.runs, not args.no_sklearn)


if __name__ == "__main__":
    main()
