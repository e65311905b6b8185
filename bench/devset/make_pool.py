"""Build the candidate pools that were graded by hand (see README.md).

    python bench/devset/make_pool.py OUT_DIR    # one OUT_DIR/<track>.txt per track to read

Pool per track = top 40 of tf-idf, BM25 and our ranker, plus up to 40 hits of a hand-written
regular expression (different words from the track's keywords), ordered by paper id so the
reader cannot tell which method proposed a paper.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ranking_quality import (  # noqa: E402
    bm25_rank,
    load_papers,
    load_tracks,
    ours_rank,
    tfidf_rank,
)

FILTERS = {
    "speech-llm-hallucination": (r"hallucinat|confabulat|fabricat", r"audio|speech|spoken|sound"),
    "low-resource-asr": (
        r"\basr\b|speech recogni|transcri",
        r"low.resource|under.?resourced|dialect|african|indic|code.?switch|endangered|accent",
    ),
    "music-generation-eval": (r"music|song|melod", r"generat|compos|synthes"),
    "audio-interpretability": (
        r"interpretab|probing|\bprobes?\b|sparse autoencoder|explainab|neurons?\b|attribution",
        r"speech|audio|acoustic|whisper|wav2vec|hubert",
    ),
    "llm-agents-tools": (r"\bagents?\b|agentic", r"\btools?\b|\bapis?\b|function.call"),
    "full-duplex-dialogue": (r"duplex|turn.taking|backchannel|barge|interrupt", r"."),
    "llm-judge-reliability": (r"judge|evaluator|grader", r"llm|language model"),
    "speech-tokenizers": (r"codec|tokeni[sz]|quantiz", r"speech|audio"),
}


def main(out_dir: Path) -> None:
    """Write the pools."""
    tracks = load_tracks()
    january, everything = load_papers()
    runs = [
        tfidf_rank(tracks, january, everything),
        bm25_rank(tracks, january, everything),
        ours_rank(tracks, january, everything),
    ]
    by_id = {p.id: p for p in january}
    order = runs[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    for track in tracks:
        pool = set()
        for run in runs:
            pool.update(run[track.id][:40])
        first, second = (re.compile(f, re.I) for f in FILTERS[track.id])
        hits = [
            pid for pid in order[track.id]
            if first.search(by_id[pid].title + " " + by_id[pid].abstract)
            and second.search(by_id[pid].title + " " + by_id[pid].abstract)
        ]
        pool.update(hits[:40])
        lines = []
        for pid in sorted(pool):
            paper = by_id[pid]
            lines.append(f"{pid} [{','.join(paper.categories)}] {paper.title}\n    "
                         f"{paper.abstract[:420]}\n")
        (out_dir / f"{track.id}.txt").write_text("".join(lines))
        print(track.id, len(pool))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
