"""Candidate pools for held-out split 3 (README.md, "Held-out split 3").

    python bench/devset/heldout3/make_pool.py OUT_DIR    # one OUT_DIR/<track>.txt per track

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
    "speaker-diarization": (
        r"diari[sz]|who spoke|speaker (change|segmentation|count|attribut|label|cluster|"
        r"embedding|tracking)|overlapping (speech|speakers|talkers)|cocktail|"
        r"multi-?(speaker|party)|"
        r"conversation(al)? (speech|recording|transcri)|\bder\b|\bami\b|callhome|voxconverse|"
        r"dihard|chime|speaker-attributed|target.speaker",
        r"speech|speaker|audio|spoken|talker|voice",
    ),
    "retrieval-augmented-generation": (
        r"retriever|retrieved|search engine|knowledge base|external knowledge|passages|"
        r"citation|attribution|knowledge conflict|hotpotqa|musique|web search|grounded|"
        r"evidence|document(s)? (ranking|selection|chunk)|chunking|vector (store|database)",
        r"language model|\bllms?\b|generat|question|answer",
    ),
    "preference-alignment": (
        r"human feedback|\bppo\b|\bgrpo\b|\bkto\b|\bipo\b|\bsimpo\b|\borpo\b|reward hacking|"
        r"bradley.terry|pairwise (comparison|preference)|helpful|harmless|chosen|rejected|"
        r"policy optimi[sz]ation|on-policy|off-policy|preferred|reward signal|reward over-?optimi",
        r"language model|\bllms?\b|fine-tun|policy",
    ),
    "text-tokenization": (
        r"byte.?pair|sentencepiece|wordpiece|byte-level|\bbytes\b|character-level|tokeni[sz]er|"
        r"token-free|morpholog|fertility|segmentation of (words|text)|word boundar|"
        r"tokeni[sz]ation|merge rules|embedding (table|matrix)",
        r"text|language|word|script|multilingual|\bllms?\b",
    ),
    "audio-captioning": (
        r"caption|sound event|environmental sound|acoustic scene|audio tagging|audioset|clotho|"
        r"audiocaps|esc-50|audio classification|contrastive language.audio|zero-shot audio|"
        r"text-to-audio|sound (description|retrieval|classification|understanding)|foley|"
        r"bioacoustic|audio-language (model|pretrain)",
        r"audio|sound|acoustic",
    ),
    "catastrophic-forgetting": (
        r"forget|retain|retention|replay|rehearsal|incremental|sequential(ly)? (tasks?|fine-tun|"
        r"learn|train)|plasticity|\bewc\b|elastic weight|model merging|merged model|"
        r"task arithmetic|new (tasks|domains|languages)|previously learned|prior (knowledge|"
        r"capabilit)|general capabilit|degrad\w* (the )?(original|general|prior)",
        r"fine-tun|adapt|pre-?trained|learn|post-train",
    ),
}


if __name__ == "__main__":
    pool_command(__file__, FILTERS, "2026-02", new_regex_hits_only=True)
