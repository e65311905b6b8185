"""arXiv identifiers: every form a person pastes, reduced to (versionless id, version).

New style since April 2007: `YYMM.NNNN` (to 2014) or `YYMM.NNNNN` (from 2015).
Old style before: `archive[.SUBJECT]/YYMMNNN`, e.g. `hep-th/9901001`, `math.GT/0309136`.
"""

from __future__ import annotations

import re

from agent.errors import UnknownPaperError

_NEW_STYLE = r"\d{4}\.\d{4,5}"
_OLD_STYLE = r"[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]{2})?/\d{7}"

# An optional "arxiv:" prefix or an arxiv.org abs/pdf/html URL, the id, an optional version,
# and an optional ".pdf" or trailing slash (what browsers show for PDF and HTML pages).
_ID_PATTERN = re.compile(
    r"^(?:arxiv:|(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/)?"
    rf"(?P<id>{_NEW_STYLE}|{_OLD_STYLE})"
    r"(?:v(?P<version>\d+))?"
    r"(?:\.pdf)?/?$",
    re.IGNORECASE,
)


def normalize_arxiv_id(text: str) -> tuple[str, int | None]:
    """(versionless id, version or None) of an arXiv id or URL; UnknownPaperError if not one."""
    match = _ID_PATTERN.match(text.strip())
    if match is None:
        raise UnknownPaperError(
            f"{_shorten(text)!r} is not an arXiv id; use e.g. 2602.15307 or hep-th/9901001"
        )
    paper_id = match.group("id")
    if "/" in paper_id:
        # Old-style archives are lower case, subject classes upper case: "math.GT/0309136".
        archive, number = paper_id.split("/")
        name, _, subject = archive.partition(".")
        archive = f"{name.lower()}.{subject.upper()}" if subject else name.lower()
        paper_id = f"{archive}/{number}"
    version = match.group("version")
    return paper_id, int(version) if version else None


_VERSIONLESS = re.compile(rf"{_NEW_STYLE}|{_OLD_STYLE}")


def is_versionless_id(text: str) -> bool:
    """True only for a bare, versionless id ("2602.15307", "hep-th/9901001"): no URL, no version.

    The form that may become a link, a file name or a cache key.
    """
    return _VERSIONLESS.fullmatch(text) is not None


def is_arxiv_id(text: str) -> bool:
    """True if `text` is an arXiv id or arxiv.org URL that normalize_arxiv_id accepts."""
    return _ID_PATTERN.match(text.strip()) is not None


def _shorten(text: str, limit: int = 80) -> str:
    """Untrusted input, cut to a length fit for an error message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
