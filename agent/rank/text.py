"""Text analysis for ranking: tokens, a light English stemmer, stop words and phrases.

Phrases matter more than words here: "speech LLM" is a track, "speech" and "LLM" are half of
arXiv. So text is cut into segments at punctuation and stop words are dropped inside a segment,
which lets "text-to-speech" and "text to speech" both become the pair (text, speech).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# A word, or a mark that ends a segment (so pairs never span "speech. LLMs ...")
TOKEN_OR_BREAK_RE = re.compile(r"[a-z0-9]+|[.;:,!?()\[\]{}\"\u2013\u2014|/]|\s-\s")

STOP_WORDS = frozenset(
    """a about above across after again against all almost along already also although always am
    among an and another any anyone anything are around as at be because been before being below
    between both but by can cannot could did do does doing done down during each either else
    enough etc even ever every for from further had has have having he her here hers herself him
    himself his how however i if in into is it its itself just least less let like many may me
    might more most much must my myself neither no nor not now of off often on once one only onto
    or other others otherwise our ours ourselves out over own per perhaps rather same several
    shall she should since so some such than that the their theirs them themselves then there
    thereby therefore these they this those though through thus to together too toward towards
    under until up upon us very via was we were what whatever when where whereas whether which
    while who whom whose why will with within without would yet you your yours yourself
    yourselves s t e g i.e e.g ie eg vs""".split()
)

# Suffixes removed to fold inflections; derivations stay apart ("general" != "generation").
_SUFFIX_RULES: tuple[tuple[str, str], ...] = (
    ("izations", "ize"),
    ("isations", "ize"),
    ("ization", "ize"),
    ("isation", "ize"),
    ("ational", "ate"),
    ("ations", "ate"),
    ("ation", "ate"),
    ("nesses", "ness"),
    ("ities", "ity"),
    ("izing", "ize"),
    ("ising", "ize"),
    ("ized", "ize"),
    ("ised", "ize"),
    ("izes", "ize"),
    ("ises", "ize"),
    ("ise", "ize"),
    ("ements", "e"),  # "judgements" -> "judge", as Porter's -ment step
    ("ement", "e"),
    ("ments", ""),  # "judgments", "assessments" -> "judg", "assess"
    ("ment", ""),
)
_VOWEL_RE = re.compile(r"[aeiouy]")
_DOUBLE_RE = re.compile(r"([b-df-hj-np-tv-z])\1$")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light stem of a lower-case word: plurals, -ed, -ing, -ation, -ment and a final e folded."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in _SUFFIX_RULES:
        if word.endswith(suffix) and len(word) - len(suffix) >= (4 if "ment" in suffix else 3):
            word = word[: -len(suffix)] + replacement
            break
    word = _strip_plural(word)
    word = _strip_verb_ending(word)
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _strip_plural(word: str) -> str:
    """Fold plural endings ("models" -> "model", "studies" -> "study")."""
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "as")) and len(word) > 3:
        return word[:-1]
    return word


def _strip_verb_ending(word: str) -> str:
    """Fold -ed and -ing ("encoded", "encoding" -> "encod"; "running" -> "run")."""
    for suffix in ("ing", "ed"):
        if word.endswith(suffix):
            base = word[: -len(suffix)]
            if len(base) < 3 or not _VOWEL_RE.search(base):
                return word
            # "modelling" -> "model", but "calling" -> "call"
            if (
                _DOUBLE_RE.search(base)
                and not base.endswith(("ss", "zz"))
                and (not base.endswith("ll") or len(base) > 5)
            ):
                base = base[:-1]
            return base
    return word


def fold(text: str) -> str:
    """Lower-case ASCII form of `text` ("Fréchet" -> "frechet")."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def is_break(token: str) -> bool:
    """True for a punctuation mark that ends a segment."""
    return not token[-1].isalnum()


def segments(text: str) -> list[list[str]]:
    """Stemmed content words of `text`, grouped in segments between punctuation marks."""
    result: list[list[str]] = [[]]
    for token in TOKEN_OR_BREAK_RE.findall(fold(text)):
        if is_break(token):
            result.append([])
        elif token not in STOP_WORDS:
            result[-1].append(stem(token))
    return [words for words in result if words]


def terms_of(text: str) -> list[str]:
    """Stemmed content words of `text`, in order."""
    return [w for segment in segments(text) for w in segment]
