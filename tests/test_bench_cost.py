"""bench/cost.py at small sizes: it runs, and its figures say what was measured."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from agent.config import load_settings
from agent.workspace import init_workspace

BENCH = Path(__file__).resolve().parent.parent / "bench" / "cost.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_cost", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def cost(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # the bench points OPENAI_* at its loopback LLM; these make the fixture restore them
    monkeypatch.setenv("OPENAI_API_KEY", "unset")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(sys, "path", list(sys.path))
    return load_bench()


def test_the_report_of_a_day_with_no_learn_cycle_says_so(
    cost: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace, _ = init_workspace(tmp_path / "radar")
    args = argparse.Namespace(model="m", price_in=0.4, price_out=1.6, deep_reads=4)
    cost.report(args, load_settings(workspace), (40, 0, 0), [], {}, (6, 21_000, 3_700))
    out = capsys.readouterr().out
    assert "no learn cycle ran: no paper cleared a track's bar" in out
    assert "learn cycle (judge+summaries+update)" not in out  # no per-cycle figure of 0 cycles
    assert "the daily budget alone pays for 24 deep reads" in out


def test_cost_bench_runs_at_40_papers(
    cost: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """The day's first 40 papers clear no track's bar, so no learn cycle runs (the bench divided
    the daily budget by a learn cycle's 0 tokens); the deep reads are still priced."""
    cost.main(["--papers", "40", "--deep-sections", "12"])
    out = capsys.readouterr().out
    assert out.startswith("40 new papers, 0 judged, 0 summarised in 0 learn cycles;")
    assert "no learn cycle ran: no paper cleared a track's bar" in out
    assert "deep read, 40-section paper (6 calls)" in out
    assert "longest deep read (12 sections, at most 12 parts read): 3 calls" in out
    assert "the daily budget alone pays for 24 deep reads" in out and "learn cycles or" not in out
