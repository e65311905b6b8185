"""The must-read queue through the real CLI: ids in every form, refusals, listing, dropping,
what `learn` queues, and the researcher's entries first."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.models import Paper
from tests.cli import run_cli

NEURONS = Paper(
    id="2602.15307", version=2,
    title="What Do Neurons Listen To? A Neuron-level Dissection of a General-purpose Audio Model",
    abstract="We present the first neuron-level analysis of a general-purpose audio model.",
    authors=("Takuya Kawamura",), categories=("eess.AS",),
    published=datetime(2026, 2, 16, tzinfo=UTC), updated=datetime(2026, 2, 20, tzinfo=UTC))
STRINGS = Paper(
    id="hep-th/9901001", version=1, title="A Paper from the Old Days of String Theory",
    abstract="We study strings.", authors=("A. Physicist",), categories=("hep-th",),
    published=datetime(1999, 1, 4, tzinfo=UTC))


@pytest.fixture
def arxiv(arxiv_server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    arxiv_server.add_papers([NEURONS, STRINGS])
    monkeypatch.setenv("ARXIV_API_URL", arxiv_server.url)
    return arxiv_server


def queued(workspace: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    listed = run_cli(capsys, "queue", "--json", "-w", str(workspace))
    assert listed.code == 0, listed.err
    return json.loads(listed.out)


def set_learn_threshold(workspace: Path, value: float) -> None:
    settings = workspace / "research.toml"
    text, count = re.subn(r"(?m)^# queue_threshold = [\d.]+", f"queue_threshold = {value}",
                          settings.read_text(encoding="utf-8"))
    assert count == 1
    settings.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("typed", "expected"), [
    ("2602.15307", "2602.15307"),
    ("2602.15307v2", "2602.15307"),
    ("arXiv:2602.15307v1", "2602.15307"),
    ("https://arxiv.org/abs/2602.15307", "2602.15307"),
    ("arxiv.org/abs/2602.15307v2", "2602.15307"),
    ("https://arxiv.org/pdf/2602.15307v2.pdf", "2602.15307"),
    ("hep-th/9901001", "hep-th/9901001"),
    ("https://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
])  # fmt: skip
def test_every_real_form_of_an_id_queues_the_versionless_paper(
    workspace: Path, arxiv, capsys: pytest.CaptureFixture[str], typed: str, expected: str  # type: ignore[no-untyped-def]
) -> None:
    added = run_cli(capsys, "queue", "add", typed, "-w", str(workspace))
    assert added.code == 0, added.err
    assert f"queued {expected} (priority 3)" in added.out
    items = queued(workspace, capsys)
    assert [i["paper_id"] for i in items] == [expected]
    assert items[0]["added_by"] == "user" and items[0]["title"].startswith(("What Do", "A Paper"))


@pytest.mark.parametrize("typed", [
    "2602.153", "26021.5307", "not-an-id", "https://example.com/abs/2602.15307",
    "2602.15307; rm -rf /", "../../etc/passwd", "",
])  # fmt: skip
def test_malformed_input_is_refused_before_asking_arxiv(
    workspace: Path, arxiv, capsys: pytest.CaptureFixture[str], typed: str  # type: ignore[no-untyped-def]
) -> None:
    refused = run_cli(capsys, "queue", "add", typed, "-w", str(workspace))
    assert refused.code != 0
    assert "is not an arXiv id" in refused.err and "e.g. 2602.15307" in refused.err
    assert "Traceback" not in refused.out + refused.err
    assert arxiv.requests == []
    assert queued(workspace, capsys) == []


def test_an_id_arxiv_does_not_know_is_refused_once_looked_up(
    workspace: Path, arxiv, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    refused = run_cli(capsys, "queue", "add", "2602.99999", "-w", str(workspace))
    assert refused.code == 2
    assert "arXiv does not know 2602.99999" in refused.err and arxiv.url in refused.err
    assert "Traceback" not in refused.out + refused.err
    assert [r.get("id_list", "") for r in arxiv.requests] == ["2602.99999"]
    assert queued(workspace, capsys) == []


def test_queue_lists_id_title_priority_why_who_and_when_then_drops(
    workspace: Path, arxiv, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    before = datetime.now(UTC)
    assert run_cli(capsys, "queue", "add", "2602.15307", "--priority", "5", "--note",
                   "check the ablation", "-w", str(workspace)).code == 0
    assert run_cli(capsys, "queue", "add", "hep-th/9901001", "-w", str(workspace)).code == 0

    table = run_cli(capsys, "queue", "-w", str(workspace))
    assert table.code == 0
    first, second = table.out.index("2602.15307"), table.out.index("hep-th/9901001")
    assert first < second  # priority 5 before priority 3
    for shown in ("What Do Neurons", "check the", "ablation", "user", before.strftime("%m-%d")):
        assert shown in table.out  # rich wraps long cells onto several lines
    for header in ("id", "p", "title", "why", "by", "added"):
        assert re.search(rf"\b{header}\b", table.out)
    item = queued(workspace, capsys)[0]
    assert (item["paper_id"], item["priority"], item["reason"], item["added_by"]) == (
        "2602.15307", 5, "check the ablation", "user")
    assert datetime.fromisoformat(item["added"]) >= before.replace(microsecond=0)

    dropped = run_cli(capsys, "queue", "drop", "https://arxiv.org/abs/2602.15307v2",
                      "-w", str(workspace))
    assert dropped.code == 0 and "dropped" in dropped.out
    assert [i["paper_id"] for i in queued(workspace, capsys)] == ["hep-th/9901001"]
    again = run_cli(capsys, "queue", "drop", "2602.15307", "-w", str(workspace))
    assert again.code == 1 and "was not in the queue" in again.out


def test_priority_outside_one_to_five_is_refused(
    workspace: Path, arxiv, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    refused = run_cli(capsys, "queue", "add", "2602.15307", "--priority", "9",
                      "-w", str(workspace))
    assert refused.code != 0 and "--priority must be 1 .. 5" in refused.err
    assert queued(workspace, capsys) == []


# --- what learn queues, and who goes first --------------------------------------------------


def learn_offline(scanned: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A learn cycle over the bundled sample the `scanned` workspace holds; its note."""
    ran = run_cli(capsys, "cycle", "-w", str(scanned), "--action", "learn", "--source", "sample")
    assert ran.code == 0 and "committed" in ran.out, ran.out + ran.err
    return next((scanned / "cycles").rglob("0002-learn.md")).read_text(encoding="utf-8")


@pytest.mark.disable_socket
def test_learn_queues_nothing_below_its_bar(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_learn_threshold(scanned, 0.99)
    note = learn_offline(scanned, capsys)
    assert "Queued for a deep read" not in note
    assert queued(scanned, capsys) == []


@pytest.mark.disable_socket
def test_learn_queues_above_its_bar_and_the_researchers_entries_come_first(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_learn_threshold(scanned, 0.0)
    note = learn_offline(scanned, capsys)
    learned = yaml_papers(note)
    items = queued(scanned, capsys)
    assert items and {i["paper_id"] for i in items} <= set(learned)
    for item in items:
        assert item["added_by"] == "agent"
        assert re.fullmatch(r"scored \d\.\d\d on .+ \(priority \d\)", item["reason"])
        assert item["reason"].endswith(f"(priority {item['priority']})")
        assert f"Queued for a deep read: [arXiv:{item['paper_id']}]" in note
    assert f"Must-read queue: {len(items)} waiting" in note

    top = items[0]["priority"]
    mine = next(i for i in sample_ids(scanned) if i not in learned)
    added = run_cli(capsys, "queue", "add", mine, "--priority", str(top), "--source", "sample",
                    "-w", str(scanned))
    assert added.code == 0, added.err
    order = queued(scanned, capsys)
    assert order[0]["paper_id"] == mine and order[0]["added_by"] == "user"
    assert [i["paper_id"] for i in order[1:]] == [i["paper_id"] for i in items]

    # the researcher queueing what the agent queued makes it theirs, with their reason
    # (their word is final: the priority they give is the one kept, even a lower one)
    theirs = items[-1]["paper_id"]
    again = run_cli(capsys, "queue", "add", theirs, "--priority", "1", "--note", "mine now",
                    "--source", "sample", "-w", str(scanned))
    assert again.code == 0, again.err
    assert f"queued {theirs} (priority 1)" in again.out
    entry = next(i for i in queued(scanned, capsys) if i["paper_id"] == theirs)
    assert (entry["added_by"], entry["reason"], entry["priority"]) == ("user", "mine now", 1)

    ran = run_cli(capsys, "cycle", "-w", str(scanned), "--action", "deep-read",
                  "--source", "sample")
    assert ran.code == 0, ran.out + ran.err
    read = next((scanned / "cycles").rglob("0003-deep-read.md")).read_text(encoding="utf-8")
    assert yaml_papers(read) == [mine]
    assert mine not in [i["paper_id"] for i in queued(scanned, capsys)]


def yaml_papers(note: str) -> list[str]:
    import yaml

    return [str(p) for p in yaml.safe_load(note.split("---\n")[1])["papers"]]


def sample_ids(workspace: Path) -> list[str]:
    """Ids of papers the scan stored (so `queue add --source sample` finds them)."""
    from agent.config import load_settings
    from agent.store import Store

    with Store(load_settings(workspace).database_url) as store:
        return [p.id for p in store.papers_with_status(["ranked"])]
