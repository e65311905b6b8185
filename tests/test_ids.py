"""arXiv ids in every form a person pastes."""

import pytest

from agent.errors import UnknownPaperError
from agent.sources.ids import is_arxiv_reference, normalize_arxiv_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2602.15307", ("2602.15307", None)),
        ("2602.15307v2", ("2602.15307", 2)),
        ("arxiv:2602.15307", ("2602.15307", None)),
        ("arXiv:2602.15307v3", ("2602.15307", 3)),
        ("https://arxiv.org/abs/2602.15307v2", ("2602.15307", 2)),
        ("http://arxiv.org/pdf/2602.15307v1.pdf", ("2602.15307", 1)),
        ("https://arxiv.org/pdf/2602.15307", ("2602.15307", None)),
        ("arxiv.org/html/2602.15307", ("2602.15307", None)),
        ("https://arxiv.org/html/2602.15307v1/", ("2602.15307", 1)),
        ("https://www.arxiv.org/abs/2602.15307", ("2602.15307", None)),
        ("  2602.15307\n", ("2602.15307", None)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("math.GT/0309136v1", ("math.GT/0309136", 1)),
        ("http://arxiv.org/abs/hep-th/9901001", ("hep-th/9901001", None)),
        ("http://arxiv.org/abs/cond-mat/0603029v1", ("cond-mat/0603029", 1)),
        ("0704.0001", ("0704.0001", None)),
        ("1707.08567v12", ("1707.08567", 12)),
    ],
)
def test_normalize_arxiv_id_accepts_every_real_form(text, expected):
    assert normalize_arxiv_id(text) == expected
    assert is_arxiv_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "",
        "2602.153",  # too few digits
        "2602.153071",  # too many
        "2602.15307v",  # version without a number
        "https://example.com/abs/2602.15307",
        "hep-th/990100",
        "../../etc/passwd",
        "2602.15307; rm -rf /",
    ],
)
def test_normalize_arxiv_id_rejects_malformed_input(text):
    assert not is_arxiv_reference(text)
    with pytest.raises(UnknownPaperError) as info:
        normalize_arxiv_id(text)
    assert "is not an arXiv id" in str(info.value)
    assert "2602.15307 or hep-th/9901001" in str(info.value)


def test_error_message_quotes_the_input():
    with pytest.raises(UnknownPaperError, match=r"^'abc' is not an arXiv id; use e\.g\. "):
        normalize_arxiv_id("abc")


def test_error_message_cuts_long_input():
    with pytest.raises(UnknownPaperError) as info:
        normalize_arxiv_id("x" * 5000)
    assert len(str(info.value)) < 200
