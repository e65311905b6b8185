"""Does a local sentence-embedding model help the ranker, and do ratings teach it? Dev set.

    python3 -m venv /work/venv-emb-new && /work/venv-emb-new/bin/pip install torch==2.13.0  # CPU
    /work/venv-emb-new/bin/pip install -e '.[embeddings,bench,test]'   # all-MiniLM-L6-v2 inside
    /work/venv-emb-new/bin/python bench/embeddings_quality.py --store /tmp/emb-vectors.db [--grid]

The paper vectors are kept where the product keeps them: in a store (a SQLite file, `--store`),
through agent/rank/embeddings.py. The first run embeds the 4,943 sample papers once ("cycle 1")
and times it; a second ranker over the same store ("cycle 2") shows what a later cycle costs.
Later runs find every vector stored.

Prints nDCG@20 / P@10 / R@50 (as bench/ranking_quality.py) for: the embedding cosine alone
(query = track name + description + keywords, doc = title + abstract), our lexical ranker alone,
a few fusions of the two, and "product" = what agent/rank/embeddings.py ships (rank fusion,
cosine weight 0.25, through the real Ranker); on January candidates only (as first measured) and
on the full sample graded on January (as bench/ranking_quality.py). Then the feedback figure
(10 ratings per track, nDCG@20 of unrated January papers) for the lexical ranker, the fused one
whose cosine side does not learn (the old product) and the shipped one (Rocchio on the query
vector); `--grid` adds the Rocchio constants tried. `--heldout SPLIT` adds a held-out split, for
after the constants are frozen. The model is loaded from the installed package with the hub
switched off. Weights compared on the same dev set they are chosen on are an upper bound; the
leave-one-track-out line is the less optimistic figure. Results: bench/EMBEDDINGS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

# the model ships inside a pip package: never let a library reach for the hub
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ranking_quality import (  # noqa: E402
    condense,
    evaluate,
    graded_months,
    load_papers,
    load_qrels,
    load_tracks,
    rating_gain,
    split_dir,
)

from agent.models import Paper, Rating, Track  # noqa: E402
from agent.rank import Ranker  # noqa: E402
from agent.rank.embeddings import (  # noqa: E402
    FEEDBACK,
    Embedder,
    Feedback,
    rank_positions,
)
from agent.store import Store, sqlite_url  # noqa: E402

Scores = dict[str, np.ndarray]  # track id -> one score per paper


def timed_cycle(label: str, url: str, tracks: Sequence[Track], papers: Sequence[Paper]) -> None:
    """Rank `papers` as a cycle does (a new store connection, ranker and embedder) and say what
    the embeddings cost on top of the lexical ranking."""
    start = time.perf_counter()
    Ranker(tracks, embedder=None).rank(papers)
    lexical = time.perf_counter() - start
    with Store(url) as store:
        embedder = Embedder(cache=store)
        start = time.perf_counter()
        Ranker(tracks, embedder=embedder).rank(papers)
        fused = time.perf_counter() - start
        stored = store.count_vectors(embedder.model)
    print(f"{label}: ranked {len(papers)} papers x {len(tracks)} tracks in {fused:.1f} s with "
          f"embeddings, {lexical:.1f} s lexical only; embedded {embedder.encoded} papers; "
          f"{stored} vectors in the store")


def cosine_scores(embedder: Embedder, tracks: Sequence[Track], papers: Sequence[Paper]) -> Scores:
    """Cosine of every paper with every track (vectors from the store)."""
    return {t.id: embedder.similarities(t, papers) for t in tracks}


def ranker_scores(ranker: Ranker, papers: Sequence[Paper]) -> Scores:
    """The ranker's scores, in the order of `papers`."""
    position = {p.id: i for i, p in enumerate(papers)}
    result = {}
    for tid, matches in ranker.rank(papers).items():
        scores = np.zeros(len(papers))
        for match in matches:
            scores[position[match.paper_id]] = match.score
        result[tid] = scores
    return result


def min_max(values: np.ndarray) -> np.ndarray:
    """Rescale to [0, 1] over the batch."""
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def weighted_sum(weight: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(1 - w) * calibrated lexical score + w * min-max cosine."""
    return lambda lex, cos: (1 - weight) * lex + weight * min_max(cos)


def rrf(weight: float, k: int = 60) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Reciprocal rank fusion, the cosine's share weighted by `weight` (0.5 = plain RRF)."""
    return lambda lex, cos: (
        (1 - weight) / (k + rank_positions(lex)) + weight / (k + rank_positions(cos))
    )


def gated(floor: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Lexical score times a factor from the cosine: floor + (1 - floor) * min-max cosine."""
    return lambda lex, cos: lex * (floor + (1 - floor) * min_max(cos))


FUSIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    **{f"sum w={w}": weighted_sum(w) for w in (0.1, 0.2, 0.3)},
    **{f"rrf w={w}": rrf(w) for w in (0.1, 0.2, 0.25, 0.3, 0.4)},
    **{f"gate f={f}": gated(f) for f in (0.5,)},
}


def to_rankings(scores: Scores, papers: Sequence[Paper]) -> dict[str, list[str]]:
    """Paper ids best first, ties by batch order."""
    return {
        tid: [papers[i].id for i in np.argsort(-values, kind="stable")]
        for tid, values in scores.items()
    }


def unjudged(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]], k: int) -> float:
    """Share of the first k that nobody graded (counted as 0: pool bias against new methods)."""
    shares = [sum(1 for p in r[:k] if p not in qrels[t]) / k for t, r in rankings.items()]
    return float(np.mean(shares))


def print_table(results: dict[str, dict], holes: dict[str, float]) -> None:
    """Mean metrics per system, and how many tracks each fusion wins or loses against lexical."""
    base = results["lexical"]
    print(f"{'system':14}{'nDCG@20':>9}{'P@10':>7}{'R@50':>7}{'d nDCG':>8}"
          f"{'tracks +/-':>11}{'unjudged@20':>13}")
    for name, rows in results.items():
        mean = rows["MEAN"]
        tids = [t for t in rows if t != "MEAN"]
        up = sum(1 for t in tids if rows[t][0] > base[t][0] + 1e-9)
        down = sum(1 for t in tids if rows[t][0] < base[t][0] - 1e-9)
        print(f"{name:14}{mean[0]:>9.3f}{mean[1]:>7.2f}{mean[2]:>7.2f}"
              f"{mean[0] - base['MEAN'][0]:>+8.3f}{f'{up}/{down}':>11}{holes[name]:>13.2f}")


def print_tracks(results: dict[str, dict], names: Sequence[str]) -> None:
    """nDCG@20 per track for a few systems."""
    print(f"{'track':28}" + "".join(f"{n:>13}" for n in names))
    for tid in results["lexical"]:
        print(f"{tid:28}" + "".join(f"{results[n][tid][0]:>13.3f}" for n in names))


def cross_validated(results: dict[str, dict]) -> tuple[float, list[str]]:
    """Leave one track out: pick the fusion best on the other tracks, score it on this one."""
    tids = [t for t in results["lexical"] if t != "MEAN"]
    picked, gains = [], []
    for held in tids:
        rest = [t for t in tids if t != held]
        name = max(FUSIONS, key=lambda n: float(np.mean([results[n][t][0] for t in rest])))
        picked.append(name)
        gains.append(results[name][held][0] - results["lexical"][held][0])
    return float(np.mean(gains)), picked


def quality(
    title: str, tracks: Sequence[Track], papers: Sequence[Paper], keep: set[str],
    qrels: dict[str, dict[str, int]], embedder: Embedder,
) -> None:
    """One table: every system ranks `papers`, graded on the papers in `keep`."""
    lexical = ranker_scores(Ranker(tracks, embedder=None), papers)
    cosine = cosine_scores(embedder, tracks, papers)
    systems: dict[str, Scores] = {"lexical": lexical, "embeddings": cosine}
    for name, fuse in FUSIONS.items():
        systems[name] = {tid: fuse(lexical[tid], cosine[tid]) for tid in lexical}
    systems["product"] = ranker_scores(Ranker(tracks, embedder=embedder), papers)
    rankings = {name: condense(to_rankings(s, papers), keep) for name, s in systems.items()}
    results = {name: evaluate(r, qrels) for name, r in rankings.items()}
    holes = {name: unjudged(r, qrels, 20) for name, r in rankings.items()}
    print(f"\n{title}: {len(papers)} candidates, graded on {len(keep)}, {len(tracks)} tracks")
    print_table(results, holes)
    gain, picked = cross_validated(results)
    print(f"leave-one-track-out fusion choice: mean nDCG@20 gain {gain:+.3f} "
          f"(picked: {', '.join(sorted(set(picked)))})")
    best = max(FUSIONS, key=lambda n: results[n]["MEAN"][0])
    print_tracks(results, ["lexical", "embeddings", best, "product"])


def ranking(tracks: Sequence[Track], papers: Sequence[Paper], ratings: Sequence[Rating],
            embedder: Embedder | None) -> dict[str, list[str]]:
    """Each track's paper ids, best first, from the product's Ranker (rated papers in batch)."""
    ranked = Ranker(tracks, ratings, embedder=embedder).rank(papers)
    return {tid: [m.paper_id for m in matches] for tid, matches in ranked.items()}


def feedback_figure(
    tracks: Sequence[Track], papers: Sequence[Paper], qrels: dict[str, dict[str, int]],
    embedder: Embedder | None, n_ratings: int = 10,
) -> tuple[float, float]:
    """The feedback figure of bench/ranking_quality.py, for the ranker fused with `embedder`."""
    return rating_gain(tracks, qrels, lambda ratings: ranking(tracks, papers, ratings, embedder),
                       n_ratings)


def feedback_table(tracks: Sequence[Track], month: Sequence[Paper],
                   qrels: dict[str, dict[str, int]], store: Store, grid: bool,
                   title: str = "dev, January only") -> None:
    """The feedback figure for the lexical ranker, the fused one that does not learn on its
    cosine side, and the shipped one (plus the Rocchio constants tried, with `grid`)."""
    print(f"\nfeedback ({title}, 10 ratings/track, unrated papers), nDCG@20:")
    systems: dict[str, Embedder | None] = {
        "lexical": None,
        "fused, cosine side deaf (old)": Embedder(cache=store, feedback=Feedback(0.0, 0.0)),
        f"fused, Rocchio up {FEEDBACK.up} down {FEEDBACK.down} (shipped)": Embedder(cache=store),
    }
    if grid:
        for up in (0.0, 0.5, 1.0, 2.0):
            for down in (0.0, 0.5, 0.75, 1.0, 1.5):
                systems[f"fused, Rocchio up {up} down {down}"] = Embedder(
                    cache=store, feedback=Feedback(up, down))
    for name, embedder in systems.items():
        before, after = feedback_figure(tracks, month, qrels, embedder)
        print(f"  {name:44} {before:.3f} -> {after:.3f} ({after - before:+.3f})")


def held_out(name: str, papers: Sequence[Paper], months: dict[str, str], store: Store,
             embedder: Embedder) -> None:
    """The quality table and the feedback figure of a held-out split (full sample ranked)."""
    folder = split_dir(name)
    tracks, qrels = load_tracks(folder / "tracks.toml"), load_qrels(folder / "qrels.jsonl")
    graded = graded_months(qrels, months)
    month = [p for p in papers if months[p.id] in graded]
    quality(f"{name.upper()} (constants frozen), full sample as candidates", tracks, papers,
            {p.id for p in month}, qrels, embedder)
    title = f"{name.upper()}, {'/'.join(sorted(graded))}"
    feedback_table(tracks, month, qrels, store, False, title)


def main() -> None:
    """Print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True,
                        help="SQLite file that keeps the paper vectors (made if missing)")
    parser.add_argument("--grid", action="store_true", help="also print the Rocchio grid")
    parser.add_argument("--heldout", action="append", default=[], metavar="SPLIT",
                        help="also rank a held-out split (heldout, heldout2, ...; repeatable), "
                        "only once the constants are frozen")
    args = parser.parse_args()
    url = sqlite_url(str(args.store))
    tracks, qrels = load_tracks(), load_qrels()
    papers, months = load_papers()
    january = [p for p in papers if months[p.id] == "2026-01"]
    Ranker(tracks, embedder=None).rank(papers[:10])  # load the background before timing
    timed_cycle("cycle 1", url, tracks, papers)
    timed_cycle("cycle 2", url, tracks, papers)
    with Store(url) as store:
        embedder = Embedder(cache=store)
        keep = {p.id for p in january}
        quality("DEV, January candidates only", tracks, january, keep, qrels, embedder)
        quality("DEV, full sample as candidates", tracks, papers, keep, qrels, embedder)
        feedback_table(tracks, january, qrels, store, args.grid)
        for name in args.heldout:
            held_out(name, papers, months, store, embedder)

if __name__ == "__main__":
    main()
