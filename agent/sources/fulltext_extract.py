"""Turn a downloaded paper (arXiv's LaTeXML HTML or a PDF) into sections of plain text.

Everything here is pure: bytes or str in, [(title, text)] out. The text is data for the analyst,
never markup: tags are dropped, entities decoded, scripts and page furniture skipped.
"""

from __future__ import annotations

import io
import logging
import re
from html.parser import HTMLParser

from pypdf import PdfReader
from pypdf.errors import PyPdfError

log = logging.getLogger(__name__)

Sections = list[tuple[str, str]]

REFERENCES_MAX_CHARS = 6000  # enough to see what a paper builds on, not a token sink
MATH_ALT_MAX_CHARS = 60  # longer TeX is clutter to a reader of plain text
REFERENCE_TITLES = {"references", "bibliography", "references and notes"}

# Elements whose whole content is furniture, not paper text.
SKIP_TAGS = {
    "script",
    "style",
    "nav",
    "header",
    "footer",
    "noscript",
    "template",
    "button",
    "form",
    "svg",
    "annotation",
    "annotation-xml",
    "head",
}
# LaTeXML classes of furniture: author block, dates, footnote bodies, the document title.
SKIP_CLASSES = {
    "ltx_authors",
    "ltx_dates",
    "ltx_note_outer",
    "ltx_title_document",
    "ltx_page_header",
    "ltx_page_footer",
    "ltx_TOC",
    "ltx_keywords_outer",
}
VOID_TAGS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "tr",
    "figure",
    "figcaption",
    "table",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "dl",
    "dt",
    "dd",
    "section",
    "article",
    "h3",
    "h4",
    "h5",
    "h6",
}


class LatexmlExtractor(HTMLParser):
    """Collects (heading, text) per top-level section: <h2> opens one, h3-h5 stay inline."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[tuple[str, list[str]]] = []
        self.skip: tuple[str, int] | None = None  # tag being skipped and its nesting depth
        self.heading: list[str] | None = None  # text of the <h2> being read
        self.abstract_depth = 0  # <div> nesting inside ltx_abstract (0: not in it)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip:
            if tag == self.skip[0] and tag not in VOID_TAGS:
                self.skip = (tag, self.skip[1] + 1)
            return
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        if tag == "math":
            self.write_math(attributes.get("alttext") or "")
            self.skip = ("math", 1)
        elif tag in SKIP_TAGS or classes & SKIP_CLASSES:
            if tag not in VOID_TAGS:
                self.skip = (tag, 1)
        elif tag == "h2" or "ltx_title_abstract" in classes:
            self.heading = []
        elif tag == "div" and "ltx_abstract" in classes:
            self.abstract_depth = 1
            self.sections.append(("Abstract", []))
        elif tag == "div" and self.abstract_depth:
            self.abstract_depth += 1
        elif tag == "br":
            self.write("\n")
        elif "ltx_bibblock" in classes:
            self.write(" ")  # LaTeXML sets "[3]" and the entry in adjacent spans
        elif tag in BLOCK_TAGS:
            self.write("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            name, depth = self.skip
            if tag == name:
                self.skip = (name, depth - 1) if depth > 1 else None
            return
        if self.heading is not None and (tag == "h2" or tag == "h6"):
            title = " ".join("".join(self.heading).split())
            self.heading = None
            if not (self.abstract_depth and title.lower() == "abstract"):
                self.sections.append((title, []))
        elif tag == "div" and self.abstract_depth:
            self.abstract_depth -= 1
        elif tag in BLOCK_TAGS:
            self.write("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.write(data)

    def write(self, text: str) -> None:
        if self.heading is not None:
            self.heading.append(text)
        elif self.sections:
            self.sections[-1][1].append(text)
        elif text.strip():
            self.sections.append(("Text", [text]))  # a paper without \section

    def write_math(self, alttext: str) -> None:
        alt = " ".join(alttext.split())
        self.write(f" {alt} " if alt and len(alt) <= MATH_ALT_MAX_CHARS else " [formula] ")


def extract_html_sections(markup: str) -> Sections:
    """Sections of an arXiv LaTeXML page, in order, with the references last and truncated."""
    parser = LatexmlExtractor()
    parser.feed(markup)
    parser.close()
    sections = [(title, tidy_text("".join(parts))) for title, parts in parser.sections]
    return finish_sections(sections)


def tidy_text(text: str) -> str:
    """Collapse runs of spaces within lines and of blank lines between paragraphs."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    joined = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", joined).strip()


def finish_sections(sections: Sections) -> Sections:
    """Drop empty sections; truncate references."""
    finished = []
    for title, text in sections:
        if not text:
            continue
        if is_references(title) and len(text) > REFERENCES_MAX_CHARS:
            text = text[:REFERENCES_MAX_CHARS].rstrip() + " […]"
        finished.append((title, text))
    return finished


def is_references(title: str) -> bool:
    """True for a bibliography heading ("References", "7 References", "REFERENCES")."""
    bare = re.sub(r"^[\dIVX.]+\s+", "", title.strip()).rstrip(":").lower()
    return bare in REFERENCE_TITLES


# -- PDF --------------------------------------------------------------------------------------

NUMBERED_HEADING = re.compile(r"^(\d{1,2})\.?\s+([A-Z][\w ,:&()/'-]{1,70})$")
ROMAN_HEADING = re.compile(r"^(I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)\.\s+([A-Z][A-Z ,:&-]{2,60})$")
ROMAN_NUMBERS = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
NAMED_HEADINGS = {
    "abstract",
    "introduction",
    "references",
    "bibliography",
    "acknowledgments",
    "acknowledgements",
    "acknowledgment",
    "appendix",
    "conclusion",
    "conclusions",
    "related work",
    "discussion",
    "methods",
    "results",
    "limitations",
}
ABSTRACT_INLINE = re.compile(r"^abstract\s*[.:—–-]\s*(\S.*)$", re.IGNORECASE)
PAGE_FURNITURE = re.compile(r"^(\d{1,4}|arXiv:\S+\s+\[[\w.-]+\]\s+.*)$")


def extract_pdf_sections(data: bytes) -> Sections:
    """Sections of a PDF by heading lines; raises ValueError if pypdf cannot read it."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ValueError("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, KeyError, TypeError, AttributeError) as exc:
        # pypdf raises more than its own errors on damaged files; all mean "unreadable".
        raise ValueError(f"pypdf could not read it ({exc.__class__.__name__}: {exc})") from exc
    return split_pdf_text("\n".join(pages))


def split_pdf_text(text: str) -> Sections:
    """Split extracted PDF text into (heading, text) at lines that look like section headings."""
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)  # re-join words hyphenated at line ends
    sections: list[tuple[str, list[str]]] = [("Front matter", [])]
    # Numbered headings must count up (per style), so a wrapped "2 The results" is text.
    expected = {"arabic": 1, "roman": 1}
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line or PAGE_FURNITURE.match(line):
            continue
        heading, rest = match_heading(line, expected)
        if heading:
            sections.append((heading, [rest] if rest else []))
        else:
            sections[-1][1].append(line)
    return finish_sections([(title, "\n".join(lines).strip()) for title, lines in sections])


def match_heading(line: str, expected: dict[str, int]) -> tuple[str, str]:
    """(heading, text after it) when `line` is a heading, else ("", ""); counts in `expected`."""
    inline = ABSTRACT_INLINE.match(line)
    if inline:
        return "Abstract", inline.group(1)
    if line.rstrip(":").lower() in NAMED_HEADINGS:
        return line.rstrip(":"), ""
    numbered = NUMBERED_HEADING.match(line)
    if (
        numbered
        and int(numbered.group(1)) == expected["arabic"]
        and len(numbered.group(2).split()) <= 10
    ):
        expected["arabic"] += 1
        return line, ""
    roman = ROMAN_HEADING.match(line)
    if roman and ROMAN_NUMBERS.index(roman.group(1)) + 1 == expected["roman"]:
        expected["roman"] += 1
        return line, ""
    return "", ""
