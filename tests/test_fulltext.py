"""Full-text retrieval against a loopback fake of arxiv.org/html/ and /pdf/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.errors import SourceError, UnknownPaperError
from agent.models import Paper
from agent.settings import ArxivSettings, FulltextSettings
from agent.sources.fulltext import (
    FetchReport,
    RequestSpacer,
    cache_path,
    fetch_full_text_with_report,
    limit_sections,
)
from agent.sources.fulltext_extract import extract_html_sections, split_pdf_text
from tests.fakes.fulltext_server import FulltextServer, make_latexml_html, make_pdf

PAPER = Paper(
    id="2602.15307",
    title="Listening or guessing? Audio grounding in LALMs",
    abstract="We ask whether audio-language models listen or guess.",
    version=1,
)
SECTIONS = [
    ("Abstract", "We ask whether audio-language models listen or guess."),
    ("Introduction", "Models answer from text priors.\n\nWe test this with patching."),
    ("Method", "We patch activations between audio and text streams."),
    ("References", "A. Author. Some paper. 2024.\nB. Writer. Another paper. 2025."),
]
PDF_SECTIONS = [
    ("ABSTRACT", "We ask whether audio-language models listen or guess."),
    ("1 Introduction", "Models answer from text priors. We test this with patching."),
    ("2. Method", "We patch activations between audio and text streams."),
    ("REFERENCES", "[1] A. Author. Some paper. 2024."),
]


class FakeTime:
    """A clock that advances `step` per reading, and a sleep that advances it without waiting."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step
        self.sleeps: list[float] = []

    def clock(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fetch(
    server: FulltextServer,
    cache_dir: Path,
    paper: Paper = PAPER,
    limits: FulltextSettings | None = None,
    time: FakeTime | None = None,
    **kwargs: object,
) -> FetchReport:
    settings = ArxivSettings(html_url=server.html_url, pdf_url=server.pdf_url, delay_seconds=3.0)
    time = time or FakeTime()
    return fetch_full_text_with_report(
        paper,
        settings,
        limits or FulltextSettings(),
        cache_dir,
        spacer=RequestSpacer(settings.delay_seconds, time.clock, time.sleep),
        **kwargs,  # type: ignore[arg-type]
    )


def test_html_keeps_sections_with_titles_and_drops_clutter(fulltext_server, tmp_path):
    fulltext_server.add_html("2602.15307v1", make_latexml_html(PAPER.title, SECTIONS))
    report = fetch(fulltext_server, tmp_path)
    text = report.text
    assert text.source == "html"
    assert text.url == fulltext_server.html_url + "2602.15307v1"
    assert [title for title, _ in text.sections] == [
        "Abstract",
        "1 Introduction",
        "2 Method",
        "References",
    ]
    assert text.sections[1][1] == "Models answer from text priors.\n\nWe test this with patching."
    assert "[1] A. Author. Some paper. 2024." in text.sections[3][1]
    everything = " ".join(f"{title} {body}" for title, body in text.sections)
    assert "Clutter" not in everything and "clutter" not in everything
    assert report.notes == ["read the HTML (4 sections)"]
    assert fulltext_server.requests == ["/html/2602.15307v1"]


def test_latexml_math_subsections_and_footnotes():
    markup = """<html><body><article>
    <section class="ltx_section"><h2 class="ltx_title ltx_title_section">
    <span class="ltx_tag ltx_tag_section">3 </span>Results</h2>
    <div class="ltx_para"><p class="ltx_p">Loss is <math alttext="x^{2}" display="inline">
    <semantics><msup><mi>x</mi><mn>2</mn></msup><annotation encoding="application/x-tex">x^{2}
    </annotation></semantics></math> here<span class="ltx_note ltx_role_footnote">
    <sup class="ltx_note_mark">1</sup><span class="ltx_note_outer"><span class="ltx_note_content">
    A footnote aside.</span></span></span> and <math alttext="{long}"
    >junk</math> too.</p></div>
    <section class="ltx_subsection"><h3 class="ltx_title ltx_title_subsection">3.1 Ablations</h3>
    <div class="ltx_para"><p class="ltx_p">Ablating &amp; patching.</p></div></section>
    </section></article></body></html>""".replace("{long}", "\\sum_{i=1}^{n}" * 10)
    [(title, body)] = extract_html_sections(markup)
    assert title == "3 Results"
    assert "Loss is x^{2} here" in body
    assert "[formula] too." in body
    assert "footnote" not in body and "junk" not in body and "<mi>" not in body
    assert "3.1 Ablations\n\nAblating & patching." in body


def test_long_bibliography_is_truncated_and_kept_last():
    references = "\n".join(f"Author {i}. A paper with a long title number {i}." for i in range(500))
    markup = make_latexml_html("T", [("Introduction", "Text."), ("References", references)])
    sections = extract_html_sections(markup)
    assert sections[-1][0] == "References"
    assert sections[-1][1].endswith("[…]")
    assert len(sections[-1][1]) < 6100


def test_html_404_reads_the_pdf(fulltext_server, tmp_path):
    fulltext_server.add_pdf("2602.15307v1", make_pdf(PDF_SECTIONS))
    report = fetch(fulltext_server, tmp_path)
    assert report.text.source == "pdf"
    assert report.text.url == fulltext_server.pdf_url + "2602.15307v1"
    titles = [title for title, _ in report.text.sections]
    assert titles == ["ABSTRACT", "1 Introduction", "2. Method", "REFERENCES"]
    assert "patch activations" in dict(report.text.sections)["2. Method"]
    assert report.summary == "HTML not available (404); read the PDF (4 sections)"
    assert fulltext_server.requests == ["/html/2602.15307v1", "/pdf/2602.15307v1"]


def test_both_missing_falls_back_to_the_abstract_with_reasons(fulltext_server, tmp_path):
    report = fetch(fulltext_server, tmp_path)
    assert report.text.source == "abstract"
    assert report.text.sections == [("Abstract", PAPER.abstract)]
    assert report.notes == [
        "HTML not available (404)",
        "PDF not available (404)",
        "fell back to the abstract",
    ]
    assert not list(tmp_path.glob("*.json"))  # an abstract is not worth caching


@pytest.mark.parametrize("send_length", [True, False])
def test_oversized_body_is_refused_and_the_next_source_read(fulltext_server, tmp_path, send_length):
    big = make_latexml_html("T", [("Introduction", "word " * 20_000)])
    fulltext_server.set_response(
        "/html/2602.15307v1", 200, big, "text/html", send_length=send_length
    )
    fulltext_server.add_pdf("2602.15307v1", make_pdf(PDF_SECTIONS))
    report = fetch(fulltext_server, tmp_path, limits=FulltextSettings(max_bytes=20_000))
    assert report.text.source == "pdf"
    assert report.notes[0].startswith("HTML is larger than the limit of 20000 bytes")


def test_a_body_that_is_not_a_pdf_is_refused(fulltext_server, tmp_path):
    fulltext_server.set_response(
        "/pdf/2602.15307v1", 200, b"<html>a login page</html>", "application/pdf"
    )
    report = fetch(fulltext_server, tmp_path)
    assert report.text.source == "abstract"
    assert "PDF is not a PDF (it does not start with %PDF-)" in report.notes


def test_wrong_content_type_is_refused(fulltext_server, tmp_path):
    markup = make_latexml_html("T", SECTIONS)
    fulltext_server.set_response("/html/2602.15307v1", 200, markup, "text/plain")
    fulltext_server.set_response(
        "/pdf/2602.15307v1", 200, make_pdf(PDF_SECTIONS), "application/octet-stream"
    )
    report = fetch(fulltext_server, tmp_path)
    assert report.text.source == "abstract"
    assert report.notes[:2] == [
        "HTML has the wrong content type ('text/plain', not text/html)",
        "PDF has the wrong content type ('application/octet-stream', not application/pdf)",
    ]


def test_download_past_the_deadline_is_refused(fulltext_server, tmp_path):
    slow = make_latexml_html("T", [("Introduction", "word " * 400_000)])  # ~30 chunks
    fulltext_server.add_html("2602.15307v1", slow)
    fulltext_server.add_pdf("2602.15307v1", make_pdf(PDF_SECTIONS))  # one chunk: in time
    limits = FulltextSettings(deadline_seconds=10)
    report = fetch(fulltext_server, tmp_path, limits=limits, time=FakeTime(step=1.0))
    assert report.text.source == "pdf"
    assert report.notes[0] == "HTML took longer than the 10 s deadline"


def test_cached_text_is_reused_without_network(fulltext_server, tmp_path):
    fulltext_server.add_html("2602.15307v1", make_latexml_html(PAPER.title, SECTIONS))
    first = fetch(fulltext_server, tmp_path)
    assert (tmp_path / "2602.15307v1.json").exists()
    fulltext_server.requests.clear()
    fulltext_server.responses.clear()  # arXiv now has nothing: only the cache can answer
    second = fetch(fulltext_server, tmp_path)
    assert fulltext_server.requests == []
    assert second.text == first.text
    assert second.notes == ["read the cached HTML text"]


def test_unreadable_cache_is_fetched_again(fulltext_server, tmp_path):
    (tmp_path / "2602.15307v1.json").write_text("{not json", encoding="utf-8")
    fulltext_server.add_html("2602.15307v1", make_latexml_html(PAPER.title, SECTIONS))
    report = fetch(fulltext_server, tmp_path)
    assert report.text.source == "html"
    assert fulltext_server.requests == ["/html/2602.15307v1"]


def test_old_style_id_is_fetched_and_cached_inside_cache_dir(fulltext_server, tmp_path):
    paper = Paper(id="hep-th/9901001", title="Old", abstract="Strings.", version=2)
    fulltext_server.add_html("hep-th/9901001v2", make_latexml_html("Old", SECTIONS))
    cache_dir = tmp_path / "cache"
    text = fetch(fulltext_server, cache_dir, paper=paper).text
    assert text.source == "html"
    assert [p.name for p in cache_dir.iterdir()] == ["hep-th_9901001v2.json"]


@pytest.mark.parametrize(
    "hostile", ["../../etc/passwd", "2602.15307/../../x", "/etc/passwd", "..", "2602.15307\n"]
)
def test_hostile_id_cannot_escape_cache_dir(fulltext_server, tmp_path, hostile):
    cache_dir = tmp_path / "cache"
    paper = Paper(id=hostile, title="x", abstract="x")
    with pytest.raises(UnknownPaperError, match="not an arXiv id"):
        fetch(fulltext_server, cache_dir, paper=paper)
    assert fulltext_server.requests == []
    assert list(tmp_path.iterdir()) == []
    assert cache_path(cache_dir, "math.GT/0309136", 1).parent == cache_dir


def test_requests_are_spaced_through_the_injected_sleep(fulltext_server, tmp_path):
    fulltext_server.add_pdf("2602.15307v1", make_pdf(PDF_SECTIONS))
    time = FakeTime()
    fetch(fulltext_server, tmp_path, time=time)
    assert len(fulltext_server.requests) == 2
    assert time.sleeps == [3.0]  # none before the first request, the full delay before the PDF


def test_a_shared_rate_limiter_spaces_requests_across_papers(fulltext_server, tmp_path):
    other = Paper(id="2602.00001", title="Other", abstract="Other.")
    fulltext_server.add_html("2602.15307v1", make_latexml_html("A", SECTIONS))
    fulltext_server.add_html("2602.00001v1", make_latexml_html("B", SECTIONS))
    time = FakeTime()
    spacer = RequestSpacer(3.0, time.clock, time.sleep)
    settings = ArxivSettings(html_url=fulltext_server.html_url, pdf_url=fulltext_server.pdf_url)
    for paper in (PAPER, other):
        fetch_full_text_with_report(
            paper, settings, FulltextSettings(), tmp_path, spacer=spacer
        )
    assert time.sleeps == [3.0]


def test_transient_pdf_failure_raises_a_retryable_source_error(fulltext_server, tmp_path):
    fulltext_server.set_response("/pdf/2602.15307v1", 503, "busy", "text/plain")
    with pytest.raises(SourceError) as raised:
        fetch(fulltext_server, tmp_path)
    assert raised.value.retryable
    assert "PDF not available (arXiv answered 503)" in str(raised.value)
    assert not list(tmp_path.glob("*.json"))


def test_redirect_on_the_same_host_is_followed(fulltext_server, tmp_path):
    fulltext_server.set_response(
        "/html/2602.15307v1", 301, "", "text/html", headers={"Location": "/html/2602.15307v1/"}
    )
    markup = make_latexml_html(PAPER.title, SECTIONS)
    fulltext_server.set_response("/html/2602.15307v1/", 200, markup, "text/html")
    report = fetch(fulltext_server, tmp_path)
    assert report.text.source == "html"
    assert fulltext_server.requests == ["/html/2602.15307v1", "/html/2602.15307v1/"]


def test_redirect_to_another_host_is_not_followed(fulltext_server, tmp_path):
    fulltext_server.set_response(
        "/html/2602.15307v1", 302, "", "text/html", headers={"Location": "http://evil.test/x"}
    )
    fulltext_server.add_pdf("2602.15307v1", make_pdf(PDF_SECTIONS))
    report = fetch(fulltext_server, tmp_path)
    assert report.text.source == "pdf"
    assert report.notes[0] == "HTML redirected off 127.0.0.1 (not followed)"


def test_pdf_text_is_split_at_heading_lines():
    text = "\n".join(
        [
            "Listening or Guessing",
            "arXiv:2602.15307v1 [cs.CL] 17 Feb 2026",
            "Abstract—We ask whether models listen.",
            "I. INTRODUCTION",
            "Models answer from priors and the effect is approxi-",
            "mately linear. As shown in Table",
            "2 The results below",  # a wrapped sentence, not section 2
            "7",  # a page number
            "II. RELATED WORK",
            "Prior work.",
            "REFERENCES",
            "[1] A. Author.",
        ]
    )
    sections = split_pdf_text(text)
    assert [title for title, _ in sections] == [
        "Front matter",
        "Abstract",
        "I. INTRODUCTION",
        "II. RELATED WORK",
        "REFERENCES",
    ]
    introduction = dict(sections)["I. INTRODUCTION"]
    assert "approximately linear" in introduction
    assert "2 The results below" in introduction and "\n7" not in introduction
    assert dict(sections)["Abstract"] == "We ask whether models listen."
    assert "arXiv:" not in sections[0][1]


def test_limit_sections_merges_the_overflow_without_losing_text():
    sections = [(f"{i} S", f"text {i}") for i in range(1, 6)]
    limited = limit_sections(sections, 3)
    assert [title for title, _ in limited] == ["1 S", "2 S", "3 S"]
    assert "4 S\ntext 4" in limited[2][1] and "text 5" in limited[2][1]


def test_a_trickled_html_fails_by_the_deadline_and_the_pdf_is_read(fulltext_server, tmp_path):
    # one byte every 50 ms: ~minutes for the page; only a total deadline per request ends it
    page = make_latexml_html("T", SECTIONS)
    fulltext_server.set_response(
        "/html/2602.15307v1", 200, page, "text/html; charset=utf-8", trickle=0.05
    )
    fulltext_server.add_pdf("2602.15307v1", make_pdf(PDF_SECTIONS))
    settings = ArxivSettings(
        html_url=fulltext_server.html_url, pdf_url=fulltext_server.pdf_url, delay_seconds=0
    )
    started = time.monotonic()
    report = fetch_full_text_with_report(
        PAPER, settings, FulltextSettings(deadline_seconds=0.5), tmp_path
    )
    assert time.monotonic() - started < len(page) * 0.05 / 4  # well before the trickle would end
    assert report.text.source == "pdf"
    assert report.notes[0] == "HTML could not be downloaded (ReadTimeout)"


def test_a_trickled_pdf_after_a_missing_html_is_a_retryable_failure(fulltext_server, tmp_path):
    pdf = make_pdf(PDF_SECTIONS)
    fulltext_server.set_response("/pdf/2602.15307v1", 200, pdf, "application/pdf", trickle=0.05)
    settings = ArxivSettings(
        html_url=fulltext_server.html_url, pdf_url=fulltext_server.pdf_url, delay_seconds=0
    )
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        fetch_full_text_with_report(
            PAPER, settings, FulltextSettings(deadline_seconds=0.5), tmp_path
        )
    assert time.monotonic() - started < len(pdf) * 0.05 / 4  # well before the trickle would end
    assert caught.value.retryable and "ReadTimeout" in str(caught.value)
