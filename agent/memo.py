"""Work remembered across processes, keyed by what it was computed from: the user cache.

`research-agent status`, `log`, `tracks` and `triage` are short processes that read files an earlier
process already validated (state/tracks.toml, research.toml). Validating them needs pydantic,
whose import alone costs about 0.2 s of CPU, more than the rest of such a command. So a
validated result is kept as JSON under a key made of every input it depends on: the file's
bytes, the environment it was read with, and the source of the rules that checked it. The same
inputs give the same result without pydantic; any change (a byte of the file, a rule) is a new
key and is validated again, so a memo never lets an invalid file through.

A memo holds no secret (callers leave API keys out) and is only an optimisation: when it cannot
be read or written, the work is done as before.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

try:  # CPython's own SHA-256 (the one random.py uses for SHA-512): hashlib would load OpenSSL,
    from _sha2 import sha256  # ~5 ms of every quick command; the digest is the same
except ImportError:  # 3.12+ names it _sha2, 3.11 _sha256, other Pythons only hashlib
    try:
        from _sha256 import sha256
    except ImportError:
        from hashlib import sha256

logger = logging.getLogger(__name__)

CACHE_ENV = "RESEARCH_AGENT_CACHE"
FORMAT = "1"  # bump when a memo's JSON shape changes
KEEP = 200  # memos kept; each edit of a file makes a new one, so the oldest are removed


def cache_dir() -> Path:
    """The user cache: $RESEARCH_AGENT_CACHE, else $XDG_CACHE_HOME or ~/.cache, /research-agent."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "research-agent"


def source_of(*modules: str) -> bytes:
    """The source files of these modules (`agent.tracks`), as part of a key: a memo made under
    other rules is never used. Read as files: importing them is what a memo avoids."""
    root = Path(__file__).resolve().parent.parent
    return b"".join((root / (name.replace(".", "/") + ".py")).read_bytes() for name in modules)


def memo_path(kind: str, inputs: list[bytes]) -> Path:
    digest = sha256(FORMAT.encode())
    for part in inputs:  # length-prefixed: no two input lists share a key
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return cache_dir() / "memo" / f"{kind}-{digest.hexdigest()[:32]}.json"


def recall(kind: str, inputs: list[bytes]) -> Any | None:
    """What `remember` kept for exactly these inputs, or None."""
    path = memo_path(kind, inputs)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.debug("memo %s unreadable (%s): computing again", path, exc)
        return None


def remember(kind: str, inputs: list[bytes], value: Any, keep: int = KEEP) -> None:
    """Keep `value` (JSON-ready, no secret) for these inputs; written whole or not at all.
    Past `keep` memos, the least recently written go."""
    from agent.files import write_atomic

    path = memo_path(kind, inputs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(value, ensure_ascii=False))
        prune(path.parent, keep)
    except OSError as exc:
        logger.debug("memo %s not written: %s", path, exc)


def prune(folder: Path, keep: int) -> None:
    """Remove all but the `keep` newest memos in `folder` (a concurrent removal is fine)."""
    memos = list(folder.glob("*.json"))
    if len(memos) <= keep:
        return
    dated = []
    for memo in memos:
        try:
            dated.append((memo.stat().st_mtime_ns, memo))
        except FileNotFoundError:
            continue
    for _, memo in sorted(dated, reverse=True)[keep:]:
        memo.unlink(missing_ok=True)
