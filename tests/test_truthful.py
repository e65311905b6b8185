"""Every line the radar writes is true: reasons, counts, lists, morning commands (issue 11)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.models import Match, Paper, Track
from agent.policy import CandidateInfo, PolicySettings, Snapshot, choose_action
from tests.cli import run_cli

DAY = datetime(2026, 2, 25, 14, 0, tzinfo=UTC)  # Wed 15:00 in Berlin: outside deep-work hours
POLICY = PolicySettings(timezone="Europe/Berlin", active_hours="22-07")

RAG = Track("rag-eval", "RAG evaluation", "Evaluating RAG.", ("rag",), priority=5)
CODECS = Track("speech-codecs", "Speech codecs", "Neural codecs.", ("codec",), priority=3)
SAFETY = Track("llm-agents-safety", "Safety of LLM agents", "Agent safety.", ("agent",), priority=2)


def info(pid: str, track: Track, score: float) -> CandidateInfo:
    return CandidateInfo(pid, track.id, track.name, track.priority, score, True)


def test_the_reason_names_one_tracks_name_best_score_and_priority() -> None:
    # many relevant papers on a low-priority track, the best few on the top-priority one
    waiting = [info(f"2601.1{i:04d}", SAFETY, 0.6 + i / 1000) for i in range(30)]
    waiting += [info(f"2601.2{i:04d}", RAG, 0.86 - i / 100) for i in range(5)]
    scanned = datetime(2026, 2, 25, 2, 0, tzinfo=UTC)  # after Tuesday's announcement
    decision = choose_action(Snapshot(last_scan_at=scanned, candidates=waiting), DAY, POLICY)
    assert decision.action == "learn"
    named = re.search(r"on (RAG evaluation|Safety of LLM agents|Speech codecs) "
                      r"\((?:best )?(\d\.\d\d) × priority (\d)\)", decision.reason)
    assert named, decision.reason
    assert named.groups() == ("RAG evaluation", "0.86", "5"), decision.reason


def paper(pid: str) -> Paper:
    return Paper(id=pid, title=f"Paper {pid}", abstract="An abstract.", authors=("A. Author",),
                 categories=("cs.CL",), published=DAY, updated=DAY)


def test_a_paper_relevant_on_one_track_waits_as_relevant_even_if_it_scores_more_elsewhere(
    workspace: Path,
) -> None:
    """One rule for "relevant": a paper relevant on any active track counts as waiting."""
    from agent.config import load_settings
    from agent.snapshot import take_snapshot
    from agent.store import Store

    settings = load_settings(workspace)
    with Store(settings.database_url) as store:
        store.upsert_papers([paper("2601.00001")], cycle=None)
        store.set_status(["2601.00001"], "ranked")
        store.save_matches([
            Match("2601.00001", SAFETY.id, 0.6, True),  # 0.6 × 2 = 1.2, relevant
            Match("2601.00001", RAG.id, 0.32, False),  # 0.32 × 5 = 1.6, below the bar
        ])
        snapshot = take_snapshot(store, [RAG, CODECS, SAFETY], settings, DAY)
    assert [(c.track_id, c.relevant) for c in snapshot.candidates] == [(SAFETY.id, True)]


def graph_section(graph: str, heading: str) -> str:
    start = graph.find(f"## {heading}")
    if start < 0:
        return ""
    end = graph.find("\n## ", start + 1)
    return graph[start:] if end < 0 else graph[start:end]


def test_read_in_full_lists_no_paper_read_from_its_abstract_only(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample replay reads abstracts only: neither this cycle's paper nor an earlier one
    may appear under "Read in full"."""
    for pid in ("2601.03115", "2601.02978"):
        assert run_cli(capsys, "queue", "add", pid, "-w", str(workspace),
                       "--source", "sample").code == 0
    for _ in range(2):
        ran = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "deep-read",
                      "--source", "sample")
        assert "committed" in ran.out, ran.out + ran.err
    notes = sorted((workspace / "cycles").rglob("*-deep-read.md"))
    assert len(notes) == 2
    assert all("**Read from**: the abstract only" in n.read_text() for n in notes)
    graph = (workspace / "state" / "knowledge-graph.md").read_text(encoding="utf-8")
    full = graph_section(graph, "Read in full")
    assert "2601.03115" not in full and "2601.02978" not in full, full


def test_digest_counts_new_and_relevant_papers_as_the_store_and_tracks_do(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deep read stores no new paper; the digest's totals match the store and `tracks`."""
    import json

    from agent.config import load_settings
    from agent.store import Store

    for action in ("learn", "deep-read"):
        ran = run_cli(capsys, "cycle", "-w", str(scanned), "--action", action,
                      "--source", "sample")
        assert "committed" in ran.out, ran.out + ran.err
    page = run_cli(capsys, "digest", "--since", "2000-01-01", "-w", str(scanned)).out
    with Store(load_settings(scanned).database_url) as store:
        stored = store.count_papers()
    header = re.search(r"· (\d+) new papers ·", page)
    assert header and int(header.group(1)) == stored, (header, stored)
    for section in page.split("## Cycle #")[1:]:
        if "· deep-read (" in section.splitlines()[0]:
            assert "new papers stored" not in section, section
    tracks = json.loads(run_cli(capsys, "tracks", "--json", "-w", str(scanned)).out)
    table = graph_section(page, "Tracks")
    for row in tracks:
        line = next(ln for ln in table.splitlines() if ln.startswith(f"| {row['name']}"))
        assert line.split("|")[3].strip() == str(row["papers"]), (line, row)
    # a cycle's relevant papers per track are listed in the order of the Tracks table
    listed = re.search(r"new papers stored; relevant now: (.*)", page)
    assert listed, page
    names = [re.sub(r" \d+$", "", part) for part in listed.group(1).split(", ")]
    rows = [ln.split("|")[1].strip() for ln in table.splitlines()[2:] if ln.startswith("| ")]
    assert len(names) > 1 and names == [name for name in rows if name in names], (names, rows)


def test_the_offline_learn_notes_next_reads_first_the_paper_it_queues_first(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_cli(capsys, "cycle", "-w", str(scanned), "--action", "learn", "--source", "sample")
    assert "committed" in ran.out, ran.out + ran.err
    note = next((scanned / "cycles").rglob("*-learn.md")).read_text(encoding="utf-8")
    following = graph_section(note, "Next")
    queued = re.findall(r"Queued for a deep read: \[arXiv:([\d.]+)\]", following)
    assert queued, following  # the sample's learn queues a paper
    named = re.findall(r"Read ([\d.]+) first", following)
    assert named == [queued[0]], following


def test_log_has_a_status_column_and_shows_why_a_cycle_failed(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "deep-read")
    assert failed.code == 1
    rested = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "rest")
    assert rested.code == 0
    shown = run_cli(capsys, "log", "-w", str(workspace))
    lines = shown.out.splitlines()
    assert "status" in lines[0].split(), shown.out
    row = {ln.split()[0]: ln for ln in lines[1:] if ln.strip()}
    assert " failed " in row["1"] and " rested " in row["2"], shown.out
    assert "cycle 1 failed: The must-read queue is empty" in shown.out, shown.out


def test_run_refuses_every_and_cron_together(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_cli(capsys, "run", "-w", str(workspace), "--every", "1s", "--cron", "* * * * *",
                  "--max-cycles", "1", "--source", "sample")
    assert ran.code == 2, ran.out + ran.err
    assert "--every" in ran.err and "--cron" in ran.err
    assert not list((workspace / "cycles").rglob("*-*.md"))  # nothing ran


def test_commands_find_the_workspace_from_a_subdirectory(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deep = workspace / "cycles" / "2026"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    shown = run_cli(capsys, "status", "--json")
    assert shown.code == 0, shown.err
    import json

    assert json.loads(shown.out)["workspace"] == str(workspace)
    elsewhere = tmp_path / "not-a-radar"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    refused = run_cli(capsys, "status")
    assert refused.code != 0 and "not-a-radar" in refused.out + refused.err


def tracks_add(workspace: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`research-agent tracks add FLAGS` from a script: a real process, no terminal."""
    return subprocess.run(
        [sys.executable, "-m", "agent", "tracks", "add", "-w", str(workspace), *flags],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )


def test_tracks_add_from_a_script_needs_only_the_flags(workspace: Path) -> None:
    from agent.tracks import load_tracks

    added = tracks_add(workspace, "--id", "rag-eval", "--name", "RAG evaluation",
                       "--description", "How to evaluate RAG?", "--keywords", "rag, faithfulness")
    assert added.returncode == 0, added.stdout + added.stderr
    track = load_tracks(workspace / "state" / "tracks.toml")[-1]
    assert (track.id, track.priority, track.categories) == ("rag-eval", 3, ())  # --help defaults


def test_tracks_add_from_a_script_names_what_is_missing(workspace: Path) -> None:
    before = (workspace / "state" / "tracks.toml").read_text(encoding="utf-8")
    refused = tracks_add(workspace, "--id", "rag-eval", "--name", "RAG evaluation")
    assert refused.returncode != 0
    assert "--description" in refused.stderr and "--keywords" in refused.stderr, refused.stderr
    assert (workspace / "state" / "tracks.toml").read_text(encoding="utf-8") == before


def interrupt_scan(workspace: Path, silent, tmp_path: Path, send) -> str:  # type: ignore[no-untyped-def]
    """Run `cycle --action scan` against a silent arXiv, `send(proc)` once it waits on its
    answer, and check it rolled back at once; returns what it said."""
    import os
    import sqlite3
    import time

    from tests.repo import git

    env = {**os.environ, "ARXIV_API_URL": silent.url, "ARXIV_DELAY_SECONDS": "0"}
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "cycle", "-w", str(workspace), "--action", "scan"],
            env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    try:
        deadline = time.monotonic() + 30
        while silent.connections == 0:  # the cycle is inside its arXiv request
            assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.02)
        send(proc)
        try:  # a safety net only: it exits in well under a second when it works
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 60 s after Ctrl-C; it said:\n{out.read_text()}"
                        f"{err.read_text()}")
    finally:
        if proc.poll() is None:
            proc.kill()
    said = out.read_text() + err.read_text()
    assert code != 0, said
    assert "cycle 1 interrupted, rolled back" in said, said
    db = sqlite3.connect(workspace / "state" / "agent.db")
    try:
        rows = list(db.execute("select number, status from cycles"))
    finally:
        db.close()
    assert rows == [(1, "aborted")], rows  # not left `running` for the next start to repair
    assert git(workspace, "status", "--porcelain") == ""
    return said


def test_ctrl_c_during_cycle_rolls_it_back_at_once_and_says_so(
    workspace: Path, trickle_server, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    import signal

    silent = trickle_server(mode="silent")  # arXiv accepts the request and never answers
    interrupt_scan(workspace, silent, tmp_path, lambda proc: proc.send_signal(signal.SIGINT))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_ctrl_c_taken_by_another_thread_still_interrupts_the_waiting_cycle_at_once(
    workspace: Path, trickle_server, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """The kernel may hand a process's SIGINT to any of its threads (a request's deadline
    timer, the spinner). Python runs the handler only in the main thread, once it wakes: the
    cycle sat in arXiv's silent read until the request's deadline (here 600 s). kill() of a
    thread's id makes the kernel prefer that thread, so each one but the main is aimed at."""
    import contextlib
    import os
    import signal

    from tests.repo import git

    settings = workspace / "research.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("# timeout_seconds = 60 ", "timeout_seconds = 600 ", 1),
                        encoding="utf-8")
    git(workspace, "commit", "-qam", "arXiv requests may take 10 minutes")
    silent = trickle_server(mode="silent")

    def to_other_threads(proc: subprocess.Popen[bytes]) -> None:
        threads = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid]
        assert threads, "the cycle runs threads besides the main one"
        for thread in sorted(threads, reverse=True):
            with contextlib.suppress(ProcessLookupError):  # that thread had ended
                os.kill(thread, signal.SIGINT)

    interrupt_scan(workspace, silent, tmp_path, to_other_threads)


def test_ctrl_c_while_summaries_are_in_flight_rolls_back_without_waiting_for_them(
    scanned: Path, openai_server, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """The summaries run in a thread pool; leaving its `with` block on Ctrl-C waited for every
    call in flight (up to `[llm] timeout_seconds` each) before the cycle could roll back. The
    model holds every summary until the test lets go: the rollback must come first."""
    import os
    import signal
    import threading
    import time

    from tests.fakes.openai_server import default_content, prompt_text

    holding, let_go = [], threading.Event()

    def hold_summaries(request):  # type: ignore[no-untyped-def]
        if "summarise one paper" in prompt_text(request):
            holding.append(1)
            let_go.wait(120)
        return default_content(request)

    openai_server.respond_with(hold_summaries)
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-0123456789",
           "OPENAI_BASE_URL": openai_server.base_url}
    out = tmp_path / "out"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "cycle", "-w", str(scanned), "--action", "learn",
             "--source", "sample"],
            env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while len(holding) < 2:  # two summaries in flight in the pool
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        while "rolled back" not in out.read_text():  # while the model still holds the calls
            assert time.monotonic() < deadline + 30, f"no rollback yet:\n{out.read_text()}"
            time.sleep(0.02)
        assert not let_go.is_set() and proc.poll() in (None, 130)
    finally:
        let_go.set()  # the calls in flight end; the process exits after them
        code = proc.wait(timeout=60)
    assert code == 130, out.read_text()
    assert "cycle 1 interrupted, rolled back" not in out.read_text()  # cycle 2: 1 was the scan
    assert "cycle 2 interrupted, rolled back" in out.read_text()


def test_ctrl_c_on_a_cycle_raises_once_and_the_previous_handler_comes_back() -> None:
    """A second Ctrl-C while the first one rolls the cycle back does not cut the rollback."""
    import signal

    from agent.interrupt import main_takes_ctrl_c

    before = signal.getsignal(signal.SIGINT)
    with main_takes_ctrl_c():
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)  # ignored: no KeyboardInterrupt escapes
    assert signal.getsignal(signal.SIGINT) is before
    assert signal.set_wakeup_fd(-1) == -1  # the wakeup fd was given back too


def test_ctrl_c_handler_set_up_halfway_is_still_given_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An error (or Ctrl-C) midway through installing the handler left it installed for good:
    every later Ctrl-C in the process ignored. Here the second signal's handler fails to install,
    after SIGINT's and the wakeup fd are in place."""
    import signal

    from agent import interrupt

    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(interrupt._MainInterrupt, "signals", (signal.SIGINT, 0))
    with pytest.raises(ValueError), interrupt.main_takes_ctrl_c():
        pytest.fail("the block must not run without its handler")
    assert signal.getsignal(signal.SIGINT) is before
    assert signal.set_wakeup_fd(-1) == -1


def test_a_cycle_refused_under_run_takes_no_number_and_no_turn(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from agent.runner import RunFlags, run_forever

    tracks = workspace / "state" / "tracks.toml"
    good = tracks.read_text(encoding="utf-8")
    seen = []

    def report(outcome) -> None:  # type: ignore[no-untyped-def]
        seen.append(outcome)
        if len(seen) == 1:
            tracks.write_text("[[track]]\nid = 'x'\n", encoding="utf-8")  # missing fields
        elif len(seen) == 2:
            tracks.write_text(good, encoding="utf-8")  # the researcher fixes it

    flags = RunFlags(every="1s", max_cycles=2, source="sample", demo=True)
    assert run_forever(workspace, flags, report=report) == 0
    assert [(o.number, o.status) for o in seen] == [(1, "committed"), (None, "failed"),
                                                   (2, "committed")]
    rows = json.loads(run_cli(capsys, "log", "-w", str(workspace), "--json").out)
    assert [r["number"] for r in rows] == [2, None, 1]
    assert [r["status"] for r in rows] == ["committed", "failed", "committed"]
    assert "tracks.toml" in rows[1]["error"]
    shown = run_cli(capsys, "log", "-w", str(workspace)).out
    assert "not started: " in shown and "tracks.toml" in shown, shown


def test_tracks_add_on_a_terminal_asks_for_what_is_missing(workspace: Path) -> None:
    """The guided way stays: on a terminal, each field not given is asked for."""
    import os
    import pty
    import select
    import time

    from agent.tracks import load_tracks

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "tracks", "add", "-w", str(workspace), "--id", "rag-eval"],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    answers = {"name": "RAG evaluation", "description": "How to evaluate RAG?",
               "keywords": "rag", "categories": "cs.CL", "priority": "5"}
    seen, deadline = "", time.monotonic() + 30
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                continue
            try:
                seen += os.read(master, 1024).decode(errors="replace")
            except OSError:
                break
            for prompt, answer in list(answers.items()):
                if seen.rstrip().endswith(":") and prompt in seen.rsplit("\n", 1)[-1]:
                    os.write(master, (answer + "\n").encode())
                    del answers[prompt]
        assert proc.wait(timeout=30) == 0, seen
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert not answers, seen  # every missing field was asked for
    track = load_tracks(workspace / "state" / "tracks.toml")[-1]
    assert (track.id, track.name, track.priority, track.categories) == (
        "rag-eval", "RAG evaluation", 5, ("cs.CL",))
