"""agent/text.py: the one home of text made safe to show, and LaTeX turned into Unicode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.text import (
    clean_text,
    hide_password,
    hide_userinfo,
    latex_to_text,
    shorten,
    strip_controls,
)

AGENT = Path(__file__).resolve().parents[1] / "agent"


@pytest.mark.parametrize(
    ("latex", "plain"),
    [
        (r"(19\% to 33\%)", "(19% to 33%)"),
        (r"``deliberately corrupted''", "“deliberately corrupted”"),
        (r"($-$23.9\%)", "(-23.9%)"),
        (r"Mixture-of-Experts\~(MoE)", "Mixture-of-Experts (MoE)"),
        (r"Mixture-of-Experts~(MoE)", "Mixture-of-Experts (MoE)"),
        (r"we introduce the \textit{\textbf{MoE-Adapter}}", "we introduce the MoE-Adapter"),
        (r"$\alpha$ and $\sim$10\% at 2.6$\times$", "α and ∼10% at 2.6×"),
        (r"up to \textbf{70$\times$} fewer, ~5 ms", "up to 70× fewer, ~5 ms"),
        (r"Schuller, Bj{\"o}rn and \'Eric", "Schuller, Björn and Éric"),
        (r"code at \url{https://github.com/a_b/c}", "code at https://github.com/a_b/c"),
        ("R&D at 50% cost, #1", "R&D at 50% cost, #1"),  # not LaTeX: untouched
    ],
)
def test_latex_becomes_unicode(latex: str, plain: str) -> None:
    assert latex_to_text(latex) == plain
    assert latex_to_text(plain) == plain  # idempotent: stored papers may be converted again


@pytest.mark.parametrize("math", [r"$O(n^2)$", r"$\frac{a}{b}$", r"F$_1$", r"$\mathbb R^2$"])
def test_math_without_a_plain_form_stays_as_math(math: str) -> None:
    assert latex_to_text(f"cost {math} here") == f"cost {math} here"


def test_a_lone_dollar_is_money_and_odd_input_is_kept() -> None:
    assert latex_to_text(r"costs \$5 per hour") == "costs $5 per hour"
    assert latex_to_text(r"broken \href{x}") == r"broken \href{x}"  # never raises


def test_one_line_and_controls() -> None:
    assert strip_controls("a\x1b[31mb\u202ec\r\nd\te") == "abc\nd\te"
    assert clean_text("  a\n b\u2028c ", 4) == "a b…"
    assert shorten("a  b", 3) == "a b" and shorten("abcdef", 4) == "abc…"


def test_url_credentials_are_hidden() -> None:
    assert hide_userinfo("see https://me:pw@h.example/x") == "see https://***@h.example/x"
    assert hide_password("postgresql://u:p@w@h/db") == "postgresql://u:***@h/db"


# Rules written once (issue 12): the invisible-character class, the ANSI pattern, URL userinfo
# and shortening lived in six modules; only agent/text.py may define them now.
COPIES = {
    "invisible characters": re.compile(r"u202a-\\u202e"),
    "terminal escapes": re.compile(r"x1b\\\["),
    "URL userinfo": re.compile(r"://\[\^"),
    "shortening": re.compile(r"def _?shorten\(text"),
}


@pytest.mark.parametrize("name", sorted(COPIES))
def test_text_rules_live_only_in_agent_text(name: str) -> None:
    homes = sorted(
        str(path.relative_to(AGENT))
        for path in AGENT.rglob("*.py")
        if COPIES[name].search(path.read_text(encoding="utf-8"))
    )
    assert homes == ["text.py"], homes


def test_papers_are_stored_as_plain_text_at_ingestion(scanned: Path) -> None:
    """The sample's 2601.02967 reads 'Models~(LLMs)', '\\textit{heterogeneous}' in the file."""
    from agent.config import load_settings
    from agent.sources.jsonl import SAMPLE_PATH, iter_records
    from agent.store import Store

    raw = next(p for _, p in iter_records(SAMPLE_PATH) if p.id == "2601.02967")
    assert "\\textit{" in raw.abstract and "~(" in raw.abstract
    with Store(load_settings(scanned).database_url) as store:
        paper = store.get_paper("2601.02967")
    assert paper is not None
    assert "Large Language Models (LLMs)" in paper.abstract
    assert "\\" not in paper.abstract and "~" not in paper.abstract
