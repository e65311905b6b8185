"""Candidate pools for held-out split 5 (README.md, "Held-out split 5").

    python bench/devset/heldout5/make_pool.py OUT_DIR    # one OUT_DIR/<track>.txt per track

Pool per track, over the February 2026 papers of the bundled sample: the first 40 of tf-idf,
BM25 (bm25s) and our ranker (each ranking the whole sample, as bench/ranking_quality.py does),
plus the first 40 papers, in BM25 order, that match every pattern of the track's hand-written
filter below and are not already pooled. The filters use other words than the keywords and were
written before any pool was read. Listed by id so the method that proposed a paper is not shown.
Code shared with ../make_pool.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from make_pool import pool_command  # noqa: E402

FILTERS = {
    "speaker-language-id": (
        r"\bspeakers?\b|\bvoiceprint|\bx-vector|ecapa|\bd-vector|\beer\b|equal error rate|"
        r"voxceleb|cn-?celeb|\blanguage (id|identification|recognition)\b|\blid\b|"
        r"\baccents?\b|\bdialects?\b|enrol(l)?ment|authenticat",
        r"verif|identif|recogni|embedding|classif|biometric|discriminat",
    ),
    "speech-translation": (
        r"translat|interpret(ation|ing|er)\b|\bdubbing|\bs2st\b|\bs2tt\b|\bst\b|"
        r"cross-lingual speech|multilingual speech|\bsubtitl",
        r"speech|spoken|audio|voice|speaker|utterance",
    ),
    "speculative-decoding": (
        r"\bdraft|verif(y|ier|ication) (the )?tokens?|accept(ance|ed) (rate|length|tokens?)|"
        r"lookahead|look-ahead|multi-token prediction|\bmedusa\b|\beagle\b|tokens per step|"
        r"decoding (speed|latency|acceleration)|accelerat\w* (decoding|inference|generation)|"
        r"speed-?up|wall-clock|non-autoregressive|early exit",
        r"decod|generat|inference|autoregressive",
    ),
    "model-merging": (
        r"\bmerg|task vectors?|weight (averag|interpolat|space)|model soups?|\bsoups?\b|"
        r"parameter (averag|fusion|interpolat)|\bties\b|\bdare\b|linear (mode )?connectivity|"
        r"model fusion|fusing (the )?(weights|models|parameters)|\binterference\b",
        r"\bmodels?\b|fine-tun|weights|parameters|\bllms?\b|adapters?|lora",
    ),
    "sound-event-detection": (
        r"\bsound events?\b|\bsed\b|\bdcase\b|audioset|esc-50|urbansound|\bbird|\banimal|"
        r"\bwhale|\bmarine|\bbat\b|\binsect|species|\bmachine (sound|condition)|"
        r"anomal\w* (sound|detection)|acoustic (scene|event|monitoring)|environmental sound|"
        r"audio (classification|event|tagging)|\bsound (classification|source locali)|"
        r"\bdoa\b|direction of arrival",
        r"audio|sound|acoustic|recording|\bcall",
    ),
    "fact-checking": (
        r"\bfact|claims?\b|evidence|rumou?r|fake news|disinformation|false (information|"
        r"statements?)|\bveracity|debunk|verif\w* (statements?|information)|factual(ity)?\b|"
        r"propaganda|\bfever\b|check-worth",
        r"\bverif|\bcheck|detect|true|false|supported|refut|truth|accura|correct",
    ),
}


if __name__ == "__main__":
    pool_command(__file__, FILTERS, "2026-02", new_regex_hits_only=True)
