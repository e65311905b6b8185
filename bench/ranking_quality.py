"""Ranking quality: our ranker beside tf-idf and BM25 (bm25s), same run, full sample as candidates.

    python bench/ranking_quality.py                    # dev and held-out tables, feedback
    python bench/ranking_quality.py --split dev        # one split only (dev: + feedback figure)
    python bench/ranking_quality.py --split heldout2   # any bench/devset/<dir> with tracks + qrels
    python bench/ranking_quality.py --split all-tuning # dev,heldout..heldout4: the 30 tuning tracks
    python bench/ranking_quality.py --split dev,heldout  # several splits, pooled figure after them

Every system ranks ALL 4,943 papers of the bundled sample (January and February: the complete
listing the radar now reads). Each split is graded on the month(s) of its judged papers (dev:
January, held-out: February), so its figures are taken on the ranking condensed to those months
(papers of an ungraded month are skipped, not counted as misses). Prints nDCG@20 (graded), P@10
(grade >= 1) and recall@50 of grade-2 ("core") papers (50: the shortlist an LLM judge reads per
learn cycle, `[learn] judge_candidates`), and recall@K with K the papers a learn cycle
summarises (`[learn] max_papers`, 5 by default, across all tracks: without an LLM judge, a
track's first K is the most one cycle can show it). Papers not in the qrels count as grade 0.
See bench/devset/README.md for how the labels were made. With several splits it then prints
each split's means and the mean over all their tracks pooled (each track counted once), peers
beside ours. The constants are tuned on dev and heldout..heldout4 (all-tuning); any
other split is reported as never tuned on.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.models import Match, Paper, Rating, Track  # noqa: E402
from agent.rank import Ranker, Tuning  # noqa: E402
from agent.rank.text import STOP_WORDS, stem  # noqa: E402
from agent.settings import LearnSettings  # noqa: E402
from agent.sources.jsonl import SAMPLE_PATH, iter_records  # noqa: E402

DEVSET = Path(__file__).resolve().parent / "devset"
MIN_CORE = 3  # tracks with fewer core papers get a second mean without them
TUNING_SPLITS = ("dev", "heldout", "heldout2", "heldout3", "heldout4")  # the 30 tuning tracks
SYSTEMS = ("tfidf", "bm25s", "ours")
JUDGE_K = LearnSettings().max_papers  # papers a learn cycle summarises (the judge reads 50)
RankFn = Callable[[Sequence[Track], Sequence[Paper]], dict[str, list[str]]]


def load_tracks(path: Path = DEVSET / "tracks.toml") -> list[Track]:
    """The dev tracks."""
    data = tomllib.loads(path.read_text())
    return [
        Track(
            id=t["id"], name=t["name"], description=t["description"],
            keywords=tuple(t["keywords"]), priority=t["priority"],
            exclude=tuple(t.get("exclude", ())), categories=tuple(t.get("categories", ())),
        )
        for t in data["track"]
    ]


def load_papers() -> tuple[list[Paper], dict[str, str]]:
    """(every sample paper, paper id -> its month "2026-01" / "2026-02")."""
    papers, months = [], {}
    for record, paper in iter_records(SAMPLE_PATH):
        papers.append(paper)
        months[paper.id] = (record.get("first_listing_date") or "")[:7]
    return papers, months


def load_qrels(path: Path = DEVSET / "qrels.jsonl") -> dict[str, dict[str, int]]:
    """track id -> paper id -> grade (0, 1, 2)."""
    qrels: dict[str, dict[str, int]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                qrels.setdefault(row["track"], {})[row["paper"]] = int(row["grade"])
    return qrels


# -- baselines -------------------------------------------------------------------------------

SK_TOKEN = re.compile(r"\b[a-zA-Z_][a-zA-Z0-9_]+\b")


def sanity_terms(text: str) -> list[str]:
    """arxiv-sanity-lite's analyzer: accents stripped, stop words out, words and bigrams."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = [w for w in SK_TOKEN.findall(text) if w not in STOP_WORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def tfidf_rank(tracks: Sequence[Track], papers: Sequence[Paper], corpus: Sequence[Paper]):
    """Cosine of sublinear tf-idf (10k features, min_df 5, max_df 0.5) as arxiv-sanity-lite."""
    docs = [Counter(sanity_terms(f"{p.title} {p.abstract} {' '.join(p.authors)}")) for p in corpus]
    df = Counter(t for d in docs for t in d)
    n = len(docs)
    kept = {t for t, c in df.items() if 5 <= c <= 0.5 * n}
    total: Counter[str] = Counter()
    for d in docs:
        for t, c in d.items():
            if t in kept:
                total[t] += c
    vocab = {t for t, _ in sorted(total.items(), key=lambda x: (-x[1], x[0]))[:10_000]}
    idf = {t: math.log((1 + n) / (1 + df[t])) + 1 for t in vocab}

    def vector(text: str) -> dict[str, float]:
        counts = Counter(t for t in sanity_terms(text) if t in vocab)
        vec = {t: (1 + math.log(c)) * idf[t] for t, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    vectors = [vector(f"{p.title} {p.abstract} {' '.join(p.authors)}") for p in papers]
    result = {}
    for track in tracks:
        query = vector(f"{track.description} {' '.join(track.keywords)}")
        sims = [sum(w * v.get(t, 0.0) for t, w in query.items()) for v in vectors]
        result[track.id] = [papers[i].id for i in np.argsort(-np.asarray(sims), kind="stable")]
    return result


def bm25s_rank(tracks: Sequence[Track], papers: Sequence[Paper], corpus: Sequence[Paper]):
    """Okapi BM25 of the bm25s package (its defaults: k1 1.5, b 0.75, English stop words) with
    our light stemmer, over title + abstract; query = description + keywords."""
    import bm25s

    def stemmer(words: list[str]) -> list[str]:
        return [stem(w) for w in words]

    texts = [f"{p.title} {p.abstract}" for p in papers]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
                    show_progress=False)
    result = {}
    for track in tracks:
        query = f"{track.description} {' '.join(track.keywords)}"
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
        docs, _ = retriever.retrieve(tokens, k=len(papers), show_progress=False)
        result[track.id] = [papers[i].id for i in docs[0]]
    return result


def ours_rank(tracks, papers, corpus, ratings: Sequence[Rating] = ()):
    """Our lexical ranker (default background: the bundled sample; embeddings always off)."""
    return ids_of(Ranker(tracks, ratings, embedder=None).rank(papers))


def ids_of(ranked: dict[str, list[Match]]) -> dict[str, list[str]]:
    """Each track's paper ids, in the ranker's order."""
    return {tid: [m.paper_id for m in matches] for tid, matches in ranked.items()}


# -- metrics ---------------------------------------------------------------------------------


def ndcg(ranking: Sequence[str], grades: dict[str, int], k: int = 20) -> float:
    """nDCG@k with linear gains."""
    dcg = sum(grades.get(p, 0) / math.log2(i + 2) for i, p in enumerate(ranking[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def precision(ranking: Sequence[str], grades: dict[str, int], k: int = 10) -> float:
    """Share of the first k with grade >= 1."""
    return sum(1 for p in ranking[:k] if grades.get(p, 0) >= 1) / k


def core_recall(ranking: Sequence[str], grades: dict[str, int], k: int = 50) -> float:
    """Share of grade-2 papers found in the first k."""
    core = {p for p, g in grades.items() if g == 2}
    return len(core & set(ranking[:k])) / len(core) if core else 0.0


def evaluate(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict:
    """Per-track (nDCG@20, P@10, R@50, R@JUDGE_K) and their mean."""
    rows: dict[str, tuple[float, ...]] = {
        tid: (ndcg(r, qrels[tid]), precision(r, qrels[tid]), core_recall(r, qrels[tid]),
              core_recall(r, qrels[tid], JUDGE_K))
        for tid, r in rankings.items() if tid in qrels
    }
    rows["MEAN"] = tuple(float(np.mean([v[i] for v in rows.values()])) for i in range(4))
    return rows


def feedback_figure(tracks, papers, qrels, n_ratings: int = 10) -> tuple[float, float]:
    """Mean nDCG@20 on unrated papers before and after rating each track's first 10."""
    return rating_gain(tracks, qrels, lambda ratings: ours_rank(tracks, papers, papers, ratings),
                       n_ratings)


def rating_gain(tracks, qrels, rank, n_ratings: int = 10) -> tuple[float, float]:
    """Mean nDCG@20 of the papers left unrated, as `rank(ratings)` orders them before and after
    the researcher rates each track's first `n_ratings`: up if graded >= 1, else down."""
    first = rank([])
    ratings = [
        Rating(pid, 1 if qrels.get(t.id, {}).get(pid, 0) >= 1 else -1, t.id)
        for t in tracks for pid in first[t.id][:n_ratings]
    ]
    after = rank(ratings)
    before_scores, after_scores = [], []
    for track in tracks:
        rated = set(first[track.id][:n_ratings])
        grades = {p: g for p, g in qrels.get(track.id, {}).items() if p not in rated}
        before_scores.append(ndcg([p for p in first[track.id] if p not in rated], grades))
        after_scores.append(ndcg([p for p in after[track.id] if p not in rated], grades))
    return float(np.mean(before_scores)), float(np.mean(after_scores))


def threshold_figure(tracks, papers, qrels, n_ratings: int = 10) -> tuple[float, float, int, int]:
    """What the relevance threshold keeps as ratings arrive: the share of unrated core papers
    marked relevant, and the unrated relevant papers, before and after the ratings of
    `rating_gain`. nDCG cannot see this (a rating that lowers every score keeps the order) but
    a learn cycle can: it picks among relevant papers, and `status` counts them."""
    before = Ranker(tracks, embedder=None).rank(papers)
    ratings = [
        Rating(m.paper_id, 1 if qrels.get(t.id, {}).get(m.paper_id, 0) >= 1 else -1, t.id)
        for t in tracks for m in before[t.id][:n_ratings]
    ]
    after = Ranker(tracks, ratings, embedder=None).rank(papers)
    rated = {(r.track_id, r.paper_id) for r in ratings}
    counts = []
    for ranked in (before, after):
        core = kept = relevant = 0
        for track in tracks:
            marked = {m.paper_id for m in ranked[track.id]
                      if m.relevant and (track.id, m.paper_id) not in rated}
            relevant += len(marked)
            for pid, grade in qrels.get(track.id, {}).items():
                if grade == 2 and (track.id, pid) not in rated:
                    core += 1
                    kept += pid in marked
        counts.append((kept / max(core, 1), relevant))
    return counts[0][0], counts[1][0], counts[0][1], counts[1][1]


def condense(rankings: dict[str, list[str]], keep: set[str]) -> dict[str, list[str]]:
    """Each ranking with the papers outside `keep` (the ungraded month) left out."""
    return {tid: [p for p in r if p in keep] for tid, r in rankings.items()}


def compare(name, tracks, papers, months, graded: set[str], qrels) -> dict[str, dict]:
    """Print one split's table; return its results per system."""
    keep = {pid for pid, m in months.items() if m in graded}
    month = ", ".join(sorted(graded))
    systems = {
        "tfidf": tfidf_rank(tracks, papers, papers),
        "bm25s": bm25s_rank(tracks, papers, papers),
    }
    ranked = Ranker(tracks, embedder=None).rank(papers)  # ours, with scores for reach_rows
    systems["ours"] = ids_of(ranked)
    assert tuple(systems) == SYSTEMS
    results: dict[str, dict] = {n: evaluate(condense(r, keep), qrels) for n, r in systems.items()}
    print(f"\n{name}: {len(papers)} candidates, graded on {month} ({len(keep)} papers), "
          f"{len(tracks)} tracks, {sum(len(q) for q in qrels.values())} judgements")
    print(f"{'track':28}" + "".join(f"{n + ' nDCG/P@10/R@50':>27}" for n in systems))
    for tid in results["ours"]:
        cells = "".join("{:>11.3f}{:>8.2f}{:>8.2f}".format(*results[n][tid]) for n in systems)
        print(f"{tid:28}{cells}")
    best = max(results["tfidf"]["MEAN"][0], results["bm25s"]["MEAN"][0])
    worst, worst_recall = min(((k, v[2]) for k, v in results["ours"].items() if k != "MEAN"),
                              key=lambda kv: kv[1])
    print(f"ours / best peer nDCG@20: {results['ours']['MEAN'][0] / best:.2f}x; "
          f"lowest core recall@50 of a track: {worst_recall:.2f} ({worst})")
    print(f"core recall@{JUDGE_K} (the {JUDGE_K} a learn cycle summarises): "
          + ", ".join(f"{n} {results[n]['MEAN'][3]:.2f}" for n in systems))
    few = sorted(t for t, g in qrels.items() if sum(v == 2 for v in g.values()) < MIN_CORE)
    if few:  # a track with one or two core papers moves a mean in large steps
        means = {n: float(np.mean([v[0] for t, v in r.items() if t not in few and t != "MEAN"]))
                 for n, r in results.items()}
        print(f"without {', '.join(few)} (< {MIN_CORE} core papers): nDCG@20 "
              + ", ".join(f"{n} {m:.3f}" for n, m in means.items())
              + f"; ours / best peer {means['ours'] / max(means['tfidf'], means['bm25s']):.2f}x")
    results["reach"] = reach_rows(ranked, keep, qrels, len(graded))
    print_reach(results["reach"])
    return results


def reach_rows(
    ranked: dict[str, list[Match]], keep: set[str], qrels: dict[str, dict[str, int]], months: int
) -> dict[str, dict[float, tuple[int, int, float]]]:
    """Per track and bar (the relevance threshold, the judge floor, any --floors): (core papers,
    core papers scoring at least the bar, papers of the graded `months` scoring at least the bar
    per month).

    A learn cycle only ever picks papers at or above a bar: the threshold without an LLM, the
    judge floor with one. A core paper below it never reaches the judge, whatever its rank."""
    rows = {}
    for tid, matches in ranked.items():
        core = {p for p, g in qrels.get(tid, {}).items() if g == 2}
        scores = [(m.paper_id, m.score) for m in matches if m.paper_id in keep]
        rows[tid] = {bar: (len(core), sum(s >= bar for p, s in scores if p in core),
                           sum(s >= bar for _, s in scores) / max(months, 1)) for bar in bars()}
    return rows


def bars() -> list[float]:
    """The relevance threshold, the judge floor, and any `--floors a,b` to compare."""
    extra = sys.argv[sys.argv.index("--floors") + 1].split(",") if "--floors" in sys.argv else []
    found = [Tuning().threshold, LearnSettings().judge_floor, *map(float, extra)]
    return sorted(set(found), reverse=True)


def print_reach(rows: dict[str, dict[float, tuple[int, int, float]]]) -> None:
    """Core papers a learn cycle can reach at each bar, pooled; candidates per track and month."""
    threshold, floor = Tuning().threshold, LearnSettings().judge_floor
    cells = []
    for bar in bars():
        core = sum(r[bar][0] for r in rows.values())
        kept = sum(r[bar][1] for r in rows.values())
        per_month = sum(r[bar][2] for r in rows.values()) / max(len(rows), 1)
        shares = [r[bar][1] / r[bar][0] for r in rows.values() if r[bar][0]]
        name = {threshold: " (relevance threshold)", floor: " (judge floor)"}.get(bar, "")
        cells.append(f"  score >= {bar:g}{name}: {kept}/{core} core ({kept / max(core, 1):.0%}), "
                     f"lowest track {min(shares, default=0):.2f}, "
                     f"{per_month:.0f} candidates per track and month")
    print("core papers a learn cycle can reach (it picks only papers at or above its bar):")
    print("\n".join(cells))


def split_dir(name: str) -> Path:
    """The directory of a split: "dev" is bench/devset itself, any other name a folder in it."""
    folder = DEVSET if name == "dev" else DEVSET / name
    for needed in ("tracks.toml", "qrels.jsonl"):
        if not (folder / needed).is_file():
            raise SystemExit(f"ranking_quality: split {name!r} has no {folder / needed}; give "
                             f"dev or a folder of {DEVSET} with tracks.toml and qrels.jsonl")
    return folder


def graded_months(qrels: dict[str, dict[str, int]], months: dict[str, str]) -> set[str]:
    """The months of the judged papers (a split is graded on those only)."""
    return {months[pid] for judged in qrels.values() for pid in judged if pid in months}


def run_split(name: str, title: str, papers, months) -> dict[str, dict]:
    """Load one split and print its table."""
    folder = split_dir(name)
    qrels = load_qrels(folder / "qrels.jsonl")
    graded = graded_months(qrels, months)
    unknown = sorted({pid for judged in qrels.values() for pid in judged if pid not in months})
    if unknown:
        print(f"warning: {len(unknown)} judged papers of {folder / 'qrels.jsonl'} are not in the "
              f"sample and cannot be ranked (e.g. {', '.join(unknown[:3])})")
    return compare(title, load_tracks(folder / "tracks.toml"), papers, months, graded, qrels)


def pooled(results: dict[str, dict[str, dict]]) -> None:
    """Print every split's mean and the mean over all their tracks pooled, peers beside ours."""
    print(f"\nPOOLED over {', '.join(results)}: nDCG@20 / P@10 / core R@50 per split and pooled")
    print(f"{'split':28}" + "".join(f"{n + ' nDCG/P@10/R@50':>27}" for n in SYSTEMS)
          + f"{'ours/best':>11}")
    for name, split in [*results.items(), ("POOLED", _pool(results))]:
        cells = "".join("{:>11.3f}{:>8.2f}{:>8.2f}".format(*split[n]["MEAN"]) for n in SYSTEMS)
        best = max(split["tfidf"]["MEAN"][0], split["bm25s"]["MEAN"][0])
        print(f"{name:28}{cells}{split['ours']['MEAN'][0] / best:>10.2f}x")
    rows = _pool(results)["ours"]
    tracks = [tid for tid in rows if tid != "MEAN"]
    lowest = min(tracks, key=lambda t: rows[t][2])
    print(f"tracks with ours' core recall@50 >= 0.90: {sum(rows[t][2] >= 0.9 for t in tracks)} "
          f"of {len(tracks)}; lowest {lowest} {rows[lowest][2]:.2f}; pooled core recall@"
          f"{JUDGE_K} " + ", ".join(f"{n} {_pool(results)[n]['MEAN'][3]:.2f}" for n in SYSTEMS))
    print_reach(_pool(results)["reach"])


def _pool(results: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """Per system: every track of every split, and their mean (each track counts once)."""
    pooled: dict[str, dict] = {}
    for system in SYSTEMS:
        rows = {f"{name}/{tid}": row for name, split in results.items()
                for tid, row in split[system].items() if tid != "MEAN"}
        rows["MEAN"] = tuple(float(np.mean([v[i] for v in rows.values()])) for i in range(4))
        pooled[system] = rows
    pooled["reach"] = {f"{name}/{tid}": row for name, split in results.items()
                       for tid, row in split["reach"].items()}
    return pooled


def chosen_splits(argv: Sequence[str]) -> list[str]:
    """The splits named by --split (comma-separated; all-tuning = the 24 tuning tracks)."""
    if "--split" not in argv:
        return ["dev", "heldout"]
    at = argv.index("--split") + 1
    if at >= len(argv) or not argv[at].strip(","):
        raise SystemExit("ranking_quality: --split needs a name (dev, heldout, heldout2, "
                         "all-tuning, or several joined by commas)")
    names = [n for n in argv[at].split(",") if n]
    expanded = [s for n in names for s in (TUNING_SPLITS if n == "all-tuning" else (n,))]
    return list(dict.fromkeys(expanded))


def main() -> None:
    """Print the dev (tuned) and held-out tables, or the splits asked for, then pooled."""
    papers, months = load_papers()
    splits = chosen_splits(sys.argv)
    for name in splits:
        split_dir(name)  # a missing split is an error before minutes of ranking
    results = {}
    for name in splits:
        title = f"{name.upper()} (never tuned on)"
        if name in TUNING_SPLITS:
            title = f"{name.upper()} (constants tuned on it)"
        results[name] = run_split(name, title, papers, months)
    if len(results) > 1:
        pooled(results)
    if "dev" in splits and "--no-feedback" not in sys.argv:
        january = [p for p in papers if months[p.id] == "2026-01"]
        before, after = feedback_figure(load_tracks(), january, load_qrels())
        print(f"\nfeedback (dev, January only, 10 ratings/track, unrated papers): "
              f"nDCG@20 {before:.3f} -> {after:.3f}")
        core_before, core_after, n_before, n_after = threshold_figure(
            load_tracks(), january, load_qrels())
        print(f"  at the relevance threshold: core papers marked relevant {core_before:.0%} -> "
              f"{core_after:.0%}, relevant papers {n_before} -> {n_after}")


if __name__ == "__main__":
    main()
