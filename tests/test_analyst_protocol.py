"""The Analyst protocol says what every backend does; the cycle asks it instead of probing."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from agent.analyst import Analyst, Brief, Candidate
from agent.analyst.backends import BACKENDS, AnalystSetup, backend_for, get_analyst
from agent.analyst.fallback import FallbackAnalyst
from agent.analyst.offline import OfflineAnalyst
from agent.analyst.schemas import DeepRead, FieldUpdate, Judgement, PaperSummary
from agent.errors import ConfigError
from agent.models import FullText, Track
from agent.settings import LLMSettings
from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl

AGENT = Path(__file__).resolve().parent.parent / "agent"
MEMBERS = ("name", "model", "label", "notices", "judges_first", "stand_in_judged", "summarize",
           "summarize_each", "synthesize", "judge", "judge_each", "deep_read", "close")
LOOPBACK = LLMSettings(base_url="http://127.0.0.1:9/v1")  # built, never called


class ScriptedAnalyst(Analyst):
    """A third backend, as tests write one: the offline analyst's reading under another name."""

    name = "scripted"
    model = "script-1"

    def __init__(self, notices: Sequence[str] = ()) -> None:
        self.offline = OfflineAnalyst()
        self.notices = list(notices)
        self.calls: list[str] = []

    def summarize(self, candidates: Sequence[Candidate], brief: Brief) -> list[PaperSummary]:
        self.calls.append("summarize")
        return self.offline.summarize(candidates, brief)

    def synthesize(self, summaries: Sequence[PaperSummary], brief: Brief) -> FieldUpdate:
        self.calls.append("synthesize")
        return self.offline.synthesize(summaries, brief)

    def judge(self, candidates: Sequence[Candidate], brief: Brief) -> list[Judgement]:
        self.calls.append("judge")
        return self.offline.judge(candidates, brief)

    def deep_read(self, candidate: Candidate, text: FullText, brief: Brief) -> DeepRead:
        self.calls.append("deep_read")
        return self.offline.deep_read(candidate, text, brief)

    def close(self) -> None:
        self.calls.append("close")


def setup() -> AnalystSetup:
    return AnalystSetup(settings=LOOPBACK, usage_sink=lambda call: None)


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_every_registered_backend_implements_the_whole_protocol(name: str) -> None:
    analyst = get_analyst(name, setup())
    try:
        assert isinstance(analyst, Analyst)
        for member in MEMBERS:
            assert hasattr(analyst, member), f"{name} lacks {member}"
        assert analyst.label == name and list(analyst.notices) == []
    finally:
        analyst.close()


def test_the_llm_backend_is_the_llm_analyst_behind_the_offline_one() -> None:
    analyst = get_analyst("llm", setup())
    assert isinstance(analyst, FallbackAnalyst)
    assert (analyst.primary.name, analyst.fallback.name) == ("llm", "offline")
    assert analyst.judges_first and not analyst.fallback.judges_first
    analyst.close()


def test_the_backend_follows_the_settings_and_an_unknown_one_is_named() -> None:
    assert backend_for(LLMSettings()) == "offline"
    assert backend_for(LOOPBACK) == "llm"
    with pytest.raises(ConfigError, match="'gpt-local'.*llm, offline|'gpt-local'.*offline, llm"):
        get_analyst("gpt-local", setup())


def test_defaults_fill_in_what_a_simple_backend_leaves_out() -> None:
    offline = OfflineAnalyst()
    candidates = [Candidate(paper) for paper in read_papers_jsonl(SAMPLE_PATH)[:2]]
    brief = Brief([Track("asr", "Speech recognition", "d", ("speech",), 5)])
    assert offline.summarize_each(candidates, brief) == offline.summarize(candidates, brief)
    assert offline.label == "offline" and list(offline.notices) == []
    offline.close()  # nothing to release, and no error


def probes(path: Path) -> list[str]:
    """getattr/hasattr/callable/isinstance calls that inspect an analyst instead of asking it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id not in ("getattr", "hasattr", "callable", "isinstance") or not node.args:
            continue
        text = ast.unparse(node)
        subject = ast.unparse(node.args[0]).lower()
        if any(word in subject for word in ("analyst", "primary", "fallback")) or (
            text.endswith("Analyst)")
        ):
            found.append(f"{path.name}:{node.lineno}: {text}")
    return found


def test_no_module_probes_an_analyst_for_what_it_can_do() -> None:
    files = [AGENT / "cycle.py", *sorted((AGENT / "actions").glob("*.py")),
             AGENT / "analyst" / "fallback.py"]
    assert [probe for path in files for probe in probes(path)] == []


def test_a_cycle_asks_its_analyst_for_label_notices_and_close(scanned: Path) -> None:
    from agent.cycle import CycleOptions, run_cycle

    scripted = ScriptedAnalyst(notices=["The script read these papers."])
    options = CycleOptions(action="learn", source="sample",
                           make_analyst=lambda settings, record: scripted)
    outcome = run_cycle(scanned, options)
    assert outcome.status == "committed", outcome.error
    assert "The script read these papers." in outcome.notices
    assert scripted.calls[0] == "judge" and scripted.calls[-1] == "close"  # judges first
    note = (scanned / outcome.note_path).read_text(encoding="utf-8")  # type: ignore[operator]
    meta = yaml.safe_load(note.split("---\n")[1])
    assert meta["analyst"] == "scripted" and meta["model"] == "script-1"
