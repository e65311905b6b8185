"""Deep reading and memory, end to end: `queue add` then `cycle --action deep-read` against
loopback arXiv (API, HTML, PDF) and LLM servers; the note, the knowledge graph, the queue after.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from agent.models import Paper
from agent.notes import escape_md
from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl
from tests.cli import run_cli
from tests.fakes.fulltext_server import make_latexml_html, make_pdf
from tests.fakes.openai_server import prompt_text
from tests.repo import git

SECRET = "sk-test-deep-read-0123456789abcdef"

NOW = datetime.now(UTC)
NEURONS = Paper(
    id="2602.15307",
    version=1,
    title="What Do Neurons Listen To? A Neuron-level Dissection of a General-purpose Audio Model",
    abstract=(
        "We present the first systematic neuron-level interpretability analysis of a "
        "general-purpose audio self-supervised model. We identify class-specific neurons "
        "from their conditional activation patterns across diverse tasks. The neurons "
        "show shared responses across semantic categories and acoustic similarities."
    ),
    authors=("Takuya Kawamura", "Daisuke Niizumi", "Nobutaka Ono"),
    categories=("eess.AS", "cs.SD"),
    published=NOW - timedelta(days=2),
    updated=NOW,
    comment="Accepted at EUSIPCO 2026",
)
# Sentences that exist only in the full text, never in the abstract.
RESULT_ONLY_IN_FULL_TEXT = (
    "Ablating the top 50 class-specific neurons lowers ESC-50 accuracy "
    "from 94.1% to 61.3%, while random ablations cost under 2 points."
)
METHOD_ONLY_IN_FULL_TEXT = (
    "We rank neurons by the ratio of their mean activation on one class "
    "to their mean activation on all other classes."
)
LIMIT_ONLY_IN_FULL_TEXT = (
    "Our analysis is limited to a single model, M2D, and we leave "
    "speech-language models for future work."
)
SECTIONS = [
    ("Abstract", NEURONS.abstract),
    (
        "Introduction",
        "Self-supervised audio models are used as general feature extractors, yet it remains "
        "unclear what their individual neurons encode.\n\nWe ask whether class-specific neurons "
        "exist in a general-purpose audio model and whether they matter for classification.",
    ),
    (
        "Method",
        f"We study M2D, a masked modeling duo trained on AudioSet. {METHOD_ONLY_IN_FULL_TEXT} "
        "Neurons above a ratio of 3.0 are called class-specific.",
    ),
    (
        "Results",
        f"Class-specific neurons exist in every layer, with 41% of them in the last four layers. "
        f"{RESULT_ONLY_IN_FULL_TEXT} Shared neurons respond to both speaker gender and musical "
        "pitch.",
    ),
    ("Limitations", f"{LIMIT_ONLY_IN_FULL_TEXT} Causal effects were measured only by ablation."),
    ("References", "A. Author. Sparse autoencoders for audio. 2025.\nB. Writer. M2D. 2024."),
]


def front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


@pytest.fixture
def net(arxiv_server, fulltext_server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The loopback arXiv API knows the paper; HTML and PDF URLs point at the full-text fake."""
    arxiv_server.add_papers([NEURONS])
    monkeypatch.setenv("ARXIV_API_URL", arxiv_server.url)
    monkeypatch.setenv("ARXIV_HTML_URL", fulltext_server.html_url)
    monkeypatch.setenv("ARXIV_PDF_URL", fulltext_server.pdf_url)
    return arxiv_server, fulltext_server


def deep_read(
    workspace: Path, capsys: pytest.CaptureFixture[str], paper_id: str = "2602.15307", *extra: str
) -> str:
    """`queue add ID` then `cycle --action deep-read`; the note's text."""
    added = run_cli(capsys, "queue", "add", paper_id, "-w", str(workspace), *extra)
    assert added.code == 0, added.err
    ran = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "deep-read", *extra)
    assert ran.code == 0, ran.out + ran.err
    assert "committed" in ran.out, ran.out + ran.err
    note = next((workspace / "cycles").rglob("*-deep-read.md"))
    return note.read_text(encoding="utf-8")


def track_section(graph: str, heading: str) -> str:
    """The part of the knowledge graph under one track's heading."""
    start = graph.index(f"## {heading}")
    end = graph.find("\n## ", start + 1)
    return graph[start:] if end < 0 else graph[start:end]


def stored_status(workspace: Path, paper_id: str) -> str | None:
    from agent.config import load_settings
    from agent.store import Store

    with Store(load_settings(workspace).database_url) as store:
        return store.paper_status(paper_id)


def queue_ids(workspace: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    listed = run_cli(capsys, "queue", "--json", "-w", str(workspace))
    assert listed.code == 0, listed.err
    return [item["paper_id"] for item in json.loads(listed.out)]


# --- the full text, by every path -----------------------------------------------------------


def test_deep_read_of_the_html_quotes_the_full_text_and_commits_the_graph_with_the_note(
    workspace: Path,
    net,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    _, fulltext = net
    fulltext.add_html("2602.15307v1", make_latexml_html(NEURONS.title, SECTIONS))
    note = deep_read(workspace, capsys)

    for sentence in (RESULT_ONLY_IN_FULL_TEXT, METHOD_ONLY_IN_FULL_TEXT, LIMIT_ONLY_IN_FULL_TEXT):
        assert sentence not in NEURONS.abstract
        assert escape_md(sentence) in note, sentence
    assert fulltext.requests == ["/html/2602.15307v1"]  # the HTML was enough: no PDF asked
    assert "**Read from**: the HTML full text (" in note and "6 sections)" in note
    assert "> **Note**: Read the HTML" not in note  # the Read-from line says it; no notice
    assert "Clutter" not in note
    meta = front_matter(note)
    assert meta["action"] == "deep-read" and meta["papers"] == ["2602.15307"]
    assert "audio-interpretability" in meta["tracks"]

    changed = set(git(workspace, "show", "--name-only", "--format=", "HEAD").split())
    assert "state/knowledge-graph.md" in changed
    assert any(path.endswith("0001-deep-read.md") for path in changed)
    graph = git(workspace, "show", "HEAD:state/knowledge-graph.md")
    track = track_section(graph, "Mechanistic interpretability of audio models (priority 4)")
    assert "[arXiv:2602.15307](https://arxiv.org/abs/2602.15307)" in track
    assert "2602.15307" in graph.split("## Read in full", 1)[1]
    assert git(workspace, "status", "--porcelain", "--", "cycles", "state") == ""

    assert queue_ids(workspace, capsys) == []
    assert stored_status(workspace, "2602.15307") == "read"


def test_html_missing_the_pdf_gives_the_same_reading(
    workspace: Path,
    net,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    _, fulltext = net
    numbered = [("ABSTRACT", NEURONS.abstract)] + [
        (f"{i} {title}" if title != "References" else title, text)
        for i, (title, text) in enumerate(SECTIONS[1:], start=1)
    ]
    fulltext.add_pdf("2602.15307v1", make_pdf(numbered))
    note = deep_read(workspace, capsys)

    assert fulltext.requests == ["/html/2602.15307v1", "/pdf/2602.15307v1"]
    assert escape_md(RESULT_ONLY_IN_FULL_TEXT) in note
    assert escape_md(METHOD_ONLY_IN_FULL_TEXT) in note
    assert "**Read from**: the PDF (" in note
    assert "HTML not available (404); read the PDF (6 sections)." in note
    assert stored_status(workspace, "2602.15307") == "read"


def test_without_html_or_pdf_the_note_says_it_read_the_abstract_only(
    workspace: Path,
    net,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    note = deep_read(workspace, capsys)

    assert "**Read from**: the abstract only" in note
    assert "HTML not available (404); PDF not available (404); fell back to the abstract." in note
    assert "Only the abstract of arXiv:2602.15307 was read" in note  # in Next
    assert escape_md(RESULT_ONLY_IN_FULL_TEXT) not in note
    assert escape_md("We identify class-specific neurons") in note  # it did read the abstract
    assert queue_ids(workspace, capsys) == []


def test_a_refused_body_is_named_in_the_note(
    workspace: Path,
    net,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    settings = workspace / "research.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        text.replace("# max_bytes = 26214400", "max_bytes = 20000"), encoding="utf-8"
    )
    _, fulltext = net
    huge = SECTIONS + [("Appendix", "Padding that makes the page too big. " * 1000)]
    fulltext.add_html("2602.15307v1", make_latexml_html(NEURONS.title, huge))
    fulltext.set_response("/pdf/2602.15307v1", 200, "<html>a login page</html>", "application/pdf")
    note = deep_read(workspace, capsys)

    assert "HTML is larger than the limit of 20000 bytes" in note
    assert "PDF is not a PDF (it does not start with %PDF-)" in note
    assert "**Read from**: the abstract only" in note
    assert escape_md(RESULT_ONLY_IN_FULL_TEXT) not in note
    assert "login page" not in note


@pytest.fixture
def llm_reads_html(net, openai_server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The LLM analyst (the loopback OpenAI server, returned) and the paper's HTML full text."""
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    _, fulltext = net
    fulltext.add_html("2602.15307v1", make_latexml_html(NEURONS.title, SECTIONS))
    return openai_server


def test_the_llm_analyst_is_sent_the_sections(
    workspace: Path, llm_reads_html, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    note = deep_read(workspace, capsys)

    prompts = [prompt_text(request) for request in llm_reads_html.requests]
    assert any(METHOD_ONLY_IN_FULL_TEXT in p for p in prompts)
    assert any(RESULT_ONLY_IN_FULL_TEXT in p and "Limitations" in p for p in prompts)
    assert not any("Clutter" in p for p in prompts)
    meta = front_matter(note)
    assert meta["analyst"] == "llm" and meta["tokens_in"] > 0
    assert "**Read from**: the HTML full text" in note
    assert "Offline analyst" not in note and SECRET not in note
    assert stored_status(workspace, "2602.15307") == "read"


def test_the_llm_reads_parts_as_large_as_fulltext_section_tokens(
    workspace: Path, llm_reads_html, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    """`[fulltext] section_tokens` sizes each map step: small parts, one call each."""
    config = workspace / "research.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("# section_tokens = 3000", "section_tokens = 100"), "utf-8")
    deep_read(workspace, capsys)

    maps = [p for p in map(prompt_text, llm_reads_html.requests) if "notes on part " in p]
    assert len(maps) > 2, maps  # at the default 3000 tokens this paper is one part
    assert any(f"part {len(maps)} of {len(maps)} of one paper" in p for p in maps)


@pytest.mark.disable_socket
def test_a_sample_paper_is_read_offline_from_its_abstract(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paper = next(p for p in read_papers_jsonl(SAMPLE_PATH) if p.primary_category == "eess.AS")
    note = deep_read(workspace, capsys, paper.id, "--source", "sample")

    assert "The sample replay runs offline: only the abstract was read." in note
    assert "**Read from**: the abstract only" in note
    assert front_matter(note)["papers"] == [paper.id]
    assert stored_status(workspace, paper.id) == "read"


def test_the_queue_left_after_a_deep_read_is_in_the_next_section(
    workspace: Path,
    net,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    arxiv, _ = net
    arxiv.add_papers([SPEECH_NEURONS])
    assert (
        run_cli(
            capsys, "queue", "add", SPEECH_NEURONS.id, "--priority", "2", "-w", str(workspace)
        ).code
        == 0
    )
    note = deep_read(workspace, capsys)  # 2602.15307 at priority 3 goes first

    assert queue_ids(workspace, capsys) == [SPEECH_NEURONS.id]
    next_part = note.split("## Next", 1)[1]
    assert "Must-read queue: 1 waiting" in next_part and SPEECH_NEURONS.id in next_part
    assert "The must-read queue is empty." not in next_part


# --- memory and the knowledge graph ---------------------------------------------------------


SPEECH_NEURONS = Paper(
    id="2603.01234",
    version=1,
    title="Class-specific Neurons in Whisper: a Neuron-level Interpretability Study",
    abstract=(
        "We present a neuron-level interpretability analysis of Whisper. We identify "
        "class-specific neurons from conditional activation patterns, and show that "
        "ablating 50 of them reduces speaker classification accuracy by 30 points."
    ),
    authors=("Ada Lovelace", "Alan Turing"),
    categories=("eess.AS", "cs.CL"),
    published=NOW - timedelta(hours=3),
    updated=NOW - timedelta(hours=3),
)


def test_a_later_learn_note_recalls_the_paper_read_earlier(
    workspace: Path,
    net,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    arxiv, fulltext = net
    fulltext.add_html("2602.15307v1", make_latexml_html(NEURONS.title, SECTIONS))
    deep_read(workspace, capsys)  # cycle 1
    arxiv.add_papers([SPEECH_NEURONS])
    for action in ("scan", "learn"):  # cycles 2 and 3
        ran = run_cli(capsys, "cycle", "-w", str(workspace), "--action", action)
        assert ran.code == 0 and "committed" in ran.out, ran.out + ran.err
    note = next((workspace / "cycles").rglob("0003-learn.md")).read_text(encoding="utf-8")

    assert SPEECH_NEURONS.id in front_matter(note)["papers"]
    related = note.split("**Related earlier papers**", 1)[1]
    assert re.search(r"arXiv:2602\.15307\]\([^)]*\) \(cycle 1\)", related)
    assert "2602.15307 (cycle 1)" in note.split("## Field update", 1)[1]

    # and a deep read of the new paper (cycle 4) relates it to the one read in cycle 1
    assert run_cli(capsys, "queue", "add", SPEECH_NEURONS.id, "-w", str(workspace)).code == 0
    ran = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "deep-read")
    assert ran.code == 0 and "committed" in ran.out, ran.out + ran.err
    note = next((workspace / "cycles").rglob("0004-deep-read.md")).read_text(encoding="utf-8")
    related = note.split("**Related earlier papers**", 1)[1].split("##", 1)[0]
    assert re.search(r"arXiv:2602\.15307\]\([^)]*\) \(cycle 1\)", related)


def fill_store(workspace: Path, count: int) -> None:
    """`count` summarised papers, each relevant to every track (a long-running workspace)."""
    from agent.config import load_settings
    from agent.models import Match
    from agent.store import Store

    tracks = ("listen-vs-guess", "audio-interpretability", "speech-benchmarks")
    papers = [
        Paper(
            id=f"2601.{10000 + i}",
            title=f"Filler paper {i} " + "long title " * 30,
            abstract="An abstract. " * 50,
            categories=("cs.SD",),
            published=NOW - timedelta(days=1),
        )
        for i in range(count)
    ]
    with Store(load_settings(workspace).database_url) as store, store.transaction():
        store.upsert_papers(papers, cycle=0)
        store.save_matches(
            Match(p.id, t, 0.5 + 0.3 * i / count, True, ("neuron",))
            for i, p in enumerate(papers)
            for t in tracks
        )
        store.set_status([p.id for p in papers], "summarized")
        for p in papers:
            store.save_analysis(
                p.id,
                0,
                "summary",
                {
                    "paper_id": p.id,
                    "headline": "A headline that goes on. " * 40,
                    "key_findings": [],
                    "gap": f"Gap {p.id} " + "that is long. " * 40,
                    "connections": [],
                    "tags": [],
                },
            )


def test_the_knowledge_graph_stays_small_with_many_papers(
    workspace: Path,
    net,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    fill_store(workspace, 300)
    _, fulltext = net
    fulltext.add_html("2602.15307v1", make_latexml_html(NEURONS.title, SECTIONS))
    deep_read(workspace, capsys)

    graph = (workspace / "state" / "knowledge-graph.md").read_text(encoding="utf-8")
    assert len(graph.encode()) < 60_000
    entries = [line for line in graph.splitlines() if line.startswith("- [arXiv:")]
    assert len(entries) <= 3 * 16 + 30  # per track 8 core + 8 related; 30 read in full
    track = track_section(graph, "Mechanistic interpretability of audio models (priority 4)")
    assert "arXiv:2602.15307" in track  # the best-scoring paper still makes the cut
    assert max(len(line) for line in graph.splitlines()) < 800
