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
from agent.rank.text import STOP_WORDS, fold, is_break, stem

CHUNK = 4096  # papers tokenized at a time
WORD_BITS = 21  # up to 2M distinct stems
DOC_BITS = 21  # up to 2M papers in one index
DOC_MASK = (1 << DOC_BITS) - 1


BREAK = -2  # id of a punctuation mark between segments
STOP = -1  # id of a stop word
FIELD_END_ID = -3  # id of the mark put after every title and abstract of a chunk
FIELD_END = "\x00"
BREAK_MARK = b"\x01"


def _tables() -> tuple[bytes, bytes]:
    """Byte tables for the tokenizer: the same tokens as text.TOKEN_OR_BREAK_RE, in C.

    First pass: words stay, whitespace becomes a space, punctuation that ends a segment becomes
    the break mark, a hyphen stays (" - " is a break, "text-to-speech" is not), the rest is a
    space. Second pass: the hyphens left become spaces.
    """
    first = bytearray(b" " * 256)
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789-\x00":
        first[c] = c
    for c in b".;:,!?()[]{}\"|/":
        first[c] = BREAK_MARK[0]
    second = bytearray(range(256))
    second[ord("-")] = ord(" ")
    return bytes(first), bytes(second)


FIRST_PASS, SECOND_PASS = _tables()


class Vocabulary:
    """Ids of stems, shared by every index of the process so features line up."""

    def __init__(self) -> None:
        # raw token (ASCII bytes) -> stem id, STOP, BREAK or FIELD_END_ID
        self.ids: dict[bytes, int] = {FIELD_END.encode(): FIELD_END_ID, BREAK_MARK: BREAK}
        self.stem_ids: dict[str, int] = {}
        self.stems: list[str] = []
        self.lock = threading.Lock()
        self.papers = 0  # papers tokenized with it: what a scan re-reads shows here

    def token_id(self, token: bytes) -> int:
        """The id of a raw lower-case ASCII token (its stem's id, STOP or BREAK)."""
        found = self.ids.get(token)
        if found is not None:
            return found
        with self.lock:
            word = token.decode("ascii")
            if is_break(word):
                found = BREAK
            elif word in STOP_WORDS:
                found = STOP
            else:
                found = self.stem_id(stem(word))
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

    def stem_ids_of(self, words: Sequence[str]) -> np.ndarray:
        """Ids of many already stemmed words (added if new), fast when the vocabulary is empty."""
        with self.lock:
            known = self.stem_ids
            if not known:  # a fresh process: the words become 0..n-1 in one go
                self.stems.extend(words)
                known.update(zip(words, range(len(words)), strict=True))
            for word in words:
                if word not in known:
                    self.stem_id(word)
            return np.fromiter(map(known.__getitem__, words), dtype=np.int32, count=len(words))

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
    return join_tokens(parts, len(papers))


def join_tokens(parts: Sequence[Tokens], n_docs: int) -> Tokens:
    """One Tokens of consecutive chunks."""
    if not parts:
        empty = np.zeros(0, dtype=np.int32)
        return Tokens(empty, empty, empty.astype(np.int8), empty, n_docs)
    return Tokens(
        np.concatenate([p.words for p in parts]),
        np.concatenate([p.docs for p in parts]),
        np.concatenate([p.fields for p in parts]),
        np.concatenate([p.segments for p in parts]),
        n_docs,
    )


def _tokenize_chunk(papers: Sequence[Paper], first_doc: int, vocabulary: Vocabulary) -> Tokens:
    """Tokens of a few papers: two byte-table passes and one split over all their text, each
    distinct word looked up once (a word seen in an earlier chunk costs one dict lookup)."""
    vocabulary.papers += len(papers)
    texts = [fold(text) for paper in papers for text in (paper.title, paper.abstract)]
    joined = FIELD_END.join(texts) + FIELD_END
    if joined.count(FIELD_END) != len(texts):  # a NUL inside a title: untrusted text
        joined = FIELD_END.join(t.replace(FIELD_END, " ") for t in texts) + FIELD_END
    data = joined.encode("ascii").translate(FIRST_PASS)  # fold() leaves only ASCII
    data = data.replace(b" - ", b" \x01 ").translate(SECOND_PASS)
    tokens = data.replace(b"\x01", b" \x01 ").replace(b"\x00", b" \x00 ").split()
    known = vocabulary.ids
    for token in set(tokens).difference(known):
        vocabulary.token_id(token)
    flat = np.fromiter(map(known.__getitem__, tokens), dtype=np.int32, count=len(tokens))
    ends = flat == FIELD_END_ID
    text_of = np.cumsum(ends, dtype=np.int32) - ends
    breaks = (flat == BREAK) | ends
    segment = np.cumsum(breaks, dtype=np.int32) - breaks  # pairs also need the same paper
    keep = flat >= 0
    return Tokens(
        flat[keep],
        (text_of[keep] // 2 + first_doc).astype(np.int32),
        (text_of[keep] % 2).astype(np.int8),
        segment[keep],  # pairs also need the same paper, so chunks may reuse numbers
        len(papers),
    )


class Index:
    """Postings of word and wanted-pair features of a set of papers, with field lengths.

    With `only` (sorted feature keys), just those features are kept: ranking needs the postings
    of the queries' words and pairs, not of every word of 100k papers.
    """

    def __init__(
        self, tokens: Tokens, pairs: Iterable[int] = (), only: np.ndarray | None = None
    ) -> None:
        self._build([tokens], tokens.n_docs, pairs, only)

    @classmethod
    def of_papers(
        cls,
        papers: Sequence[Paper],
        pairs: Iterable[int] = (),
        only: np.ndarray | None = None,
        vocabulary: Vocabulary = VOCABULARY,
    ) -> Index:
        """The index of `papers`, tokenized a chunk at a time (their tokens are not kept)."""
        index = cls.__new__(cls)
        chunks = (
            _tokenize_chunk(papers[start : start + CHUNK], start, vocabulary)
            for start in range(0, len(papers), CHUNK)
        )
        index._build(chunks, len(papers), pairs, only)
        return index

    def _build(
        self,
        chunks: Iterable[Tokens],
        n_docs: int,
        pairs: Iterable[int],
        only: np.ndarray | None,
        words: bool = True,
    ) -> None:
        wanted_pairs = np.asarray(sorted(set(pairs)), dtype=np.int64)
        self.n_docs = n_docs
        self.len_title = np.zeros(n_docs, dtype=np.int64)
        self.len_abstract = np.zeros(n_docs, dtype=np.int64)
        composites, titles = [], []
        for tokens in chunks:
            keys, docs, fields = _features(tokens, wanted_pairs, words)
            if only is not None:
                keep = _member(keys, only)
                keys, docs, fields = keys[keep], docs[keep], fields[keep]
            composites.append((keys << DOC_BITS) | docs)
            titles.append(fields == 0)
            title_words = tokens.fields == 0
            self.len_title += np.bincount(tokens.docs[title_words], minlength=n_docs)
            self.len_abstract += np.bincount(tokens.docs[~title_words], minlength=n_docs)
        if not composites:
            composites, titles = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=bool)]
        composite, inverse = np.unique(np.concatenate(composites), return_inverse=True)
        is_title = np.concatenate(titles)
        del composites, titles
        self.keys = composite >> DOC_BITS
        self.docs = (composite & DOC_MASK).astype(np.int32)
        del composite
        n = len(self.keys)
        self.tf_title = np.bincount(inverse, weights=is_title, minlength=n).astype(np.float32)
        self.tf_abstract = np.bincount(inverse, weights=~is_title, minlength=n).astype(np.float32)

    def with_pairs(self, tokens: Tokens, pairs: Iterable[int]) -> Index:
        """This word-only index of `tokens` plus the postings of the wanted word pairs."""
        both = Index.__new__(Index)
        paired = Index.__new__(Index)
        paired._build([tokens], tokens.n_docs, pairs, None, words=False)
        # pair keys are above every word key: appending keeps the entries sorted by key
        both.n_docs = self.n_docs
        both.len_title, both.len_abstract = self.len_title, self.len_abstract
        for name in ("keys", "docs", "tf_title", "tf_abstract"):
            setattr(both, name, np.concatenate([getattr(self, name), getattr(paired, name)]))
        return both

    def remapped(self, new_ids: np.ndarray) -> Index:
        """The same word-only index with word i renamed new_ids[i] (entries re-sorted)."""
        if np.array_equal(new_ids, np.arange(len(new_ids))):
            return self
        moved = Index.__new__(Index)
        moved.n_docs, moved.len_title, moved.len_abstract = (
            self.n_docs, self.len_title, self.len_abstract,
        )
        keys = new_ids[self.keys].astype(np.int64)
        order = np.argsort(keys, kind="stable")  # papers stay in order within a word
        moved.keys = keys[order]
        moved.docs, moved.tf_title, moved.tf_abstract = (
            self.docs[order], self.tf_title[order], self.tf_abstract[order],
        )
        return moved

    def postings(self, key: int) -> slice:
        """The entry range of one feature."""
        start = int(np.searchsorted(self.keys, key, "left"))
        return slice(start, int(np.searchsorted(self.keys, key, "right")))

    def word_entries(self) -> np.ndarray:
        """Mask of the entries that are single words (not pairs)."""
        return self.keys < (1 << WORD_BITS)


def _features(
    tokens: Tokens, pairs: np.ndarray, with_words: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys, papers and fields of every word (unless not `with_words`) and every wanted pair."""
    words = tokens.words.astype(np.int64)
    keys, docs, fields = [], [], []
    if with_words:
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
    if not keys:
        return words[:0], words[:0], tokens.fields[:0]
    return np.concatenate(keys), np.concatenate(docs), np.concatenate(fields)


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Mask of the `keys` found in the sorted array `sorted_keys`."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    found: np.ndarray = sorted_keys[at] == keys
    return found
