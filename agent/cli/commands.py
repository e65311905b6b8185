"""Commands that run the agent: init, cycle, run, status, demo, triage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import JsonOption, WorkspaceOption, app, console, escape, print_json
from agent.workspace import resolve_workspace

ActionOption = Annotated[
    str | None,
    typer.Option(
        "--action",
        "-a",
        help="Force an action: scan, learn, deep-read or rest.",
        show_default=False,
    ),
]
SourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        help="Where papers come from: arxiv (the API) or sample "
        "(the bundled real papers replayed day by day).",
    ),
]


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the workspace.")],
) -> None:
    """Create a workspace: research.toml, example tracks, state/, cycles/, a git repo."""
    from agent.workspace import Workspace, init_workspace

    path, sha = init_workspace(directory)
    console.print(f"Created workspace [bold]{escape(str(path))}[/] (commit {sha[:8]}).")
    from agent.sources.categories import coverage_lines
    from agent.tracks import load_tracks

    for line in coverage_lines(load_tracks(Workspace(path).tracks_file)):
        console.print(escape(line))
    console.print("Next: edit state/tracks.toml, then run `research-agent cycle` in it.")


@app.command()
def cycle(
    workspace: WorkspaceOption = None,
    action: ActionOption = None,
    source: SourceOption = "arxiv",
) -> None:
    """Run one cycle now: decide, work, write a note, commit it (Ctrl-C rolls it back)."""
    from agent.cli.render import print_outcome
    from agent.cycle import CycleOptions, Interrupted, run_cycle
    from agent.interrupt import main_takes_ctrl_c
    from agent.logs import setup_logging
    from agent.workspace import Workspace

    path = resolve_workspace(workspace)
    setup_logging(Workspace(path).log_dir)  # a cycle by hand leaves its line in state/agent.log too
    try:
        with main_takes_ctrl_c(), console.status("starting the cycle", spinner="dots") as progress:
            outcome = run_cycle(
                path, CycleOptions(action=action, source=source, progress=progress.update)
            )
    except Interrupted as stopped:
        settled = {"aborted": "rolled back", "committed": "its commit had landed: recorded"}
        what = settled.get(stopped.status, "its files are removed by the next cycle")
        console.print(f"cycle {stopped.number} interrupted, {what}")
        raise typer.Exit(130) from None
    print_outcome(outcome)
    if outcome.status == "failed":
        raise typer.Exit(1)


@app.command()
def run(
    workspace: WorkspaceOption = None,
    every: Annotated[
        str | None,
        typer.Option(help="Interval: 90s, 15m, 2h (default from research.toml, hourly); "
                     "not with --cron."),
    ] = None,
    cron: Annotated[
        str | None,
        typer.Option(help='Cron schedule instead, e.g. "0 * * * *"; not with --every.'),
    ] = None,
    max_cycles: Annotated[int | None, typer.Option(help="Stop after this many cycles.")] = None,
    source: SourceOption = "arxiv",
) -> None:
    """Run in the foreground on a schedule until stopped (SIGTERM/Ctrl-C)."""
    from agent.runner import RunFlags, run_forever

    if every and cron:
        raise typer.BadParameter(
            f"--every {every!r} and --cron {cron!r} are two schedules; give one of them.",
            param_hint="'--every' / '--cron'",
        )
    path = resolve_workspace(workspace)
    flags = RunFlags(every=every, cron=cron, max_cycles=max_cycles, source=source)
    raise typer.Exit(run_forever(path, flags))


@app.command()
def status(
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Is it running? Last cycles, next wake, queue, candidates, tokens today."""
    from agent.cli.render import print_status
    from agent.status import collect_status

    report = collect_status(resolve_workspace(workspace))
    if as_json:
        print_json(report)  # untrusted titles: control and bidi characters stay escaped
    else:
        print_status(report)


@app.command()
def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Workspace to create (default: a new temporary directory)."),
    ] = None,
    cycles: Annotated[int, typer.Option(help="How many cycles to run.")] = 3,
    every: Annotated[str, typer.Option(help="Interval between cycles.")] = "1s",
) -> None:
    """A throwaway workspace, the bundled real papers replayed, a few real cycles and commits."""
    import tempfile  # here: random and bisect come with it, for the demo only

    from agent.cli.render import print_demo_end
    from agent.runner import RunFlags, run_forever
    from agent.workspace import init_workspace

    target = directory or Path(tempfile.mkdtemp(prefix="research-agent-demo-"))
    path, _ = init_workspace(target)
    console.print(
        f"Demo workspace: [bold]{escape(str(path))}[/] (bundled sample papers, "
        f"{cycles} cycles, one every {every})"
    )
    status_code = run_forever(
        path, RunFlags(every=every, max_cycles=cycles, source="sample", demo=True)
    )
    print_demo_end(path)
    raise typer.Exit(status_code)


@app.command()
def triage(
    papers: Annotated[
        Path,
        typer.Option(
            "--papers", help="Papers, one JSON object per line (id, title, abstract, categories)."
        ),
    ],
    tracks: Annotated[
        Path | None,
        typer.Option(
            "--tracks", help="A tracks.toml file (default: the workspace's).", show_default=False
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Papers per track.")] = 50,
    workspace: WorkspaceOption = None,
) -> None:
    """Rank papers against tracks offline; print {track: [{id, score}]} as JSON."""
    from agent.rank import triage as rank_triage
    from agent.sources.jsonl import read_papers_jsonl
    from agent.tracks import active_tracks, load_tracks
    from agent.workspace import Workspace

    tracks_file = tracks or Workspace(resolve_workspace(workspace)).tracks_file
    chosen = active_tracks(load_tracks(tracks_file))
    ranking = rank_triage(chosen, read_papers_jsonl(papers), top=top)
    typer.echo(json.dumps(ranking, ensure_ascii=False))
