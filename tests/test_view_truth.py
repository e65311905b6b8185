"""Sentences and counts of the morning views (digest, status, queue, papers) that a truth audit
found false or misleading, now true. Each test names what was written before."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agent.changes import changes_from_result, cycle_summary, dump_summary, summarise
from agent.models import Match, Paper, Track
from agent.results import CycleResult, PaperSection
from agent.review.digest import DigestCycle, DigestPage
from agent.store import CycleRecord

STARTED = datetime(2026, 1, 9, 2, 0, tzinfo=UTC)
BENCH = Track("bench", "Evaluating spoken language models", "Benchmarks.", ("benchmark",), 2)
LISTEN = Track("listen", "Listen vs Guess", "Audio or text?", ("audio",), 5)


def paper(number: int) -> Paper:
    return Paper(f"2601.{number:05d}", f"Paper {number}", "We benchmark audio models.",
                 authors=("A. Author",), categories=("cs.SD",),
                 published=datetime(2026, 1, 8, tzinfo=UTC))


def summarised_cycle(number: int, papers: list[Paper]) -> DigestCycle:
    changes = changes_from_result(CycleResult("learn", "papers", [PaperSection(p) for p in papers]))
    for p in papers:
        changes.analyses.append({"paper_id": p.id, "kind": "summary", "track_id": None,
                                 "payload": {"headline": "We benchmark."}})
    record = CycleRecord(number, "learn", "r", "committed", "recorded", STARTED, STARTED,
                         f"cycles/2026/01/{number:04d}-learn.md", "a" * 40, 0, 0, None,
                         dump_summary(summarise(changes)), None)
    summary = cycle_summary(record.result_json)
    assert summary is not None
    item = DigestCycle(record, relevant={"bench": 1, "listen": 1})
    item.read = [(p, k) for p, k, _ in summary.read]
    return item


def test_the_digest_counts_a_paper_read_under_every_track_it_is_relevant_to() -> None:
    """Was: "| Listen vs Guess | 5 | 1 | 0 |" for a paper relevant to both tracks and summarised:
    the relevant column counted it under each track, the read column under its best track only,
    so the row said a relevant paper was still unread."""
    both = paper(1)
    matches = {both.id: [Match(both.id, "bench", 0.8, True), Match(both.id, "listen", 0.6, True)]}
    page = DigestPage([BENCH, LISTEN], {both.id: both}, matches, ZoneInfo("UTC"))
    rows = [line for line in page.track_lines([summarised_cycle(2, [both])]) if line[:2] == "| "]
    assert rows[1:] == ["| Listen vs Guess | 5 | 1 | 1 |",
                        "| Evaluating spoken language models | 2 | 1 | 1 |"]


def test_the_digest_does_not_count_a_read_under_a_track_it_is_not_relevant_to() -> None:
    weak = paper(2)
    matches = {weak.id: [Match(weak.id, "bench", 0.8, True), Match(weak.id, "listen", 0.2, False)]}
    page = DigestPage([BENCH, LISTEN], {weak.id: weak}, matches, ZoneInfo("UTC"))
    rows = [line for line in page.track_lines([summarised_cycle(2, [weak])]) if line[:2] == "| "]
    assert rows[1:] == ["| Listen vs Guess | 5 | 1 | 0 |",
                        "| Evaluating spoken language models | 2 | 1 | 1 |"]


def test_the_terminal_views_show_times_on_the_researchers_clock(scanned, capsys) -> None:  # type: ignore[no-untyped-def]
    """Was: `log`, `status`, `queue` and `show` printed the stored UTC clock with no zone
    ("11-30 14:27") while the digest, with `[schedule] timezone = "America/New_York"`, said
    "2026-11-30 09:27 EST" for the same cycle."""
    import re
    import sqlite3
    from zoneinfo import ZoneInfo

    from tests.cli import run_cli

    settings = scanned / "research.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        '# timezone = "UTC"', 'timezone = "America/New_York"'), encoding="utf-8")
    with sqlite3.connect(scanned / "state" / "agent.db") as db:
        started = datetime.fromisoformat(db.execute(
            "SELECT started FROM cycles WHERE number = 1").fetchone()[0]).replace(tzinfo=UTC)
    local = started.astimezone(ZoneInfo("America/New_York"))
    zone = local.tzname()
    ws = ("-w", str(scanned))
    log = run_cli(capsys, "log", *ws).out
    assert f"time ({zone})" in log and f" {local:%m-%d %H:%M} " in log, log
    status = run_cli(capsys, "status", *ws).out
    assert f"started ({zone})" in status and f"{local:%Y-%m-%d %H:%M}" in status, status
    shown = run_cli(capsys, "show", "1", *ws).out
    assert f"{local:%Y-%m-%d %H:%M} {zone}" in shown, shown
    paper_id = re.findall(r"arXiv:(\d{4}\.\d{5})", shown)[0]
    assert run_cli(capsys, "queue", "add", paper_id, "--source", "sample", *ws).code == 0
    with sqlite3.connect(scanned / "state" / "agent.db") as db:
        added = datetime.fromisoformat(db.execute(
            "SELECT added FROM queue").fetchone()[0]).replace(tzinfo=UTC)
    queue = run_cli(capsys, "queue", *ws).out
    added_local = added.astimezone(ZoneInfo("America/New_York"))
    assert f"added ({added_local.tzname()})" in queue and f"{added_local:%m-%d %H:%M}" in queue


def test_status_says_how_many_queued_papers_it_does_not_list(scanned, capsys) -> None:  # type: ignore[no-untyped-def]
    """Was: "queue: 7" above five "queued:" lines and nothing on the other two."""
    import sqlite3

    from tests.cli import run_cli

    ws = ("-w", str(scanned))
    with sqlite3.connect(scanned / "state" / "agent.db") as db:
        ids = [r[0] for r in db.execute("SELECT id FROM papers ORDER BY id LIMIT 7")]
    for paper_id in ids:
        assert run_cli(capsys, "queue", "add", paper_id, "--source", "sample", *ws).code == 0
    status = run_cli(capsys, "status", *ws).out
    assert "queue: 7" in status and status.count("queued: ") == 5
    assert "and 2 more: research-agent queue" in " ".join(status.split()), status


def test_tracks_shows_the_last_hit_date_whole_at_80_columns(scanned, capsys) -> None:  # type: ignore[no-untyped-def]
    """Was: "2026-1…" under "last hit": the column was squeezed to seven characters."""
    import json

    from tests.cli import run_cli

    rows = json.loads(run_cli(capsys, "tracks", "--json", "-w", str(scanned)).out)
    table = run_cli(capsys, "tracks", "-w", str(scanned)).out
    dates = [row["last_hit"] for row in rows if row["last_hit"]]
    assert dates and all(date in table for date in dates), table


def test_the_digest_says_one_paper_one_cycle_one_deep_read_in_the_singular() -> None:
    """Was: "**1 cycles** (1 committed) · 1 new papers · … · 1 deep reads" and "- 1 new papers
    stored"."""
    new = paper(3)
    record = CycleRecord(1, "deep-read", "r", "committed", "recorded", STARTED, STARTED,
                         "cycles/2026/01/0001-deep-read.md", "a" * 40, 0, 0, None, None, None)
    item = DigestCycle(record, new_papers=1, relevant={"bench": 1})
    item.read = [(new.id, "deep-read")]
    page = DigestPage([BENCH, LISTEN], {new.id: new}, {}, ZoneInfo("UTC"))
    assert page.totals([item]) == ("**1 cycle** (1 committed) · 1 new paper · 0 summarised · "
                                   "1 deep read · 0 tokens")
    assert any(line.startswith("- 1 new paper stored; relevant") for line in page.cycle_lines(item))


def test_the_digest_says_its_relevant_counts_are_by_todays_scores() -> None:
    """Was: "151 new papers stored; relevant: Listen vs Guess 14" under a scan whose note said
    9: the digest counts by the scores the store holds now (ratings and track edits since
    change them), the note by the scores of its cycle."""
    record = CycleRecord(1, "scan", "r", "committed", "recorded", STARTED, STARTED,
                         "cycles/2026/01/0001-scan.md", "a" * 40, 0, 0, None, None, None)
    item = DigestCycle(record, new_papers=151, relevant={"listen": 14})
    page = DigestPage([BENCH, LISTEN], {}, {}, ZoneInfo("UTC"))
    assert "- 151 new papers stored; relevant now: Listen vs Guess 14" in page.cycle_lines(item)


def test_papers_show_prints_no_empty_field_of_a_summary(scanned, capsys) -> None:  # type: ignore[no-untyped-def]
    """Was: a bare "  models:" line over nothing, for a summary that names no model."""
    import json
    import sqlite3

    from tests.cli import run_cli

    with sqlite3.connect(scanned / "state" / "agent.db") as db:
        paper_id = db.execute("SELECT id FROM papers ORDER BY id LIMIT 1").fetchone()[0]
        db.execute("INSERT INTO analyses (paper_id, cycle, kind, track_id, payload, created_at) "
                   "VALUES (?, 1, 'summary', NULL, ?, '2026-01-09 02:00:00')",
                   (paper_id, json.dumps({"paper_id": paper_id, "headline": "New.",
                                          "models": [], "key_findings": ["It works."]})))
    shown = run_cli(capsys, "papers", "show", paper_id, "-w", str(scanned)).out
    assert "key findings:" in shown and "models:" not in shown, shown


def test_the_digest_says_how_many_queued_papers_it_does_not_list() -> None:
    """Was: the first ten of twelve queued papers under "The must-read queue now", and no word
    on the other two."""
    from agent.models import QueueItem

    queue = [QueueItem(f"2601.{n:05d}", 3, "r", "user", STARTED, f"Paper {n}") for n in range(12)]
    page = DigestPage([BENCH], {}, {}, ZoneInfo("UTC")).render([], STARTED, queue)
    assert page.count("- [arXiv:") == 10
    assert "- … and 2 more: `research-agent queue` lists them all." in page


def test_papers_show_dates_a_queue_entry_on_the_researchers_clock(scanned, capsys) -> None:  # type: ignore[no-untyped-def]
    """Was: "queued: … (2026-01-09)", the UTC date, for a paper queued at 20:00 UTC, which is
    already 2026-01-10 in Kiritimati (UTC+14)."""
    import sqlite3

    from tests.cli import run_cli

    settings = scanned / "research.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        '# timezone = "UTC"', 'timezone = "Pacific/Kiritimati"'), encoding="utf-8")
    with sqlite3.connect(scanned / "state" / "agent.db") as db:
        paper_id = db.execute("SELECT id FROM papers ORDER BY id LIMIT 1").fetchone()[0]
    assert run_cli(capsys, "queue", "add", paper_id, "--source", "sample",
                   "-w", str(scanned)).code == 0
    with sqlite3.connect(scanned / "state" / "agent.db") as db:
        db.execute("UPDATE queue SET added = '2026-01-09 20:00:00.000000'")
    shown = run_cli(capsys, "papers", "show", paper_id, "-w", str(scanned)).out
    assert "(2026-01-10)" in shown and "(2026-01-09)" not in shown, shown


def test_tracks_velocity_of_a_store_younger_than_a_day_does_not_say_0d() -> None:
    """Was: "7 in 0d" in `tracks` when every stored paper came out within the last day."""
    from datetime import timedelta

    from agent.velocity import TrackVelocity, Window

    windows = tuple(Window(w, 7, None, covered=False) for w in (2, 6, 12))
    young = TrackVelocity("bench", STARTED, windows, oldest=STARTED - timedelta(hours=5))
    assert young.short() == "7 in <1d"
    older = TrackVelocity("bench", STARTED, windows, oldest=STARTED - timedelta(days=2, hours=5))
    assert older.short() == "7 in 2d"


def test_clearing_a_rating_you_never_gave_says_nothing_changed(scanned, capsys) -> None:  # type: ignore[no-untyped-def]
    """Was: "cleared your rating of X for all tracks" for a paper never rated (and a rating row
    recorded, so the next learn re-ranked the waiting papers for a change that was none)."""
    import sqlite3

    from tests.cli import run_cli

    ws = ("-w", str(scanned))
    with sqlite3.connect(scanned / "state" / "agent.db") as db:
        paper_id = db.execute("SELECT id FROM papers ORDER BY id LIMIT 1").fetchone()[0]
    cleared = run_cli(capsys, "rate", paper_id, "clear", *ws)
    assert cleared.code == 0
    assert "cleared" not in cleared.out
    assert f"you had not rated {paper_id} for all tracks; nothing changed" in cleared.out
    with sqlite3.connect(scanned / "state" / "agent.db") as db:
        assert db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 0
    assert run_cli(capsys, "rate", paper_id, "up", *ws).code == 0
    assert f"cleared your rating of {paper_id} for all tracks" in run_cli(
        capsys, "rate", paper_id, "clear", *ws).out
    again = run_cli(capsys, "rate", paper_id, "clear", *ws).out
    assert "nothing changed" in again
