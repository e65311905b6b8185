"""Where a paper appeared and how long it is, from its arXiv comment (free text by the authors).

Common forms: "Accepted at ICASSP 2026", "Accepted to Interspeech 2025", "To appear in the
Proceedings of ACL 2025", "EUSIPCO 2026", "Proceedings of the 41st ICML", "16 pages, 6 figures".
A comment saying "submitted to" or "under review" names no venue yet.
"""

from __future__ import annotations

import re

_NOT_YET = re.compile(r"\b(submitted|under review|in review|preprint|rejected)\b", re.IGNORECASE)
_YEAR = r"(?:19|20)\d{2}"
# "accepted at/to/by/in/for X", "to appear in X", "published in X": X runs to a clause break.
_ACCEPTED = re.compile(
    r"\b(?:accepted|to appear|published|presented|appear(?:s|ed)?)\b"
    r"(?:\s+(?:as|for|at|to|by|in|on|the|a|an|publication|poster|oral|paper|main|conference|"
    r"track|full|short|long|findings|of))*\s+(?P<venue>[^;,()\[\]]{2,80})",
    re.IGNORECASE,
)
_PROCEEDINGS = re.compile(r"\b(?P<venue>Proceedings of [^;,()\[\]]{2,80})", re.IGNORECASE)
# "ICASSP 2026", "Interspeech 2025", "NeurIPS 2025 Workshop": a capitalised name, then a year.
_NAMED_YEAR = re.compile(
    rf"\b(?P<venue>(?:[A-Z][A-Za-z&-]*\s){{0,3}}[A-Z][A-Za-z&-]*['\s]{_YEAR}"
    r"(?:\s(?:Workshop|Findings|Demo|Industry Track))?)"
)
_PAGES = re.compile(r"\b(\d{1,3})\s*pages?\b", re.IGNORECASE)
_TRAILING = re.compile(r"\.\s.*$|[\s.:;-]+$|\s+(?:with|including)\s.*$", re.IGNORECASE)


def parse_venue(comment: str) -> str:
    """The venue a comment names ("ICASSP 2026"), or "" when it names none or none yet."""
    text = " ".join(comment.split())
    if not text or _NOT_YET.search(text):
        return ""
    for pattern in (_ACCEPTED, _PROCEEDINGS):
        match = pattern.search(text)
        if match:
            venue = _TRAILING.sub("", match.group("venue")).strip()
            named = _NAMED_YEAR.search(venue)
            if pattern is _ACCEPTED and named:
                return named.group("venue")
            if venue and (venue[0].isupper() or venue[0].isdigit()):
                return venue
    named = _NAMED_YEAR.search(text)
    return named.group("venue") if named else ""


def page_count(comment: str) -> int | None:
    """The number of pages a comment gives ("16 pages, 6 figures" -> 16)."""
    match = _PAGES.search(comment)
    return int(match.group(1)) if match else None
