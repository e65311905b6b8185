"""Cut a full text into parts of bounded size for the map step of a deep read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Chunk:
    """Consecutive sections (or parts of one long section) read in one map call."""

    titles: list[str] = field(default_factory=list)
    text: str = ""


def split_long(text: str, max_chars: int) -> list[str]:
    """A text cut into pieces of at most max_chars, at paragraph breaks where possible."""
    pieces: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        while len(paragraph) > max_chars:  # one huge paragraph: cut at a space near the limit
            cut = paragraph.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            if current:
                pieces.append(current)
                current = ""
            pieces.append(paragraph[:cut].strip())
            paragraph = paragraph[cut:].strip()
        joined = f"{current}\n\n{paragraph}" if current else paragraph
        if len(joined) > max_chars:
            pieces.append(current)
            current = paragraph
        else:
            current = joined
    if current.strip():
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def section_parts(title: str, text: str, max_chars: int) -> list[Chunk]:
    """One section as one chunk, or as numbered parts when it is longer than max_chars."""
    if len(text) <= max_chars:
        return [Chunk([title], text)]
    pieces = split_long(text, max_chars)
    return [
        Chunk([f"{title} (part {i} of {len(pieces)})"], piece)
        for i, piece in enumerate(pieces, start=1)
    ]


def plan_chunks(sections: Sequence[tuple[str, str]], max_chars: int) -> list[Chunk]:
    """Sections grouped in order into chunks of at most max_chars; nothing is dropped."""
    chunks: list[Chunk] = []
    current = Chunk()
    for index, (title, text) in enumerate(sections, start=1):
        title = title.strip() or f"Section {index}"
        for part in section_parts(title, text.strip(), max_chars):
            block = f"## {part.titles[0]}\n{part.text}"
            if current.titles and len(current.text) + len(block) + 2 > max_chars:
                chunks.append(current)
                current = Chunk()
            current.titles += part.titles
            current.text = f"{current.text}\n\n{block}" if current.text else block
    if current.titles:
        chunks.append(current)
    return chunks
