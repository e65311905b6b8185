"""Build the candidate pools that were graded by hand (see README.md).

    python bench/devset/make_pool.py OUT_DIR                    # the January dev set
    python bench/devset/make_pool.py --split heldout3 OUT_DIR   # a held-out split, 2 to 5

One OUT_DIR/<track>.txt per track to read. Pool per track = top 40 of tf-idf, BM25 and our
ranker, plus up to 40 hits of a hand-written regular expression (different words from the
track's keywords), ordered by paper id so the reader cannot tell which method proposed a paper.

The January pools were read with the first version of our ranker, a January-only corpus and a
hand-made BM25; rerun today this script uses the systems of `ranking_quality.py` (full sample
ranked, bm25s, the current ranker), so it no longer reproduces those pools exactly.

For `heldout2/` to `heldout5/` the filters are data, `<split>/filters.toml`, and the pool is
taken over the February 2026 papers of the bundled sample: the first 40 of tf-idf, BM25
(bm25s) and our ranker, plus the first 40 papers, in BM25 order, that match every pattern of the
track's filter and are not already pooled (`new_regex_hits_only`). The filters were written
before any pool was read (each split's commits, README.md). `heldout/` has its own script: its
pool was BM25's top 30 and the filter hits, without our ranker.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ranking_quality import (  # noqa: E402
    bm25s_rank,
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


def write_pools(
    tracks_path: Path,
    filters: Mapping[str, Sequence[str]],
    month: str,
    out_dir: Path,
    top: int = 40,
    new_regex_hits_only: bool = False,
) -> dict[str, int]:
    """Write OUT_DIR/<track>.txt per track: the pool of `month`'s papers, listed by id.

    Every system ranks the whole sample (as `ranking_quality.py` does); the pool takes each
    system's first `top` papers of `month`, plus up to `top` papers of `month` matching every
    pattern of the track's filter (case-insensitive, title + abstract), in BM25 order. With
    `new_regex_hits_only` those are the first `top` matches not already pooled by a system.
    """
    tracks = load_tracks(tracks_path)
    papers, months = load_papers()
    runs = [rank(tracks, papers, papers) for rank in (tfidf_rank, bm25s_rank, ours_rank)]
    by_id = {p.id: p for p in papers if months[p.id] == month}
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for track in tracks:
        ranked = [[pid for pid in run[track.id] if pid in by_id] for run in runs]
        pool = {pid for run in ranked for pid in run[:top]}
        patterns = [re.compile(f, re.I) for f in filters[track.id]]
        hits = [
            pid for pid in ranked[1]
            if all(p.search(f"{by_id[pid].title} {by_id[pid].abstract}") for p in patterns)
            and not (new_regex_hits_only and pid in pool)
        ]
        pool.update(hits[:top])
        lines = []
        for pid in sorted(pool):
            paper = by_id[pid]
            lines.append(f"{pid} [{','.join(paper.categories)}] {paper.title}\n    "
                         f"{paper.abstract[:420]}\n")
        (out_dir / f"{track.id}.txt").write_text("".join(lines))
        sizes[track.id] = len(pool)
    return sizes


def split_filters(split: str) -> dict[str, list[str]]:
    """A held-out split's filters (`<split>/filters.toml`): track id -> patterns."""
    path = Path(__file__).resolve().parent / split / "filters.toml"
    if not path.is_file():
        sys.exit(f"make_pool: no {path}: --split takes heldout2, heldout3, heldout4 or heldout5")
    filters: dict[str, list[str]] = tomllib.loads(path.read_text())["filters"]
    return filters


def main(argv: Sequence[str]) -> None:
    """`make_pool.py [--split SPLIT] OUT_DIR`: write the pools, print their sizes."""
    args = list(argv)
    split = None
    if args[:1] == ["--split"] and len(args) >= 2:
        split, args = args[1], args[2:]
    if len(args) != 1:
        sys.exit("usage: python bench/devset/make_pool.py [--split heldoutN] OUT_DIR")
    here = Path(__file__).resolve().parent
    if split is None:
        sizes = write_pools(here / "tracks.toml", FILTERS, "2026-01", Path(args[0]))
    else:
        sizes = write_pools(here / split / "tracks.toml", split_filters(split), "2026-02",
                            Path(args[0]), new_regex_hits_only=True)
    for track_id, size in sizes.items():
        print(track_id, size)


if __name__ == "__main__":
    main(sys.argv[1:])
