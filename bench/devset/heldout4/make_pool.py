"""Candidate pools for held-out split 4 (README.md, "Held-out split 4").

    python bench/devset/heldout4/make_pool.py OUT_DIR    # one OUT_DIR/<track>.txt per track

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
    "speech-enhancement": (
        r"\bnoisy\b|\bnoise\b|reverb|\bclean (speech|signal)|\bdenois|\bpesq\b|\bstoi\b|"
        r"dnsmos|voicebank|\bdns challenge|echo cancel|beamform|microphone array|"
        r"(speech|source|sound) separation|speech restoration|bandwidth extension|"
        r"hearing aid|\bmask(ing)?\b|\bsnr\b",
        r"speech|speaker|voice|audio|talker",
    ),
    "vision-language-models": (
        r"\bimages?\b|visual|\bvideos?\b|\bvision\b|\bclip\b|\bvit\b|llava|qwen.?vl|"
        r"\bocr\b|chart|diagram|screenshot|pixel|\bmultimodal\b|\bmulti-modal\b|\bscene\b",
        r"language model|\bllms?\b|\bmllms?\b|\blvlms?\b|\bvlms?\b|text",
    ),
    "mixture-of-experts": (
        r"\bmoe\b|\bexperts\b|\brouter\b|\bgating\b|top-?k (routing|experts|gate)|"
        r"load.balanc|sparse(ly)? activat|activated parameters|conditional computation|"
        r"upcycl|deepseek-?v3|mixtral|switch transformer",
        r"model|transformer|layer|token",
    ),
    "machine-text-detection": (
        r"\bdetect|watermark|authorship|human-written|written by (humans?|an? (llm|ai|model))|"
        r"ai-generated|machine-authored|synthetic text|provenance|perplexity|"
        r"binoculars|detectgpt|fast-detectgpt|ai text|\bghostwrit|plagiar",
        r"\bllms?\b|language model|\bai\b|\bgpt|generated|chatgpt",
    ),
    "llm-jailbreaks": (
        r"harmful|unsafe|adversarial (prompt|suffix|attack)|\bgcg\b|misuse|red-?team|"
        r"\bmalicious|over-?refus|safety (alignment|guard|classifier|filter|fine-tun|benchmark)|"
        r"llama.?guard|moderation|backdoor|indirect injection|exploit|attack success rate",
        r"\bllms?\b|language model|\bmllms?\b|\bvlms?\b|chatbot|assistant|\bagents?\b",
    ),
    "model-quantization": (
        r"\bbits?\b|\b(int|fp)[2-8]\b|4-bit|8-bit|2-bit|3-bit|ternary|binar(y|ized) (weights?|"
        r"network)|gptq|\bawq\b|smoothquant|outlier|mixed.precision|\bsparsit|\bprun|"
        r"\bdistill\w* (into|a smaller)|compress\w* (the )?model|memory footprint|on-device|"
        r"edge devices?|low-rank (compression|approximation|decomposition)",
        r"model|network|\bllms?\b|transformer|weights",
    ),
}


if __name__ == "__main__":
    pool_command(__file__, FILTERS, "2026-02", new_regex_hits_only=True)
