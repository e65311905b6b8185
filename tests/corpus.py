"""Papers and tracks that several test files share (test files never import one another)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from agent.models import Paper, Track
from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl

SECRET = "sk-test-0123456789abcdefghijklmnop"


def audio_papers(count: int = 40) -> list[Paper]:
    """Real papers from the bundled sample, re-dated as if announced this week."""
    papers = [
        p for p in read_papers_jsonl(SAMPLE_PATH) if p.primary_category in ("cs.SD", "eess.AS")
    ][:count]
    now = datetime.now(UTC)
    return [
        dataclasses.replace(p, published=now - timedelta(hours=i), updated=now)
        for i, p in enumerate(papers)
    ]


FILLER = [
    ("Graph neural networks for molecule property prediction",
     "We train message passing networks on molecular graphs and predict solubility."),
    ("A survey of reinforcement learning for robotics",
     "We review policy gradient methods and simulation to real transfer for robot arms."),
    ("Speech enhancement with diffusion models",
     "A diffusion model removes noise from speech recordings and improves perceptual quality."),
    ("Large language models for code generation",
     "We evaluate large language models that write Python programs from descriptions."),
    ("Machine translation for African languages",
     "We collect parallel text and train translation systems for ten African languages."),
    ("Speaker verification under domain shift",
     "Speaker embeddings degrade on new microphones; we adapt them with few labels."),
    ("Text classification with small language models",
     "Compact language models classify news text nearly as well as large ones."),
    ("Music source separation with transformers",
     "A transformer separates vocals, drums and bass from mixed music recordings."),
    ("Retrieval augmented generation for question answering",
     "A retriever supplies passages to a language model which answers questions."),
    ("Emotion recognition from speech",
     "We classify emotions in speech with self-supervised features and prosody."),
    ("Efficient attention for long documents",
     "Sparse attention lets language models read long documents with less memory."),
    ("Benchmarking audio captioning",
     "Audio captioning models describe sound events; we propose a new benchmark."),
]


def paper(pid: str, title: str, abstract: str, categories: tuple[str, ...] = ("cs.CL",)) -> Paper:
    return Paper(id=pid, title=title, abstract=abstract, categories=categories)


BACKGROUND = [paper(f"bg.{i}", t, a) for i, (t, a) in enumerate(FILLER)]

HALLUCINATION = Track(
    id="hallucination",
    name="Hallucination in speech LLMs",
    description="Speech language models that describe sounds or words that are not in the audio.",
    keywords=("speech LLM", "hallucination"),
    priority=5,
)

AGENTS = Track(
    id="agents",
    name="LLM agents that use tools",
    description="Language model agents that call tools and APIs.",
    keywords=("tool use", "function calling"),
    priority=3,
)
