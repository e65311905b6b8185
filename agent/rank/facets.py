"""Facets: the aspects a track asks for together, so a paper must cover more than one.

A track named "Hallucination in speech and audio language models" wants hallucination AND audio
language models; a paper that says "large audio language model" ten times but never
"hallucination" covers only part of it. The name gives the facets; each keyword is another way
to say one of them (by a shared word, or else by the facet it co-occurs with most in the
background corpus: "probing" goes with "interpretability", not with "speech"). A facet is also
shown, more weakly, by its cues: words learnt from the background whose papers nearly always show
it ("dysarthria" tells of speech, "reranker" of retrieval-augmented generation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from agent.rank.index import VOCABULARY, WORD_BITS, Index, Vocabulary, pair_key, pair_words
from agent.rank.query import phrase_keys, reversed_pairs
from agent.rank.score import Stats, has_all, query_entries
from agent.rank.text import STOP_WORDS, fold, stem


@dataclass
class Facet:
    """One aspect: any of its name terms, or any of its keyword phrases, shows it.

    A term or phrase is a tuple of feature keys that must all be present (a word, or the word
    pairs of a phrase).
    """

    terms: list[tuple[int, ...]]
    phrases: list[tuple[int, ...]] = field(default_factory=list)
    cues: dict[int, float] = field(default_factory=dict)  # word -> how much it shows the facet
    # a weak facet (grounded_facets) weighs 1 - weak in the coverage and every paper shows at
    # least `weak` of it; 0 for a facet like any other
    weak: float = 0.0

    @property
    def words(self) -> set[int]:
        """Words of the name terms, pairs included (to match keywords that share one)."""
        words: set[int] = set()
        for key in (key for term in self.terms for key in term):
            # a pair ("low-resource") shows through both of its words
            words.update(pair_words(key) if key >= 1 << WORD_BITS else (key,))
        return words


def name_facets(name: str, vocabulary: Vocabulary = VOCABULARY) -> list[Facet]:
    """Facets of a track name: each content word, and "x and y" / "x or y" as one facet.

    "Interpretability of speech and audio models" -> interpretability, speech|audio, model.
    """
    facets: list[Facet] = []
    joined = False
    for token in re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", fold(name)):
        if token in ("and", "or"):
            joined = bool(facets)
            continue
        ids = [vocabulary.stem_id(stem(w)) for w in token.split("-") if w not in STOP_WORDS]
        if not ids:
            continue
        # "low-resource" is one idea in two words: both must be there, side by side
        pairs = zip(ids, ids[1:], strict=False)
        term = tuple(int(pair_key(a, b)) for a, b in pairs) if len(ids) > 1 else (ids[0],)
        if joined:
            facets[-1].terms.append(term)
        else:
            facets.append(Facet([term]))
        joined = False
    return facets


def grounded_facets(
    facets: list[Facet], keywords: tuple[str, ...], weak: float = 0.0
) -> list[Facet]:
    """Only the name's aspects that the keywords name, each as the keywords draw it.

    A name is often a label ("Listen vs Guess", "Project Alpha"): its words are not a query, and
    demanding that papers say "guess" would hide every relevant one. An aspect counts when the
    researcher's own keywords share a word with it. A keyword naming several aspects at once
    does not make each of them required: in "LLM agents that use tools", "use" shows up only in
    "tool use", so it belongs to the "tool" aspect (which "tool learning" names alone); and the
    words of "Evaluating spoken language models" that only "spoken language model" names are one
    aspect together, shown by any of them. An aspect only one of several keywords names is
    thin evidence that it is required ("bits" in "Squeezing large models into fewer bits", said
    only by "low-bit", while "weight pruning" never says it): it gets `weak` (see Facet).
    """
    keyword_words = [set(phrase_keys(keyword)[0]) for keyword in keywords]
    grounding = [{i for i, words in enumerate(keyword_words) if f.words & words} for f in facets]
    alone = [any(sum(i in g for g in grounding) == 1 for i in own) for own in grounding]
    named_alone = set().union(*(g for g, a in zip(grounding, alone, strict=True) if a))
    kept = [facet for facet, a in zip(facets, alone, strict=True) if a]
    groups: dict[int, list[Facet]] = {}
    for facet, own, a in zip(facets, grounding, alone, strict=True):
        if own and not a and not own & named_alone:
            groups.setdefault(min(own), []).append(facet)
    kept += [Facet([term for f in group for term in f.terms]) for group in groups.values()]
    for facet in kept:
        if len(keywords) > 1 and sum(bool(facet.words & words) for words in keyword_words) == 1:
            facet.weak = weak
    return kept


def attach_keywords(
    facets: list[Facet], keywords: tuple[str, ...], index: Index, stats: Stats
) -> list[Facet]:
    """Give each keyword to the facets it shares a word with, else to its closest facet."""
    if not facets:
        return facets
    present = [_mentions(index, facet) for facet in facets]
    for keyword in keywords:
        words, pairs = phrase_keys(keyword)
        phrase = tuple(pairs) if pairs else tuple(words)
        if not phrase:
            continue
        sharing = [f for f in facets if _shares_word(f, words) or set(f.terms) & {phrase}]
        backwards = [(key,) for key in reversed_pairs(pairs)]
        if not sharing:
            matched = has_all(index, phrase)
            for keys in backwards:
                matched |= has_all(index, keys)
            sharing = _closest(facets, present, matched)
        for facet in sharing:
            facet.phrases.append(phrase)
            facet.phrases.extend(backwards)
    return facets


def with_long_forms(facets: list[Facet], forms: dict[int, tuple[int, ...]]) -> list[Facet]:
    """Facets shown by an acronym ("LLM") are shown by its long form too."""
    for facet in facets:
        for word, pairs in forms.items():
            if (word,) in facet.terms + facet.phrases and pairs not in facet.phrases:
                facet.phrases.append(pairs)
    return facets


def with_cues(
    facets: list[Facet], index: Index, min_papers: int, share: float, lift: float, credit: float
) -> list[Facet]:
    """Give each facet the words that tell of it without naming it, learnt from `index` (the
    background, every word indexed): a word in at least `min_papers` papers, at least `share` of
    which show the facet, and `lift` times as often as papers at large do (a facet most papers
    show, "LLM", has no cues: nearly every word co-occurs with it). A paper holding a cue shows
    the facet at `credit` times the share of the cue's papers that show it."""
    words = index.word_entries()
    keys, docs = index.keys[words], index.docs[words]
    if not len(keys):
        return facets
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])  # entries are sorted by key
    papers = np.diff(np.r_[starts, len(keys)])
    for facet in facets:
        present = _mentions(index, facet) > 0
        showing = np.add.reduceat(present[docs].astype(np.float64), starts) / papers
        own = {key for term in facet.terms + facet.phrases for key in term}
        chosen = (papers >= min_papers) & (showing >= share) & (showing >= lift * present.mean())
        facet.cues = {
            int(key): round(credit * float(value), 4)
            for key, value in zip(keys[starts][chosen], showing[chosen], strict=True)
            if int(key) not in own
        }
    return facets


MIN_ROOT = 4  # a facet word this long is the root of longer words ("agent" of "agentic")


def _shares_word(facet: Facet, words: list[int], vocabulary: Vocabulary = VOCABULARY) -> bool:
    """True when a keyword word is one of the facet's words or derived from one: "agentic"
    is said of the "agent" facet, not of whichever facet its papers happen to mention."""
    own = facet.words
    if own & set(words):
        return True
    roots = [vocabulary.stems[w] for w in own if len(vocabulary.stems[w]) >= MIN_ROOT]
    return any(vocabulary.stems[w].startswith(root) for w in words for root in roots)


def _mentions(
    index: Index, facet: Facet, abstract_credit: float = 1.0, apart_credit: float = 0.0
) -> np.ndarray:
    """How much each paper of `index` shows the facet: 1 in its title, less in its abstract;
    `apart_credit` when its title holds every word of a compound name term, not side by side
    ("Judging ... LLM relevance assessment" for "LLM-as-a-judge": a title is a short window);
    what its best cue word gives (see with_cues)."""
    found = np.zeros(index.n_docs, dtype=bool)
    in_title = np.zeros(index.n_docs, dtype=bool)
    for keys in facet.terms + facet.phrases:
        found |= has_all(index, keys)
        if abstract_credit < 1.0:
            in_title |= has_all(index, keys, title_only=True)
    shown = np.where(in_title, 1.0, abstract_credit * found)
    if apart_credit > 0:
        for words in compound_words(facet):
            apart = has_all(index, words, title_only=True)
            shown = np.maximum(shown, apart_credit * apart)
    if facet.cues:
        cue_keys = np.fromiter(facet.cues, dtype=np.int64, count=len(facet.cues))
        shows = np.fromiter(facet.cues.values(), dtype=np.float64, count=len(facet.cues))
        entries, owner = query_entries(index, cue_keys)
        cued = np.zeros(index.n_docs)
        np.maximum.at(cued, index.docs[entries], shows[owner])
        shown = np.maximum(shown, cued)
    return shown


def compound_words(facet: Facet) -> list[tuple[int, ...]]:
    """The words of each name term made of word pairs ("low-resource" -> low, resource)."""
    compounds = []
    for term in facet.terms:
        if any(key >= 1 << WORD_BITS for key in term):
            words = {w for key in term for w in pair_words(key)}
            compounds.append(tuple(sorted(words)))
    return compounds


def _closest(facets: list[Facet], present: list[np.ndarray], matched: np.ndarray) -> list[Facet]:
    """The facet whose papers the keyword's papers over-represent most (highest lift)."""
    if not matched.any():
        return []
    lifts = [
        float(mask[matched].mean()) / max(float(mask.mean()), 1e-9) for mask in present
    ]
    best = int(np.argmax(lifts))
    return [facets[best]] if lifts[best] > 1.0 else []


def facet_coverage(
    index: Index,
    stats: Stats,
    facets: list[Facet],
    min_idf: float = 0.0,
    abstract_credit: float = 1.0,
    apart_credit: float = 0.0,
) -> np.ndarray:
    """Idf-weighted share of the facets each paper of `index` shows (a weak facet: see Facet)."""
    total = np.zeros(index.n_docs)
    mass = 0.0
    for facet in facets:
        weight = max(float(stats.idf(np.asarray(t, dtype=np.int64)).max()) for t in facet.terms)
        if weight < min_idf:
            continue  # "model", "use": every paper has them, they tell nothing
        shown = _mentions(index, facet, abstract_credit, apart_credit)
        if facet.weak > 0:
            weight *= 1 - facet.weak
            shown = np.maximum(shown, facet.weak)
        total += weight * shown
        mass += weight
    return total / mass if mass else np.ones(index.n_docs)
