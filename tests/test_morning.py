"""The morning review: log, show, digest, tracks, papers search/show and export, on real cycles.

One workspace per module: three real cycles (an old scan, then last night's scan and learn) with
the bundled sample and the offline analyst, a queued and rated paper, and a hostile paper.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from agent import steer
from agent.cli import main
from agent.config import load_settings
from agent.cycle import CycleOptions, run_cycle
from agent.errors import ConfigError
from agent.models import Paper
from agent.review import parse_since, read_note, track_rows
from agent.review.digest import digest
from agent.store import Store
from agent.workspace import init_workspace

CYCLES = [  # (started, action): the first is older than "yesterday" in the digest test
    (datetime(2026, 2, 20, 3, 0, tzinfo=UTC), "scan"),
    (datetime(2026, 2, 26, 23, 0, tzinfo=UTC), "scan"),
    (datetime(2026, 2, 27, 2, 0, tzinfo=UTC), "learn"),
]
MORNING = datetime(2026, 2, 27, 8, 0, tzinfo=UTC)
HOSTILE = Paper(
    id="2602.99999",
    title="[red]Evil :warning:} @misc{pwned, title={x}} 100% \\input{/etc/passwd} & $x$ #1"
    " snake_case ~ ^",
    abstract="An abstract with [bold]markup[/bold] and } braces {.",
    authors=("Zoë {Brace", "Back\\slash and Co", "Ada Lovelace"),
    categories=("cs.CL",),
    published=datetime(2026, 2, 20, tzinfo=UTC),
)
EXPORTED = ("summarized", "queued", "read")


@dataclass
class Morning:
    path: Path
    paper_id: str  # summarised in the learn cycle, then queued and rated by the researcher
    track_id: str  # its best track
    shas: dict[int, str]


@pytest.fixture(scope="module")
def morning(tmp_path_factory: pytest.TempPathFactory) -> Morning:
    path, _ = init_workspace(tmp_path_factory.mktemp("morning") / "ws")
    shas = {}
    for started, action in CYCLES:
        outcome = run_cycle(path, CycleOptions(source="sample", action=action,
                                               now=lambda started=started: started))
        assert outcome.status == "committed", outcome.error
        shas[outcome.number] = outcome.sha
    paper_id = read_note(path, 3).meta["papers"][0]
    with Store(load_settings(path).database_url) as store:
        track_id = store.matches_for([paper_id])[paper_id][0].track_id
        store.upsert_papers([HOSTILE])
        store.set_status([HOSTILE.id], "summarized")
    steer.queue_add(path, paper_id, priority=5, note="check their ablation", source="sample")
    steer.rate(path, paper_id, "up", track_id=track_id, source="sample")
    return Morning(path, paper_id, track_id, shas)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI as the console script runs it: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def cli(capsys: pytest.CaptureFixture[str], morning: Morning, *args: str) -> str:
    """stdout of a command that must succeed in the morning workspace."""
    code, out, err = run(capsys, *args, "-w", str(morning.path))
    assert code == 0, err
    return out


def fits_80_columns(out: str) -> bool:
    return max(len(line) for line in out.splitlines()) <= 80


def title_of(morning: Morning) -> str:
    with Store(load_settings(morning.path).database_url) as store:
        paper = store.get_paper(morning.paper_id)
    assert paper is not None
    return paper.title


# --- log and show --------------------------------------------------------------------------------


def test_log_json_lists_cycles_newest_first(morning: Morning, capsys) -> None:
    rows = json.loads(cli(capsys, morning, "log", "--json"))
    assert [r["number"] for r in rows] == [3, 2, 1]
    assert [r["action"] for r in rows] == ["learn", "scan", "scan"]
    assert {r["number"]: r["sha"] for r in rows} == morning.shas
    assert rows[2]["papers"] > 0  # the scan stored papers
    assert rows[0]["papers"] == len(read_note(morning.path, 3).meta["papers"])
    assert rows[0]["started"].startswith("2026-02-27T02:00")
    assert json.loads(cli(capsys, morning, "log", "--json", "--limit", "1"))[0]["number"] == 3


def test_log_table_fits_80_columns(morning: Morning, capsys) -> None:
    out = cli(capsys, morning, "log")
    assert fits_80_columns(out)
    for number, sha in morning.shas.items():
        assert re.search(rf"^ *{number} .*{sha[:7]}", out, re.M)
    assert "02-27 02:00" in out


def test_show_renders_a_note_by_number_and_the_latest(morning: Morning, capsys) -> None:
    latest = cli(capsys, morning, "show")
    assert "Cycle #3" in latest
    assert "cycle 3 · learn" in latest  # the front matter as a one-line header
    assert "tokens_in:" not in latest and "---" not in latest.splitlines()[0]
    assert title_of(morning).split()[0] in latest
    first = cli(capsys, morning, "show", "1")
    assert "Cycle #1" in first and "Cycle #3" not in first
    raw = cli(capsys, morning, "show", "2", "--raw")
    assert raw.startswith("---\ncycle: 2\n")


def test_show_of_a_cycle_without_a_note_fails_clearly(morning: Morning, capsys) -> None:
    code, out, err = run(capsys, "show", "42", "-w", str(morning.path))
    assert code != 0 and out == ""
    assert "no note for cycle 42" in " ".join(err.split())


def test_show_strips_terminal_escapes_from_a_note(tmp_path: Path) -> None:
    path, _ = init_workspace(tmp_path / "ws")
    note = path / "cycles" / "2026" / "02" / "0007-scan.md"
    note.parent.mkdir(parents=True)
    hostile = "# Cycle \x1b[31m#7\x1b]0;pwned\x07\u202e\n"
    note.write_text("---\ncycle: 7\naction: scan\n---\n\n" + hostile, encoding="utf-8")
    shown = read_note(path)
    assert (shown.number, shown.meta["action"]) == (7, "scan")
    assert shown.body == "# Cycle #7\n"


# --- digest ------------------------------------------------------------------------------------


def test_digest_since_yesterday_covers_last_night_only(morning: Morning) -> None:
    page = digest(morning.path, "yesterday", now=MORNING)
    assert page.startswith("# Digest since 2026-02-26 00:00 UTC")
    assert "## Cycle #2" in page and "## Cycle #3" in page
    assert "## Cycle #1" not in page
    assert "**2 cycles** (2 committed)" in page
    assert f"[arXiv:{morning.paper_id}](https://arxiv.org/abs/{morning.paper_id})" in page
    assert f"commit `{morning.shas[3][:8]}`" in page
    assert "## Tracks" in page and "## The must-read queue now" in page
    assert "check their ablation" in page


def test_digest_of_a_quiet_period_says_so(morning: Morning) -> None:
    page = digest(morning.path, "2h", now=MORNING)
    assert "No cycles ran in this period." in page


def test_digest_command_prints_markdown(morning: Morning, capsys) -> None:
    out = cli(capsys, morning, "digest", "--since", "2026-02-20")
    assert all(f"## Cycle #{n}" in out for n in (1, 2, 3))
    code, _, err = run(capsys, "digest", "--since", "last tuesday", "-w", str(morning.path))
    assert code == 2 and "last tuesday" in err


@pytest.mark.parametrize(("text", "expected"), [
    ("today", datetime(2026, 2, 27, tzinfo=UTC)),
    ("yesterday", datetime(2026, 2, 26, tzinfo=UTC)),
    ("3d", datetime(2026, 2, 24, 8, 0, tzinfo=UTC)),
    ("12h", datetime(2026, 2, 26, 20, 0, tzinfo=UTC)),
    ("2026-02-20", datetime(2026, 2, 20, tzinfo=UTC)),
    ("2026-02-20T06:30+01:00", datetime(2026, 2, 20, 5, 30, tzinfo=UTC)),
])
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, MORNING) == expected


def test_parse_since_uses_the_researchers_timezone() -> None:
    start = parse_since("yesterday", MORNING, "America/New_York")  # 03:00 there on the 27th
    assert start == datetime(2026, 2, 26, 5, 0, tzinfo=UTC)


def test_parse_since_refuses_nonsense() -> None:
    with pytest.raises(ConfigError, match="2026-02-27"):
        parse_since("soon", MORNING)


# --- tracks ------------------------------------------------------------------------------------


def test_tracks_counts_papers_and_last_hit(morning: Morning, capsys) -> None:
    rows = {row["id"]: row for row in json.loads(cli(capsys, morning, "tracks", "--json"))}
    assert list(rows) == ["listen-vs-guess", "audio-interpretability", "speech-benchmarks"]
    hit = rows[morning.track_id]
    assert hit["papers"] >= 1
    assert hit["last_hit_cycle"] in (1, 2, 3)
    assert hit["last_hit"] == CYCLES[hit["last_hit_cycle"] - 1][0].date().isoformat()
    for row in rows.values():
        assert (row["papers"] == 0) == (row["last_hit"] is None)
    assert rows == {row["id"]: row for row in track_rows(morning.path)}
    out = cli(capsys, morning, "tracks")
    assert fits_80_columns(out) and "audio-interpretability" in out


# --- papers ------------------------------------------------------------------------------------


def test_papers_search_finds_a_paper_by_a_title_word(morning: Morning, capsys) -> None:
    word = max(re.findall(r"[A-Za-z]{5,}", title_of(morning)), key=len)
    rows = json.loads(cli(capsys, morning, "papers", "search", word.lower(), "--json"))
    assert morning.paper_id in [r["id"] for r in rows]
    out = cli(capsys, morning, "papers", "search", word)
    assert morning.paper_id in out and fits_80_columns(out)
    assert "No stored paper" in cli(capsys, morning, "papers", "search", "zzqxv")


def test_papers_search_shows_hostile_titles_as_text(morning: Morning, capsys) -> None:
    out = cli(capsys, morning, "papers", "search", "pwned")
    assert "[red]Evil" in out  # escaped: rich printed the markup instead of obeying it
    assert ":warning:" in out and "\u26a0" not in out  # an emoji code stays text too


def test_papers_show_json_has_everything(morning: Morning, capsys) -> None:
    report = json.loads(cli(capsys, morning, "papers", "show", morning.paper_id, "--json"))
    assert report["id"] == morning.paper_id and report["status"] == "queued"
    assert report["url"] == f"https://arxiv.org/abs/{morning.paper_id}"
    scores = {s["track_id"]: s for s in report["scores"]}
    assert scores[morning.track_id]["relevant"] is True
    assert scores[morning.track_id]["priority"] in range(1, 6)
    assert [a["kind"] for a in report["analyses"]] == ["summary"]
    assert report["analyses"][0]["cycle"] == 3
    assert report["ratings"] == [{"verdict": "up", "track_id": morning.track_id}]
    assert report["queue"]["priority"] == 5
    assert report["queue"]["reason"] == "check their ablation"
    cited = {n["cycle"]: n["path"] for n in report["notes"]}
    assert cited[3] == read_note(morning.path, 3).path
    assert 1 not in cited or morning.paper_id in read_note(morning.path, 1).text


def test_papers_show_prints_scores_summary_and_notes(morning: Morning, capsys) -> None:
    out = cli(capsys, morning, "papers", "show", f"https://arxiv.org/abs/{morning.paper_id}v1")
    flat = " ".join(out.split())
    assert morning.track_id in flat
    assert "summary (cycle 3)" in flat
    assert "check their ablation" in flat and "rated up" in flat
    assert f"cited in cycle 3: {read_note(morning.path, 3).path}" in flat
    assert fits_80_columns(out)


def test_papers_show_unknown_or_malformed_id(morning: Morning, capsys) -> None:
    code, out, err = run(capsys, "papers", "show", "2501.00001", "-w", str(morning.path))
    assert code == 2 and out == "" and "2501.00001" in err and "papers search" in err
    code, _, err = run(capsys, "papers", "show", "not-an-id", "-w", str(morning.path))
    assert code == 2 and "not an arXiv id" in err


# --- export ------------------------------------------------------------------------------------


def latex_decoder() -> LatexNodes2Text:
    """pylatexenc's LaTeX-to-text, taught the three text-mode symbols it renders otherwise."""
    context = get_default_latex_context_db().filter_context()
    context.add_context_category("radar", prepend=True, macros=[
        MacroTextSpec("textbraceleft", "{"), MacroTextSpec("textbraceright", "}"),
        MacroTextSpec("textasciicircum", "^"),
    ])
    return LatexNodes2Text(latex_context=context)


def balanced(value: str) -> bool:
    """BibTeX's own rule: braces balance, counting escaped ones too (it ignores backslashes)."""
    depth = 0
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def stored(morning: Morning, statuses: tuple[str, ...]) -> dict[str, Paper]:
    with Store(load_settings(morning.path).database_url) as store:
        return {p.id: p for p in store.papers_with_status(list(statuses))}


def test_export_bibtex_round_trips_through_a_parser(morning: Morning, capsys) -> None:
    text = cli(capsys, morning, "export", "--bibtex")
    raw = bibtexparser.parse_string(text)
    assert all(balanced(f.value) for entry in raw.entries for f in entry.fields)
    decoder = latex_decoder()
    library = bibtexparser.parse_string(
        text, append_middleware=[SeparateCoAuthors(), LatexDecodingMiddleware(decoder=decoder)])
    assert library.failed_blocks == []
    expected = stored(morning, EXPORTED)
    assert {HOSTILE.id, morning.paper_id} <= set(expected)
    entries = {entry["eprint"]: entry for entry in library.entries}
    assert set(entries) == set(expected)
    keys = [entry.key for entry in library.entries]
    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"[A-Za-z0-9:._-]+", key) for key in keys)
    for paper_id, paper in expected.items():
        entry = entries[paper_id]
        assert entry["title"] == paper.title
        assert [decoder.latex_to_text(a) for a in entry["author"]] == list(paper.authors)
        assert entry["archivePrefix"] == "arXiv"
        assert entry["primaryClass"] == paper.categories[0]
        assert entry["url"] == f"https://arxiv.org/abs/{paper_id}"
        assert entry["year"] == str(paper.published.year)


def test_export_all_and_jsonl(morning: Morning, capsys) -> None:
    everything = stored(morning, ("new", "ranked", "summarized", "queued", "read", "dismissed"))
    lines = cli(capsys, morning, "export", "--jsonl", "--all").splitlines()
    records = {r["id"]: r for r in map(json.loads, lines)}
    assert set(records) == set(everything) and len(lines) == len(everything)
    assert len(everything) > len(stored(morning, EXPORTED))  # ranked papers too
    assert records[HOSTILE.id]["title"] == HOSTILE.title
    assert records[morning.paper_id]["status"] == "queued"
    assert morning.track_id in records[morning.paper_id]["scores"]
    bib = cli(capsys, morning, "export", "--all")  # BibTeX is the default
    assert bib.count("@misc{") == len(everything)


def test_export_refuses_two_formats(morning: Morning, capsys) -> None:
    code, out, _ = run(capsys, "export", "--bibtex", "--jsonl", "-w", str(morning.path))
    assert code == 2 and out == ""


def test_export_of_a_fresh_workspace_is_empty(tmp_path: Path, capsys) -> None:
    path, _ = init_workspace(tmp_path / "ws")
    code, out, err = run(capsys, "export", "-w", str(path))
    assert code == 0 and out == ""
    assert "Nothing to export" in err


@pytest.mark.parametrize("command", [["log"], ["show"], ["digest"], ["papers", "search"],
                                     ["papers", "show"], ["export"]])
def test_every_morning_command_has_help(command: list[str], capsys) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and "--workspace" in out
