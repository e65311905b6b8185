"""Wall time and peak memory of triage: 2k, 20k and 100k papers against 5 tracks.

    python bench/triage_speed.py            # all sizes, each in a fresh process
    python bench/triage_speed.py 20000      # one size

Larger sets are the bundled sample resampled with new ids and lightly perturbed abstracts (a
sentence dropped, sentences shuffled), so they are not 4,943 papers repeated verbatim.
"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.models import Paper, Track  # noqa: E402
from agent.rank import triage  # noqa: E402
from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl  # noqa: E402

SIZES = (2_000, 20_000, 100_000)
TRACKS = [
    Track("hallucination", "Hallucination in speech LLMs", "Why audio language models "
          "hallucinate sounds and words that are not there.", ("audio hallucination",
          "speech LLM", "large audio language model"), 5, categories=("cs.SD", "eess.AS")),
    Track("asr", "Low-resource speech recognition", "ASR for languages with little data.",
          ("low-resource ASR", "dialect", "code-switching"), 4),
    Track("agents", "LLM agents with tools", "Agents that call tools and APIs.",
          ("tool use", "function calling", "LLM agent"), 3, exclude=("survey",)),
    Track("music", "Music generation", "Generating music and evaluating it.",
          ("text-to-music", "symbolic music"), 3),
    Track("duplex", "Full-duplex dialogue", "Spoken dialogue that listens while speaking.",
          ("full-duplex", "turn-taking", "backchannel"), 5),
]


def synthesise(papers: list[Paper], n: int, seed: int = 7) -> list[Paper]:
    """`n` papers drawn from `papers`, with new ids and shuffled abstract sentences."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        base = papers[i % len(papers)] if i < len(papers) else rng.choice(papers)
        if i < len(papers):
            out.append(base)
            continue
        sentences = base.abstract.split(". ")
        if len(sentences) > 2:
            sentences.pop(rng.randrange(len(sentences)))
            rng.shuffle(sentences)
        out.append(replace(base, id=f"9{i:08d}", abstract=". ".join(sentences)))
    return out


def measure(n: int) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one triage of `n` papers, data loading excluded."""
    papers = synthesise(read_papers_jsonl(SAMPLE_PATH), n)
    start = time.perf_counter()
    result = triage(TRACKS, papers, top=50)
    seconds = time.perf_counter() - start
    assert all(len(v) == 50 for v in result.values())
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Run each size in its own process (so peak RSS is that size's) and print a table."""
    if len(sys.argv) > 1:
        seconds, peak = measure(int(sys.argv[1]))
        print(f"{seconds:.3f} {peak:.0f}")
        return
    print(f"{'papers':>8} {'tracks':>6} {'seconds':>8} {'peak RSS MiB':>13}")
    for n in SIZES:
        out = subprocess.run([sys.executable, __file__, str(n)], capture_output=True, text=True,
                             check=True).stdout.split()
        print(f"{n:>8} {len(TRACKS):>6} {float(out[0]):>8.2f} {float(out[1]):>13.0f}")


if __name__ == "__main__":
    main()
