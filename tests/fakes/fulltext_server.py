"""A loopback stand-in for arxiv.org/html/ and arxiv.org/pdf/, plus builders of realistic bodies.

`make_latexml_html` writes markup in the shape arXiv's LaTeXML converter produces (with the page
clutter around it); `make_pdf` writes a real, minimal PDF (Helvetica, text operators) that pypdf
can extract, so no PDF library is needed to make test documents.
"""

from __future__ import annotations

import html
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class CannedResponse:
    """What the fake answers for one path."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    send_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    trickle: float = 0.0  # > 0: send the body one byte per this many seconds


class FulltextServer:
    """Serves /html/<versioned id> and /pdf/<versioned id> from what a test registered."""

    def __init__(self) -> None:
        self.responses: dict[str, CannedResponse] = {}
        self.requests: list[str] = []  # paths, in the order they were asked for
        self.closing = threading.Event()  # set on stop: trickling handlers give up
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.html_url = f"{self.base_url}/html/"
        self.pdf_url = f"{self.base_url}/pdf/"
        # A short poll interval: shutdown() waits for one, and every test stops a server.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def add_html(self, versioned_id: str, body: str) -> None:
        """Serve `body` as arXiv's HTML rendering of `versioned_id` ("2602.15307v1")."""
        self.set_response(f"/html/{versioned_id}", 200, body, "text/html; charset=utf-8")

    def add_pdf(self, versioned_id: str, pdf_bytes: bytes) -> None:
        """Serve `pdf_bytes` as the PDF of `versioned_id`."""
        self.set_response(f"/pdf/{versioned_id}", 200, pdf_bytes, "application/pdf")

    def set_response(
        self,
        path: str,
        status: int,
        body: bytes | str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        send_length: bool = True,
        trickle: float = 0.0,
    ) -> None:
        """Answer GET `path` with exactly this (odd statuses, wrong types, redirects, a trickle)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.responses[path] = CannedResponse(
            status, data, content_type, headers or {}, send_length, trickle
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append(self.path)
                canned = server.responses.get(self.path) or CannedResponse(
                    404, b"<html><body>Not Found</body></html>", "text/html"
                )
                self.send_response(canned.status)
                self.send_header("Content-Type", canned.content_type)
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                if canned.send_length:
                    self.send_header("Content-Length", str(len(canned.body)))
                self.end_headers()
                try:
                    if not canned.trickle:
                        self.wfile.write(canned.body)
                        return
                    self.wfile.flush()
                    for i in range(len(canned.body)):
                        if server.closing.wait(canned.trickle):
                            return
                        self.wfile.write(canned.body[i : i + 1])
                        self.wfile.flush()
                except OSError:
                    pass  # the client refused the body part-way (too big, too slow)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output clean

        return Handler


@pytest.fixture
def fulltext_server() -> Iterator[FulltextServer]:
    """A running fake of arXiv's HTML and PDF endpoints on 127.0.0.1."""
    server = FulltextServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


PAGE_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta content="text/html; charset=utf-8" http-equiv="content-type"/>
<title>{title}</title>
<link href="https://arxiv.org/static/browse/0.3.4/css/ar5iv.0.7.9.min.css" rel="stylesheet"/>
<style>.ltx_page_main {{ margin: auto; }} .clutter-style {{ color: red; }}</style>
<script src="https://arxiv.org/static/browse/0.3.4/js/addons_new.js"></script>
<script>var clutterScript = "do not extract me";</script>
</head>
<body>
<header class="mob_header"><div class="html-header-logo">Clutter banner: arXiv HTML</div>
<button class="ar5iv-report-issue">Report issue</button></header>
<nav class="ltx_page_navbar"><nav class="ltx_TOC"><ol class="ltx_toclist">
<li class="ltx_tocentry">Clutter table of contents</li></ol></nav></nav>
<div class="ltx_page_main"><div class="ltx_page_content">
<article class="ltx_document ltx_authors_1line">
<h1 class="ltx_title ltx_title_document">{title}</h1>
<div class="ltx_authors"><span class="ltx_creator ltx_role_author">
<span class="ltx_personname">Clutter Author</span></span></div>
"""

PAGE_FOOT = """</article></div>
<footer class="ltx_page_footer"><div class="ltx_page_logo">Clutter footer: generated by LaTeXML
</div></footer></div>
<script>document.querySelectorAll('.clutter').forEach(e => e.remove());</script>
</body>
</html>
"""


def make_latexml_html(title: str, sections: list[tuple[str, str]]) -> str:
    """An arXiv-style LaTeXML page: "Abstract" becomes ltx_abstract, "References" the bibliography.

    Paragraphs of a section's text are separated by blank lines; bibliography entries by newlines.
    Everything outside the given sections (head, scripts, nav, header, footer, authors) contains
    the word "Clutter", so tests can assert none of it was extracted.
    """
    parts = [PAGE_HEAD.format(title=html.escape(title))]
    number = 0
    for index, (heading, text) in enumerate(sections, start=1):
        if heading.strip().lower() == "abstract":
            parts.append(render_abstract(text))
        elif heading.strip().lower() in ("references", "bibliography"):
            parts.append(render_bibliography(heading, text))
        else:
            number += 1
            parts.append(render_section(f"S{index}", number, heading, text))
    parts.append(PAGE_FOOT)
    return "".join(parts)


def render_abstract(text: str) -> str:
    paragraphs = "".join(f'<p class="ltx_p">{html.escape(p)}</p>\n' for p in split_paragraphs(text))
    return (
        '<div class="ltx_abstract">\n<h6 class="ltx_title ltx_title_abstract">Abstract</h6>\n'
        f"{paragraphs}</div>\n"
    )


def render_section(anchor: str, number: int, heading: str, text: str) -> str:
    paragraphs = "".join(
        f'<div class="ltx_para" id="{anchor}.p{i}">\n'
        f'<p class="ltx_p">{html.escape(p)}</p>\n</div>\n'
        for i, p in enumerate(split_paragraphs(text), start=1)
    )
    return (
        f'<section class="ltx_section" id="{anchor}">\n'
        f'<h2 class="ltx_title ltx_title_section">'
        f'<span class="ltx_tag ltx_tag_section">{number} </span>{html.escape(heading)}</h2>\n'
        f"{paragraphs}</section>\n"
    )


def render_bibliography(heading: str, text: str) -> str:
    items = "".join(
        f'<li class="ltx_bibitem" id="bib.bib{i}"><span class="ltx_tag ltx_tag_bibitem">[{i}]'
        f'</span><span class="ltx_bibblock">{html.escape(line)}</span></li>\n'
        for i, line in enumerate((x for x in text.splitlines() if x.strip()), start=1)
    )
    return (
        '<section class="ltx_bibliography" id="bib">\n'
        f'<h2 class="ltx_title ltx_title_bibliography">{html.escape(heading)}</h2>\n'
        f'<ul class="ltx_biblist">\n{items}</ul>\n</section>\n'
    )


def split_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()] or [""]


LINES_PER_PAGE = 48


def make_pdf(sections: list[tuple[str, str]]) -> bytes:
    """A real PDF printing each (title, text): the title on its own line, then the wrapped text.

    Titles are printed as given ("1 Introduction", "ABSTRACT", "References"). Text must be
    Latin-1 (Helvetica with WinAnsi encoding).
    """
    lines: list[str] = []
    for title, text in sections:
        lines.append(title)
        for paragraph in text.split("\n"):
            lines.extend(textwrap.wrap(paragraph, 90) or [""])
        lines.append("")
    pages = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    return build_pdf([page_stream(page) for page in pages])


def page_stream(lines: list[str]) -> bytes:
    """A content stream writing `lines` top-down in 11pt Helvetica."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
    for line in lines:
        ops.append(f"({pdf_escape(line)}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build_pdf(streams: list[bytes]) -> bytes:
    """Objects 1 catalog, 2 pages, 3 font, then a page and its content stream per page."""
    page_ids = [4 + 2 * i for i in range(len(streams))]
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(streams)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for pid, stream in zip(page_ids, streams, strict=True):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {pid + 1} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)
