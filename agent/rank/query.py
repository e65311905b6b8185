"""A track as a weighted query: its keywords are phrases, its description is context.

A keyword is the researcher saying "this is what I mean", so its words weigh most and, when it is
a phrase, the adjacent pair of words weighs again: a paper that says "speech LLM" beats one that
says "speech" in one sentence and "LLM" in another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from agent.models import Track
from agent.rank.index import VOCABULARY, WORD_BITS, Vocabulary, pair_key, pair_words
from agent.rank.text import segments


@dataclass(frozen=True)
class QueryWeights:
    """How much each part of a track counts (tuned on the January dev set, see bench/)."""

    keyword_word: float = 1.0
    keyword_pair: float = 1.0
    name_word: float = 0.6
    name_pair: float = 0.6
    description_word: float = 0.35
    description_pair: float = 0.35
    length_norm: float = 0.5  # a keyword of n words gives each word 1 / n**length_norm


QUERY_WEIGHTS = QueryWeights()


@dataclass
class Query:
    """Feature key -> weight, plus which keyword each feature came from (for Match.terms)."""

    weights: dict[int, float] = field(default_factory=dict)
    phrases: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)  # keyword -> keys
    excludes: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    facet_phrases: list[tuple[int, ...]] = field(default_factory=list)  # indexed, not scored

    def pairs(self) -> set[int]:
        """Keys of the word pairs this query needs indexed."""
        keys = set(self.weights)
        for _, phrase_keys in self.phrases + self.excludes:
            keys.update(phrase_keys)
        for phrase_keys in self.facet_phrases:
            keys.update(phrase_keys)
        return {key for key in keys if key >= 1 << WORD_BITS}


def phrase_keys(text: str, vocabulary: Vocabulary = VOCABULARY) -> tuple[list[int], list[int]]:
    """Word ids and adjacent-pair keys of a phrase."""
    words: list[int] = []
    pairs: list[int] = []
    for segment in segments(text):
        ids = [vocabulary.stem_id(word) for word in segment]
        words.extend(ids)
        pairs.extend(int(pair_key(a, b)) for a, b in zip(ids, ids[1:], strict=False))
    return words, pairs


def reversed_pairs(pairs: list[int]) -> list[int]:
    """The pair of a two-word phrase, the other way round: English says "speech representations"
    and "representations of speech", which loses its stop word to become (representation,
    speech). Longer phrases have no such reading."""
    if len(pairs) != 1:
        return []
    first, second = pair_words(pairs[0])
    return [] if first == second else [int(pair_key(second, first))]


def build_query(track: Track, weights: QueryWeights | None = None) -> Query:
    """The weighted query of one track."""
    weights = weights or QUERY_WEIGHTS
    scores: dict[int, float] = defaultdict(float)
    query = Query()
    for keyword in track.keywords:
        words, pairs = phrase_keys(keyword)
        scale = 1.0 / max(len(set(words)), 1) ** weights.length_norm
        for key in set(words):
            scores[key] += weights.keyword_word * scale
        for key in set(pairs):
            scores[key] += weights.keyword_pair * scale
        # the pair read the other way round only shows the keyword's facet (it moved dev
        # nDCG@20 by +-0.001 in the score, within noise): indexed, not scored
        query.facet_phrases.extend((key,) for key in reversed_pairs(pairs))
        # a phrase matches when all its pairs do; a single word when the word does
        query.phrases.append((keyword, tuple(pairs) if pairs else tuple(words)))
    _add_text(scores, track.name, weights.name_word, weights.name_pair)
    _add_text(scores, track.description, weights.description_word, weights.description_pair)
    for term in track.exclude:
        words, pairs = phrase_keys(term)
        query.excludes.append((term, tuple(pairs) if pairs else tuple(words)))
    query.weights = dict(scores)
    return query


def plain_query(track: Track) -> dict[int, float]:
    """Plain BM25's query of a track: every word of its description and keywords once, weight 1
    (no name, no pairs)."""
    words = phrase_keys(" ".join((track.description, *track.keywords)))[0]
    return dict.fromkeys(words, 1.0)


def _add_text(scores: dict[int, float], text: str, word: float, pair: float) -> None:
    """Add the words and pairs of free text, each counted once."""
    # weights add up: a word in the name, the keywords and the description is the track's core
    words, pairs = phrase_keys(text)
    for key in set(words):
        scores[key] += word
    for key in set(pairs):
        scores[key] += pair
