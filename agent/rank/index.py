"""A small inverted index over title and abstract, in numpy arrays (no scipy).

Features are stemmed words and, for the word pairs a caller asks for, adjacent pairs inside a
segment (the phrase "speech LLM"). Each (feature, paper) entry keeps its count in the title and in
the abstract, sorted by feature so a feature's postings are one `searchsorted` away.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from agent.models import Paper
from agent.rank.text import STOP_WORDS, TOKEN_OR_BREAK_RE, fold, is_break, stem

CHUNK = 4096  # papers tokenized at a time
WORD_BITS = 21  # up to 2M distinct stems
DOC_BITS = 21  # up to 2M papers in one index
DOC_MASK = (1 << DOC_BITS) - 1


BREAK = -2  # id of a punctuation mark between segments
STOP = -1  # id of a stop word


class Vocabulary:
    """Ids of stems, shared by every index of the process so features line up."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}  # raw token -> stem id, STOP or BREAK
        self.stem_ids: dict[str, int] = {}
        self.stems: list[str] = []
        self.lock = threading.Lock()

    def token_id(self, token: str) -> int:
        """The id of a raw lower-case token (its stem's id, STOP or BREAK)."""
        found = self.ids.get(token)
        if found is not None:
            return found
        with self.lock:
            if is_break(token):
                found = BREAK
            elif token in STOP_WORDS:
                found = STOP
            else:
                found = self.stem_id(stem(token))
            return self.ids.setdefault(token, found)

    def stem_id(self, word: str) -> int:
        """The id of an already stemmed word, added if new."""
        found = self.stem_ids.get(word)
        if found is None:
            if len(self.stems) >= 1 << WORD_BITS:
                raise OverflowError("vocabulary too large for the ranker's index")
            found = self.stem_ids[word] = len(self.stems)
            self.stems.append(word)
        return found

    def __len__(self) -> int:
        return len(self.stems)


VOCABULARY = Vocabulary()


def pair_key(first: int | np.ndarray, second: int | np.ndarray) -> int | np.ndarray:
    """The feature key of the ordered word pair (first, second); single words keep their id."""
    return ((first + 1) << WORD_BITS) | second


def pair_words(key: int) -> tuple[int, int]:
    """The two word ids of a pair key (the inverse of `pair_key`)."""
    return (key >> WORD_BITS) - 1, key & ((1 << WORD_BITS) - 1)


@dataclass
class Tokens:
    """Every content word of a list of papers, flat: stem id, paper, field (0 title), segment."""

    words: np.ndarray
    docs: np.ndarray
    fields: np.ndarray
    segments: np.ndarray
    n_docs: int


def tokenize_papers(papers: Sequence[Paper], vocabulary: Vocabulary = VOCABULARY) -> Tokens:
    """Tokens of the titles and abstracts of `papers` (in chunks, to keep Python lists small)."""
    parts = [
        _tokenize_chunk(papers[start : start + CHUNK], start, vocabulary)
        for start in range(0, len(papers), CHUNK)
    ]
    if not parts:
        empty = np.zeros(0, dtype=np.int32)
        return Tokens(empty, empty, empty.astype(np.int8), empty, 0)
    words, docs, fields, segments = (np.concatenate(column) for column in zip(*parts, strict=True))
    return Tokens(words, docs, fields, segments, len(papers))


def _tokenize_chunk(
    papers: Sequence[Paper], first_doc: int, vocabulary: Vocabulary
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Word ids, paper numbers, fields and segment numbers of a few papers."""
    ids: list[int] = []
    lengths: list[int] = []
    lookup = vocabulary.ids.get
    for paper in papers:
        for text in (paper.title, paper.abstract):
            tokens = TOKEN_OR_BREAK_RE.findall(fold(text))
            found = [lookup(token) for token in tokens]
            if None in found:
                found = [vocabulary.token_id(token) for token in tokens]
            ids.extend(found)  # type: ignore[arg-type]  # no None is left
            ids.append(BREAK)  # a field ends a segment
            lengths.append(len(found) + 1)
    flat = np.asarray(ids, dtype=np.int32)
    text_of = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    breaks = flat == BREAK
    segment = np.cumsum(breaks, dtype=np.int32) - breaks  # pairs also need the same paper

    keep = flat >= 0
    return (
        flat[keep],
        (text_of[keep] // 2 + first_doc).astype(np.int32),
        (text_of[keep] % 2).astype(np.int8),
        segment[keep],
    )


class Index:
    """Postings of word and wanted-pair features of a set of papers, with field lengths."""

    def __init__(self, tokens: Tokens, pairs: Iterable[int] = ()) -> None:
        self.n_docs = tokens.n_docs
        keys, docs, fields = _features(tokens, np.asarray(sorted(set(pairs)), dtype=np.int64))
        composite, inverse = np.unique((keys << DOC_BITS) | docs, return_inverse=True)
        del keys, docs
        self.keys = composite >> DOC_BITS
        self.docs = (composite & DOC_MASK).astype(np.int32)
        del composite
        is_title = fields == 0
        n = len(self.keys)
        self.tf_title = np.bincount(inverse, weights=is_title, minlength=n).astype(np.float32)
        self.tf_abstract = np.bincount(inverse, weights=~is_title, minlength=n).astype(np.float32)
        title_words = tokens.fields == 0
        self.len_title = np.bincount(tokens.docs[title_words], minlength=self.n_docs)
        self.len_abstract = np.bincount(tokens.docs[~title_words], minlength=self.n_docs)

    def postings(self, key: int) -> slice:
        """The entry range of one feature."""
        start = int(np.searchsorted(self.keys, key, "left"))
        return slice(start, int(np.searchsorted(self.keys, key, "right")))

    def doc_freq(self, keys: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        """How many papers (only those where `keep` is true, if given) hold each feature."""
        starts = np.searchsorted(self.keys, keys, "left")
        ends = np.searchsorted(self.keys, keys, "right")
        if keep is None:
            return (ends - starts).astype(np.float64)
        kept = np.concatenate(([0], np.cumsum(keep[self.docs])))
        return (kept[ends] - kept[starts]).astype(np.float64)

    def word_entries(self) -> np.ndarray:
        """Mask of the entries that are single words (not pairs)."""
        return self.keys < (1 << WORD_BITS)


def _features(tokens: Tokens, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys, papers and fields of every word and every wanted adjacent pair."""
    words = tokens.words.astype(np.int64)
    keys, docs, fields = [words], [tokens.docs.astype(np.int64)], [tokens.fields]
    if len(pairs) and len(words) > 1:
        same = (tokens.segments[1:] == tokens.segments[:-1]) & (
            tokens.docs[1:] == tokens.docs[:-1]
        )
        pair_keys = np.asarray(pair_key(words[:-1][same], words[1:][same]))
        wanted = np.isin(pair_keys, pairs)
        keys.append(pair_keys[wanted])
        docs.append(tokens.docs[:-1][same][wanted].astype(np.int64))
        fields.append(tokens.fields[:-1][same][wanted])
    return np.concatenate(keys), np.concatenate(docs), np.concatenate(fields)
