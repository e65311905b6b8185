"""Candidate pools for held-out split 2 (README.md, "Held-out split 2").

    python bench/devset/heldout2/make_pool.py OUT_DIR    # one OUT_DIR/<track>.txt per track

Pool per track, over the February 2026 papers of the bundled sample: the first 40 of tf-idf,
BM25 (bm25s) and our ranker (each ranking the whole sample, as bench/ranking_quality.py does),
plus the first 40 papers, in BM25 order, that match every pattern of the track's hand-written
filter below and are not already pooled. The filters use other words than the keywords. Listed
by id so the method that proposed a paper is not shown. Code shared with ../make_pool.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from make_pool import pool_command  # noqa: E402

FILTERS = {
    "speech-quality-prediction": (
        r"mean opinion|perceptual quality|quality (prediction|estimat|metric|score)|utmos|dnsmos|"
        r"pesq|\bstoi\b|intelligibility|listening|subjective (score|rating|evaluation|test)|"
        r"human (rating|judg|preference|perception)|\bmushra\b|rater",
        r"speech|voice|\btts\b|text-to-speech|synthes|enhancement|codec|vocoder",
    ),
    "benchmark-contamination": (
        r"saturat|overlap.{0,40}(pre-?train|training (data|corpus|set))|seen .{0,20}training|"
        r"dynamic(ally)? .{0,20}(benchmark|evaluation)|private (test|held|benchmark)|canary|"
        r"verbatim|regurgitat|inflat|post-cutoff|knowledge cut-?off|leak|rote|"
        r"novel (problem|question)s|fresh (problem|question|benchmark)|memoriz|memoris",
        r"benchmark|evaluat|test set",
    ),
    "efficient-reasoning": (
        r"token budget|thinking budget|budget|early (exit|stop)|concise|shorter|length penalty|"
        r"verbos|redundan|thinking tokens|adaptive (thinking|reasoning)|think(ing)? less|"
        r"underthink|long-to-short|reasoning tokens|test-time (compute|scaling)|token (cost|usage)",
        r"reason|thinking|chain.of.thought|\bcot\b",
    ),
    "llm-uncertainty": (
        r"overconfiden|entropy|unanswerable|\brefus|don.t know|conformal|hedg|"
        r"know(s|ing)? (what|when)|self-aware|epistemic|aleatoric|verbali[sz]ed|"
        r"probability (of|that) .{0,20}correct|reliab\w+ of (answer|response|output)",
        r"language model|\bllms?\b|question|answer",
    ),
    "speech-privacy-attacks": (
        r"anonymi|de-?identif|pseudonym|conceal|obfuscat|speaker (identity|information|traits?|"
        r"attributes?)|re-?identif|membership inference|linkab|backdoor|poison|perturbation|"
        r"trigger|inaudible|malicious|unsafe|harmful|privacy|adversarial",
        r"speech|voice|audio|speaker|spoken|\basr\b|whisper",
    ),
    # Added with the sixth track (tracks.toml), after the five pools above were graded.
    "clinical-speech": (
        r"alzheimer|dementia|cognitive (decline|impairment)|\bmci\b|parkinson|\bals\b|"
        r"amyotrophic|stutter|stammer|aphasia|depress|cerebral palsy|impair|disorder|patholog|"
        r"clinical|patient|diagnos|screening|health",
        r"speech|voice|spoken|acoustic|audio|utterance",
    ),
}


if __name__ == "__main__":
    pool_command(__file__, FILTERS, "2026-02", new_regex_hits_only=True)
