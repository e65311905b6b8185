"""The README's note excerpt is a real note of the current demo, not a memory of an old one."""

from __future__ import annotations

from pathlib import Path

from agent.cycle import CycleOptions, run_cycle

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_excerpt() -> list[str]:
    """The lines of the Markdown block under "What a note looks like"."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## What a note looks like") :]
    block = section[section.index("```markdown\n") + len("```markdown\n") :]
    return block[: block.index("\n```\n")].splitlines()


def missing_in_order(excerpt: list[str], note: list[str]) -> list[str]:
    """Excerpt lines that do not appear in the note in the same order (an excerpt may skip)."""
    missing, at = [], 0
    for line in excerpt:
        found = next((i for i in range(at, len(note)) if note[i] == line), None)
        if found is None:
            missing.append(line)
        else:
            at = found + 1
    return missing


def test_the_readme_excerpt_is_the_demo_learn_note(scanned: Path) -> None:
    """The demo's second cycle is a learn on the sample after a scan: the same note, line by line
    (dates in the excerpt come from the papers, not the clock)."""
    outcome = run_cycle(scanned, CycleOptions(action="learn", source="sample"))
    assert outcome.status == "committed", outcome.error
    note = (scanned / str(outcome.note_path)).read_text(encoding="utf-8").splitlines()
    excerpt = readme_excerpt()
    assert len(excerpt) > 20 and any(line.startswith("### Paper") for line in excerpt)
    assert missing_in_order(excerpt, note) == []
