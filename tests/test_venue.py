"""The venue and page count a paper's arXiv comment gives (agent/venue.py)."""

from __future__ import annotations

import pytest

from agent.venue import page_count, parse_venue


@pytest.mark.parametrize(
    ("comment", "venue"),
    [
        ("Accepted at ICASSP 2026", "ICASSP 2026"),
        ("accepted to Interspeech 2025, 5 pages", "Interspeech 2025"),
        ("Accepted by INTERSPEECH 2024, best paper runner-up", "INTERSPEECH 2024"),
        ("Accepted as a poster at ICLR 2026", "ICLR 2026"),
        ("Camera-ready version for ACL 2025 Findings", "ACL 2025 Findings"),
        ("EUSIPCO 2026", "EUSIPCO 2026"),
        ("12 pages, 9 figures, AAMAS 2026", "AAMAS 2026"),
        ("NeurIPS 2025 Workshop on Mechanistic Interpretability", "NeurIPS 2025 Workshop"),
        ("To appear in the Proceedings of ACL 2025", "ACL 2025"),
        ("Proceedings of the 41st International Conference on Machine Learning, Vienna",
         "Proceedings of the 41st International Conference on Machine Learning"),
        ("Accepted to Elsevier Computer Speech and Language. 30 pages, 9 figures",
         "Elsevier Computer Speech and Language"),
        ("Submitted to ICASSP 2026", ""),
        ("12 pages, under review at ACL 2026", ""),
        ("16 pages, 6 figures", ""),
        ("Code: https://github.com/x/y", ""),
        ("", ""),
    ],
)
def test_parse_venue(comment: str, venue: str) -> None:
    assert parse_venue(comment) == venue


def test_page_count() -> None:
    assert page_count("16 pages, 6 figures") == 16
    assert page_count("Accepted at ICASSP 2026; 5 pages") == 5
    assert page_count("1 page abstract") == 1
    assert page_count("Accepted at ICASSP 2026") is None
