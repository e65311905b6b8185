"""arXiv identifiers, the one module that knows their shapes.

New style since April 2007: `YYMM.NNNN` (to 2014) or `YYMM.NNNNN` (from 2015).
Old style before: `archive[.SUBJECT]/YYMMNNN`, e.g. `hep-th/9901001`, `math.GT/0309136`.

- `normalize_arxiv_id`: any form a person pastes (URL, "arXiv:" prefix, version) reduced to
  (versionless id, version); `is_arxiv_reference` says whether it would succeed.
- `is_versionless_id`: only the bare, versionless form, the one that may become a link, a file
  name or a cache key.
- `find_arxiv_ids`: new-style ids cited inside running text.
"""

from __future__ import annotations

import re

from agent.errors import UnknownPaperError
from agent.text import shorten

_NEW_STYLE = r"\d{4}\.\d{4,5}"
_OLD_STYLE = r"[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]{2})?/\d{7}"

# An optional "arxiv:" prefix or an arxiv.org abs/pdf/html URL, the id, an optional version,
# and an optional ".pdf" or trailing slash (what browsers show for PDF and HTML pages).
_ID_PATTERN = re.compile(
    r"^(?:arxiv:|(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/)?"
    rf"(?P<id>{_NEW_STYLE}|{_OLD_STYLE})"
    r"(?:v(?P<version>\d{1,4}))?"  # arXiv's versions are few: v10^12 is not an id
    r"(?:\.pdf)?/?$",
    re.IGNORECASE | re.ASCII,  # ASCII digits only: "２６０３.００００１" is not an id
)


def normalize_arxiv_id(text: str) -> tuple[str, int | None]:
    """(versionless id, version or None) of an arXiv id or URL; UnknownPaperError if not one."""
    match = _ID_PATTERN.match(text.strip())
    if match is None:
        raise UnknownPaperError(
            f"{shorten(text, 80)!r} is not an arXiv id; use e.g. 2602.15307 or hep-th/9901001"
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


_VERSIONLESS = re.compile(rf"{_NEW_STYLE}|{_OLD_STYLE}", re.ASCII)


def is_versionless_id(text: str) -> bool:
    """True only for a bare, versionless id ("2602.15307", "hep-th/9901001"): no URL, no version.

    The form that may become a link, a file name or a cache key.
    """
    return _VERSIONLESS.fullmatch(text) is not None


def is_arxiv_reference(text: str) -> bool:
    """True if `text` is an arXiv id or arxiv.org URL that normalize_arxiv_id accepts."""
    return _ID_PATTERN.match(text.strip()) is not None


# In running text ("see 2602.05027v2"): not part of a longer number or a version-less decimal.
_CITED = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?!\d)", re.ASCII)


def find_arxiv_ids(text: str, exclude: str = "") -> list[str]:
    """New-style arXiv ids cited in a text, versionless, first-seen order, without `exclude`."""
    return [i for i in dict.fromkeys(_CITED.findall(text)) if i != exclude]
