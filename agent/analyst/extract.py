"""Sentence splitting and cue patterns for the offline analyst: it quotes, it never paraphrases."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Words that end with a period without ending the sentence ("e.g.", "et al.", "Fig. 3").
ABBREVIATIONS = frozenset(
    "e.g i.e et al etc vs cf fig figs eq eqs sec secs ref refs approx resp w.r.t no nos dr prof "
    "mr ms st tab tabs incl viz ca ch app appx vol pp ed eds def thm lem prop cor".split()
)
BOUNDARY_RE = re.compile(r"[.!?]+[\"')\]]*\s+")
MAX_SENTENCE = 400  # characters; longer "sentences" are usually run-on extraction noise


def cue(*phrases: str) -> re.Pattern[str]:
    r"""Any of `phrases` (regular expressions) as whole words, in any case: \b(a|b|...)\b."""
    return re.compile(rf"\b({'|'.join(phrases)})\b", re.IGNORECASE)


def either(*patterns: re.Pattern[str]) -> re.Pattern[str]:
    """What any of `patterns` matches, in any case."""
    return re.compile("|".join(p.pattern for p in patterns), re.IGNORECASE)


CONTRIBUTION_RE = re.compile(
    r"\b(we|this (paper|work|study|article|letter)|our (work|paper|study))\b[^.;]{0,60}?"
    r"\b(propose|introduce|present|develop|design|contribute|release)\w*",
    re.IGNORECASE,
)
WEAK_CONTRIBUTION_RE = re.compile(
    r"\b(we|this (paper|work|study|article))\b[^.;]{0,40}?\b(stud|investigat|explor|analy[sz]|"
    r"formulat|describ|examin|report|build|show)\w*",
    re.IGNORECASE,
)
# A number that is a quantity: "10.69%", "8 language pairs"; not "Qwen2", "7B", "GPT-4o", "v1.0".
QUANTITY = r"(?<![A-Za-z\d.\-])\d"
NUMBER_RE = re.compile(QUANTITY)
STRONG_RESULT_RE = either(NUMBER_RE, cue(
    r"outperform\w*", r"achiev\w*", r"surpass\w*", "state-of-the-art", "findings?",
    "(show|shows|showed|shown|find|finds|found|demonstrates?|demonstrated|reveals?|revealed|"
    "observe|observes|observed|confirms?|confirmed) that",
    "we (reveal|find|observe|uncover)",
    r"(our )?results? (show|indicate|suggest|confirm|demonstrate|reveal|offer)\w*",
))
WEAK_RESULT_RE = cue(
    r"improv\w*", "reduc(e|es|ed|ing|tion|tions)", "gains?", r"yield\w*", "increas(e|es|ed|ing)",
    r"significant\w*", "better", "superior", r"effective\w*", r"robust\w*", r"consistent\w*",
)
RESULT_RE = either(STRONG_RESULT_RE, WEAK_RESULT_RE)
STRONG_LIMITATION_RE = cue(
    "limitations?", "limited (to|by)", "future work", "restricted to", "not yet", "caveats?",
    "drawbacks?", "we leave", "left for future", "open questions?", "only (on|for|in|to)",
    "cannot", "can ?not",
    r"remains? (an? )?(open|unclear|challeng\w*|unknown|unsolved|difficult)",
)
WEAK_LIMITATION_RE = cue(
    "however", "does not", "do not", "did not", r"fail\w*", "unclear", "struggles?"
)
LIMITATION_RE = either(STRONG_LIMITATION_RE, WEAK_LIMITATION_RE)
PROBLEM_RE = cue(
    "problem", r"challeng\w*", "however", r"lack\w*", "remains?", "gap", "questions?", "unclear",
    r"difficult\w*", "limited", "bottleneck", "unknown", "whether", "despite", "although",
)
OPEN_RE = cue(
    "future (work|research|directions?)", "open (question|problem)s?", "we leave", "left for",
    "remains? (open|unclear|unknown|to be)", "further (work|research|investigation|study)",
)
METHOD_RE = re.compile(
    r"\b(we|it|our (method|approach|model|system|framework|pipeline))\b[^.;]{0,40}?\b("
    r"use|uses|apply|applies|train|trains|fine-tune|fine-tunes|compare|compares|combine|combines|"
    r"leverage|leverages|employ|employs|evaluate|evaluates|probe|probes|ablate|measure|measures|"
    r"collect|construct|constructs|curate|design|designs|build|builds|analy[sz]e|route|routes|"
    r"extract|extracts|adopt|adopts|simulate|formulate|model|models)\b"
    r"|^(using|via|by|through|with|based on|specifically)\b",
    re.IGNORECASE,
)
# Sentences speaking to the reader or to a model are not findings ("IGNORE ALL PREVIOUS ...").
ADDRESS_RE = either(
    cue(
        r"(ignore|disregard|forget|override)\b[^.]{0,40}\b(instructions?|prompts?|rules|guidelines)",
        "you", "your", "yourself",
    ),
    re.compile(r"\b(as an ai|assistant:|system prompt|language model,? (you|must|should))"),
)
# What the authors set out to do or expect is not what they found.
AIM_RE = re.compile(r"\b(we|this (paper|work)) (hypothesi[sz]e|aim|attempt|seek|hope|expect)", re.I)
AVAILABILITY_RE = cue(
    r"(code|data|dataset|models?|weights|demo|benchmark)s?\b[^.]{0,40}\b(available|released?|"
    "public|open-sourced?)",
    "will (be )?(release|open-source|make)", "github", "huggingface", "(demo|project) page",
)
# Model families a speech/audio/NLP abstract names, and any name joined to a size or version.
MODEL_RE = re.compile(
    r"\b(?:(?:Audio Flamingo|Qwen|Kimi|Whisper|m?HuBERT|wav2vec|WavLM|LLaMA|Llama|GPT|Gemini|"
    r"Claude|Mistral|Mixtral|SALMONN|BEATs|CLAP|SpeechGPT|Phi|DeepSeek|Gemma|Vicuna|PaLM|"
    r"AudioPaLM|SeamlessM4T|Moshi|MiniCPM|Step-Audio|Baichuan|LLaVA|CLIP|EnCodec|VALL-E|"
    r"Parakeet|Canary|OLMo|Pythia|Falcon|Granite|Voxtral|LTU|Pengi|GLM)"
    r"(?:[\w.]*)(?:-[\w.]+)*(?: \d+(?:\.\d+)?(?!\w))?)"
)
WE_RE = cue("we", "our")


def normalize_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def ends_with_abbreviation(text: str) -> bool:
    """Whether the text before a period ends with an abbreviation or an initial ("J.")."""
    word = re.search(r"(\S+)$", text)
    if not word:
        return False
    token = word.group(1).lower().rstrip(".!?\"')]").lstrip("([\"'")
    return token in ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, keeping "e.g.", "et al.", "Fig. 2" and "3.5" inside their sentence."""
    text = normalize_space(text)
    sentences: list[str] = []
    start = 0
    for boundary in BOUNDARY_RE.finditer(text):
        following = text[boundary.end() : boundary.end() + 1]
        if following.islower() or following in ",;:":
            continue
        if ends_with_abbreviation(text[start : boundary.start() + 1]):
            continue
        sentences.append(text[start : boundary.end()].strip())
        start = boundary.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return [s for s in sentences if len(s) > 1]


def trim(sentence: str, limit: int = MAX_SENTENCE) -> str:
    """A sentence cut at a word boundary when it is very long (light trimming)."""
    if len(sentence) <= limit:
        return sentence
    cut = sentence.rfind(" ", 0, limit)
    return sentence[: cut if cut > limit // 2 else limit].rstrip(",;: ") + " …"


def pick(
    sentences: Iterable[str],
    pattern: re.Pattern[str],
    limit: int,
    exclude: Iterable[str] = (),
) -> list[str]:
    """Up to `limit` sentences matching a cue pattern, in text order, without repeats."""
    skip = set(exclude)
    chosen: list[str] = []
    for sentence in sentences:
        if sentence in skip or sentence in chosen or not pattern.search(sentence):
            continue
        chosen.append(sentence)
        if len(chosen) >= limit:
            break
    return chosen


def contribution_sentence(sentences: list[str]) -> str | None:
    """The sentence stating what the paper contributes ("we propose ..."), if any."""
    for pattern in (CONTRIBUTION_RE, WEAK_CONTRIBUTION_RE):
        found = pick(sentences, pattern, 1)
        if found:
            return found[0]
    return None


def model_names(text: str) -> list[str]:
    """Model names an abstract mentions ("Qwen2.5-Omni", "Audio Flamingo 3"), first-seen order."""
    names = [m.rstrip(".,;:") for m in MODEL_RE.findall(text)]
    return [n for n in dict.fromkeys(names) if n][:8]


def slug(term: str) -> str:
    """A tag from a term: lowercase, hyphens for spaces and punctuation."""
    return re.sub(r"[^0-9a-z.+]+", "-", term.lower()).strip("-")
