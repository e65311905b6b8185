"""Candidate pools for the held-out tracks: regular expressions plus plain BM25, no ranker of ours.

    python bench/devset/heldout/make_pool.py OUT_DIR    # one OUT_DIR/<track>.txt per track

Pool per track = up to 40 hits of a hand-written regular expression (other words than the
keywords) + the top 30 of Okapi BM25 (title + abstract, query = description + keywords), over the
February 2026 papers of the bundled sample, listed by id so the method that proposed a paper is
not shown.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parents[2] / "agent" / "data" / "arxiv-2026-jan-feb.jsonl.gz"
FILTERS = {
    "speech-emotion": r"emotion|affective|paralinguist|expressiv|prosod|sentiment.{0,40}speech",
    "audio-deepfake": r"spoof|deepfake|deep-fake|watermark|synthetic speech|fake audio|forger",
    "machine-translation": r"translat|parallel corp|bitext|\bmt\b|comet\b|bleu",
    "kv-cache": r"kv[- ]cache|key-value cache|eviction|long[- ]context|sparse attention|"
    r"prefill|decod\w+ (speed|latency)",
}
WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in WORD.findall(text.lower())]


def main(out: Path) -> None:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    feb = [r for r in rows if (r.get("first_listing_date") or "").startswith("2026-02")]
    docs = [Counter(words(f"{r['title']} {r['abstract']}")) for r in feb]
    df = Counter(w for d in docs for w in d)
    avg = sum(sum(d.values()) for d in docs) / len(docs)
    tracks = tomllib.loads((HERE / "tracks.toml").read_text())["track"]
    out.mkdir(parents=True, exist_ok=True)
    for track in tracks:
        query = Counter(words(track["description"] + " " + " ".join(track["keywords"])))
        scores = []
        for d in docs:
            length = sum(d.values())
            s = 0.0
            for w, q in query.items():
                tf = d.get(w, 0)
                idf = math.log(1 + (len(docs) - df[w] + 0.5) / (df[w] + 0.5))
                s += q * idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg))
            scores.append(s)
        best = sorted(range(len(feb)), key=lambda i: -scores[i])[:30]
        rx = re.compile(FILTERS[track["id"]])
        hits = [i for i, r in enumerate(feb) if rx.search(f"{r['title']} {r['abstract']}".lower())]
        pool = sorted(set(best) | set(hits[:40]), key=lambda i: feb[i]["id"])
        with (out / f"{track['id']}.txt").open("w") as f:
            for i in pool:
                r = feb[i]
                f.write(f"{r['id']} | {r['title']} | {r['abstract'][:380]}\n")
        print(track["id"], len(pool))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
