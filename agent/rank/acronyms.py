"""Acronyms a track writes, spelt out as the background corpus spells them.

A track that says "LLM" misses the paper that only says "multimodal large language models"; one
that says "ASR" misses "automatic speech recognition". Papers define their acronyms ("large
language models (LLMs)"), so the background teaches the long form: the words just before a
parenthesised acronym whose initials spell it. No list of acronyms is shipped.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from agent.models import Track
from agent.rank.index import VOCABULARY, Tokens, Vocabulary, pair_key
from agent.rank.text import stem

ACRONYM_RE = re.compile(r"\b([A-Z]{2,6})s?\b")  # "LLM", "LLMs", "ASR", "LALM"
MIN_DEFINITIONS = 3  # a long form seen fewer times is a coincidence, not a definition
MAX_LOOKS = 500  # definitions looked at per acronym: plenty for a common one, and fast


def written_acronyms(text: str) -> list[str]:
    """Stems of the acronyms written in capitals in `text`, in order, each once."""
    found = [stem(match.lower()) for match in ACRONYM_RE.findall(text)]
    return list(dict.fromkeys(found))


def track_long_forms(track: Track, tokens: Tokens) -> dict[int, tuple[int, ...]]:
    """The acronyms a track writes (word id) -> the word pairs of their long form."""
    text = " ".join((track.name, track.description, *track.keywords))
    found = long_forms(written_acronyms(text), tokens)
    return {VOCABULARY.stem_id(acronym): pairs for acronym, pairs in found.items()}


def long_forms(
    acronyms: list[str], tokens: Tokens, vocabulary: Vocabulary = VOCABULARY
) -> dict[str, tuple[int, ...]]:
    """Acronym stem -> the word pairs of its most frequent definition in `tokens` (if any)."""
    found: dict[str, tuple[int, ...]] = {}
    for acronym in acronyms:
        word = vocabulary.stem_ids.get(acronym)
        if word is None or not acronym.isalpha():
            continue
        counts = _definitions(acronym, word, tokens, vocabulary)
        if counts:
            words, seen = counts.most_common(1)[0]
            if seen >= MIN_DEFINITIONS:
                found[acronym] = tuple(
                    int(pair_key(a, b)) for a, b in zip(words, words[1:], strict=False)
                )
    return found


def _definitions(
    acronym: str, word: int, tokens: Tokens, vocabulary: Vocabulary
) -> Counter[tuple[int, ...]]:
    """How often each run of words just before the acronym, alone in its segment, spells it."""
    n = len(acronym)
    ids, segments, docs = tokens.words, tokens.segments, tokens.docs
    at = np.flatnonzero(ids == word)
    at = at[(at >= n) & (at + 1 < len(ids))]
    # alone in its segment: "(LLMs)" is a segment of one word between two breaks
    at = at[(segments[at - 1] != segments[at]) & (segments[at + 1] != segments[at])][:MAX_LOOKS]
    runs = at[:, None] - n + np.arange(n)  # the n words before each, in order
    same = (docs[runs] == docs[at, None]).all(1) & (segments[runs] == segments[at - 1, None]).all(1)
    runs = ids[runs[same]]
    unique, inverse = np.unique(runs, return_inverse=True)
    letters = np.asarray([ord(vocabulary.stems[w][0]) for w in unique.tolist()], dtype=np.int64)
    spelt = letters[inverse.reshape(runs.shape)] == np.frombuffer(acronym.encode(), np.uint8)
    return Counter(tuple(run) for run in runs[spelt.all(1)].tolist())
