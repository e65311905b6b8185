"""A loopback arXiv API speaking the real Atom format, as the pytest fixture `arxiv_server`.

Usage (any test; the plugin is listed in tests/conftest.py):

    def test_scan(arxiv_server):
        arxiv_server.add_papers([Paper(id="2602.15307", title=..., abstract=..., ...)])
        settings = ArxivSettings(api_url=arxiv_server.url, delay_seconds=0)
        ...
        assert arxiv_server.requests[0]["search_query"] == "..."

What it answers, like the arXiv API's /api/query:
- `id_list` (comma separated, versioned or not): known ids in the given order; an unknown but
  well-formed id is simply absent (empty feed); a malformed one (`abc`) is HTTP 400 with arXiv's
  error feed. With both `id_list` and `search_query`, the ids that match the query.
- `search_query`: `cat:X` (a trailing `*` matches a prefix: `cat:cs.*`), `all:`/`ti:`/`abs:`/`au:`
  words or "quoted phrases", bare words (= `all:`), `AND`, `OR`, `ANDNOT` (left to right) and
  parentheses. Words match case-insensitively at a word start ("model" finds "models"), a crude
  stand-in for arXiv's stemming. An unparseable query is HTTP 400.
- `submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]` (and `lastUpdatedDate:[…]`): published (updated)
  within the range, both ends included, as the arXiv API documents.
- `sortBy` relevance (count of query words in title+abstract) / submittedDate (published) /
  lastUpdatedDate (updated), `sortOrder`, `start`, `max_results` (default 10) and
  `opensearch:totalResults`.

Scripting: `fail_next(503, times=2, headers={"Retry-After": "7"})`, `serve_file(path)` (a recorded
response, verbatim, for the next request), `serve_bytes(body, content_type)` (any 200 body: an HTML
page, broken XML), `pass_next(times)` (answer the next requests from the corpus, so that a later
script hits page 3, say), `stall_next(seconds)` (answer only after a delay, to trip a client
timeout), `serve_with(make, times)` (a 200 with the body `make(query)` builds: a corpus page from
`page(query)` with a lying totalResults, endless fresh entries). Scripted answers are used in the
order they were added, one per request.
`requests` lists every request's query parameters (single values, strings), scripted or not.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape, quoteattr

import pytest

from agent.models import Paper

ATOM_HEADER = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
)
_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v(\d+))?$")
_DEFAULT_DATE = datetime(2026, 1, 1, tzinfo=UTC)  # for papers given without dates


@dataclass
class Scripted:
    """One canned answer for the next request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0  # seconds to wait before answering (0: answer normally)
    content_type: str = "application/atom+xml; charset=utf-8"
    make: Callable[[dict[str, str]], bytes] | None = None  # builds the body from the query


class ArxivServer:
    """State and answers of the fake API; the HTTP handler below only calls `respond`."""

    def __init__(self) -> None:
        self.url = ""  # set once the server listens: http://127.0.0.1:PORT/api/query
        self.requests: list[dict[str, str]] = []
        self.papers: dict[str, Paper] = {}  # versionless id -> newest version
        self._script: list[Scripted] = []
        self._lock = threading.Lock()
        self.released = threading.Event()  # set on shutdown: stalled handlers return at once

    def add_papers(self, papers: Iterable[Paper]) -> None:
        """Add papers to the corpus; a higher version of a known id replaces it."""
        with self._lock:
            for paper in papers:
                kept = self.papers.get(paper.id)
                if kept is None or paper.version >= kept.version:
                    self.papers[paper.id] = paper

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` requests with HTTP `status` (e.g. 503, 429 + Retry-After)."""
        body = f"<html><body>HTTP {status}</body></html>".encode()
        with self._lock:
            for _ in range(times):
                self._script.append(Scripted(status, body, dict(headers or {}), 0.0, "text/html"))

    def serve_file(self, path: str | Path, status: int = 200) -> None:
        """Answer the next request with this recorded response file, byte for byte."""
        with self._lock:
            self._script.append(Scripted(status, Path(path).read_bytes()))

    def serve_bytes(
        self,
        body: bytes,
        content_type: str = "application/atom+xml",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next request with these bytes (an HTML page, broken XML, a custom feed),
        and these headers (e.g. Content-Encoding: gzip for a compressed body)."""
        with self._lock:
            self._script.append(Scripted(status, body, dict(headers or {}), 0.0, content_type))

    def pass_next(self, times: int = 1) -> None:
        """Answer the next `times` requests from the corpus (scripts after them come later)."""
        with self._lock:
            self._script.extend(Scripted(status=0) for _ in range(times))

    def stall_next(self, seconds: float, times: int = 1) -> None:
        """Hold the next `times` requests for `seconds` before answering (to trip timeouts)."""
        with self._lock:
            self._script.extend(Scripted(stall=seconds) for _ in range(times))

    def serve_with(self, make: Callable[[dict[str, str]], bytes], times: int = 1) -> None:
        """Answer the next `times` requests with HTTP 200 and the body `make(query)` returns."""
        with self._lock:
            self._script.extend(Scripted(make=make) for _ in range(times))

    def respond(self, query: dict[str, str]) -> Scripted:
        """The answer to one request: the next scripted one, else one from the corpus."""
        with self._lock:
            self.requests.append(query)
            scripted = self._script.pop(0) if self._script else None
        if scripted and scripted.stall:
            self.released.wait(scripted.stall)
            return replace(scripted, stall=0.0, body=self.answer(query).body)
        if scripted and scripted.make is not None:
            return replace(scripted, body=scripted.make(query), make=None)
        if scripted is None or scripted.status == 0:
            return self.answer(query)
        return scripted

    def answer(self, query: dict[str, str]) -> Scripted:
        """An Atom feed for a query, or arXiv's 400 error feed."""
        try:
            page, total, start, size = self.page(query)
        except ValueError as exc:
            return Scripted(400, render_error(str(exc)).encode())
        return Scripted(200, render_feed(query, page, total, start, size).encode())

    def page(self, query: dict[str, str]) -> tuple[list[Paper], int, int, int]:
        """(papers of the requested page, total matches, start, max_results) from the corpus;
        ValueError with arXiv's message if the query is invalid."""
        matches = self._select(query)
        start = int(query.get("start") or 0)
        size = int(query.get("max_results") or 10)
        return matches[start : start + size], len(matches), start, size

    def _select(self, query: dict[str, str]) -> list[Paper]:
        """Papers the query asks for, sorted; ValueError with arXiv's message if it is invalid."""
        with self._lock:
            corpus = list(self.papers.values())
        ids = [i.strip() for i in (query.get("id_list") or "").split(",") if i.strip()]
        text = (query.get("search_query") or "").strip()
        predicate = parse_query(text) if text else None
        if ids:
            chosen = [p for p in (self._by_id(i) for i in ids) if p is not None]
            return [p for p in chosen if predicate is None or predicate.matches(p)]
        if predicate is None:
            return []
        chosen = [p for p in corpus if predicate.matches(p)]
        return sort_papers(chosen, query, predicate.words())

    def _by_id(self, raw: str) -> Paper | None:
        match = _ID.match(raw)
        if match is None:
            raise ValueError(f"incorrect id format for {raw}")
        paper = self.papers.get(match.group(1))
        if paper is None or not match.group(4):
            return paper
        version = int(match.group(4))
        return replace(paper, version=version) if version <= paper.version else None


def sort_papers(papers: list[Paper], query: dict[str, str], words: list[str]) -> list[Paper]:
    """Order by sortBy/sortOrder as arXiv would (relevance: query words in title+abstract)."""
    sort_by = query.get("sortBy") or "relevance"
    descending = (query.get("sortOrder") or "descending") == "descending"

    def key(p: Paper) -> tuple[int, datetime, str]:
        published = p.published or _DEFAULT_DATE
        if sort_by == "submittedDate":
            return (0, published, p.id)
        if sort_by == "lastUpdatedDate":
            return (0, p.updated or published, p.id)
        text = f"{p.title} {p.abstract}".lower()
        return (sum(text.count(w) for w in words), published, p.id)

    return sorted(papers, key=key, reverse=descending)


def render_feed(
    query: dict[str, str], papers: list[Paper], total: int, start: int, size: int
) -> str:
    """A 2026-format arXiv Atom feed (same namespaces and element order as the real one)."""
    echo = (
        f"search_query={query.get('search_query', '')}&id_list={query.get('id_list', '')}"
        f"&start={start}&max_results={size}"
    )
    now = _stamp(datetime.now(UTC))
    head = (
        f"  <id>https://arxiv.org/api/fake{abs(hash(echo)) % 10**12}</id>\n"
        f"  <title>arXiv Query: {escape(echo)}</title>\n"
        f"  <updated>{now}</updated>\n"
        f"  <link href={quoteattr('https://arxiv.org/api/query?' + echo)}"
        ' type="application/atom+xml"/>\n'
        f"  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>\n"
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n"
    )
    return ATOM_HEADER + head + "".join(render_entry(p) for p in papers) + "</feed>\n"


def render_entry(paper: Paper) -> str:
    """One `<entry>` in the element order of the 2026 API."""
    vid = paper.versioned_id
    published = paper.published or _DEFAULT_DATE
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{escape(vid)}</id>",
        f"    <title>{escape(paper.title)}</title>",
        f"    <updated>{_stamp(paper.updated or published)}</updated>",
        f'    <link href="https://arxiv.org/abs/{escape(vid)}" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{escape(vid)}" rel="related"'
        ' type="application/pdf" title="pdf"/>',
        f"    <summary>{escape(paper.abstract)}</summary>",
    ]
    lines += [
        f'    <category term={quoteattr(c)} scheme="http://arxiv.org/schemas/atom"/>'
        for c in paper.categories
    ]
    lines.append(f"    <published>{_stamp(published)}</published>")
    if paper.comment:
        lines.append(f"    <arxiv:comment>{escape(paper.comment)}</arxiv:comment>")
    if paper.categories:
        lines.append(f"    <arxiv:primary_category term={quoteattr(paper.categories[0])}/>")
    for author in paper.authors:
        lines += ["    <author>", f"      <name>{escape(author)}</name>", "    </author>"]
    lines.append("  </entry>\n")
    return "\n".join(lines)


def render_error(message: str) -> str:
    """arXiv's error feed (served with HTTP 400), as in 2026_api_id_list_abc_http400_error.xml."""
    anchor = re.sub(r"[^a-z0-9]+", "_", message.lower())
    now = _stamp(datetime.now(UTC))
    return ATOM_HEADER + (
        "  <id>https://arxiv.org/</id>\n  <title>arXiv Search Results</title>\n"
        f"  <updated>{now}</updated>\n"
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>\n"
        "  <opensearch:totalResults>1</opensearch:totalResults>\n"
        "  <opensearch:startIndex>0</opensearch:startIndex>\n"
        "  <entry>\n"
        f"    <id>https://arxiv.org/api/errors#{anchor}</id>\n    <title>Error</title>\n"
        f"    <updated>{now}</updated>\n"
        f'    <link href="https://arxiv.org/api/errors#{anchor}" rel="alternate"'
        ' type="text/html"/>\n'
        f"    <summary>{escape(message)}</summary>\n"
        "    <author>\n      <name>arXiv api core</name>\n    </author>\n"
        "  </entry>\n</feed>\n"
    )


def _stamp(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- search_query: a small recursive-descent evaluator -------------------------------------

_TOKEN = re.compile(r'\s*(\(|\)|[A-Za-z]+:\[[^\]]*\]|[A-Za-z]+:"[^"]*"|"[^"]*"|[^\s()]+)')
_FIELDS = {"all", "ti", "abs", "au", "cat", "co", "jr", "id", "submitteddate", "lastupdateddate"}
_RANGE = re.compile(r"^\[(\d{12}) to (\d{12})\]$")


@dataclass
class Term:
    """One `field:value` test; `value` is a word or a phrase (lower case, no quotes)."""

    field: str
    value: str

    def matches(self, paper: Paper) -> bool:
        if self.field in ("submitteddate", "lastupdateddate"):
            low, high = _date_range(self.value)
            published = paper.published or _DEFAULT_DATE
            when = published if self.field == "submitteddate" else paper.updated or published
            return low <= when.replace(second=0, microsecond=0) <= high
        if self.field == "cat":
            if self.value.endswith("*"):
                return any(c.lower().startswith(self.value[:-1]) for c in paper.categories)
            return self.value in (c.lower() for c in paper.categories)
        pattern = r"\b" + r"\s+".join(re.escape(w) for w in self.value.split())
        return re.search(pattern, _field_text(paper, self.field), re.IGNORECASE) is not None

    def words(self) -> list[str]:
        return self.value.split() if self.field in ("all", "ti", "abs") else []


@dataclass
class Combined:
    """`left OP right` with OP one of AND, OR, ANDNOT."""

    op: str
    left: Term | Combined
    right: Term | Combined

    def matches(self, paper: Paper) -> bool:
        left = self.left.matches(paper)
        if self.op == "OR":
            return left or self.right.matches(paper)
        if self.op == "ANDNOT":
            return left and not self.right.matches(paper)
        return left and self.right.matches(paper)

    def words(self) -> list[str]:
        return self.left.words() + ([] if self.op == "ANDNOT" else self.right.words())


def parse_query(text: str) -> Term | Combined:
    """The predicate of an arXiv search_query; ValueError (served as HTTP 400) if malformed."""
    tokens = [t for t in _TOKEN.findall(text) if t]
    node, rest = _parse_expr(tokens)
    if rest:
        raise ValueError(f"malformed query near {rest[0]!r}")
    return node


def _parse_expr(tokens: list[str]) -> tuple[Term | Combined, list[str]]:
    node, tokens = _parse_atom(tokens)
    while tokens and tokens[0] in ("AND", "OR", "ANDNOT"):
        right, rest = _parse_atom(tokens[1:])
        node, tokens = Combined(tokens[0], node, right), rest
    return node, tokens


def _parse_atom(tokens: list[str]) -> tuple[Term | Combined, list[str]]:
    if not tokens:
        raise ValueError("malformed query: missing term")
    head, rest = tokens[0], tokens[1:]
    if head == "(":
        node, rest = _parse_expr(rest)
        if not rest or rest[0] != ")":
            raise ValueError("malformed query: unbalanced parentheses")
        return node, rest[1:]
    if head == ")" or head in ("AND", "OR", "ANDNOT"):
        raise ValueError(f"malformed query near {head!r}")
    name, sep, value = head.partition(":")
    if not sep or name.lower() not in _FIELDS:
        name, value = "all", head  # a bare word or phrase searches every field
    value = value.strip('"').replace("_", " ") if name.lower() == "au" else value.strip('"')
    term = Term(name.lower(), " ".join(value.lower().split()))
    if term.field in ("submitteddate", "lastupdateddate"):
        _date_range(term.value)  # ValueError (HTTP 400) now if malformed
    return term, rest


def _date_range(value: str) -> tuple[datetime, datetime]:
    """The two ends of `[YYYYMMDDHHMM to YYYYMMDDHHMM]` (lower-cased by the parser)."""
    match = _RANGE.match(value)
    if match is None:
        raise ValueError(f"malformed date range {value!r}")
    low, high = (datetime.strptime(m, "%Y%m%d%H%M").replace(tzinfo=UTC) for m in match.groups())
    return low, high


def _field_text(paper: Paper, name: str) -> str:
    if name == "ti":
        return paper.title
    if name == "abs":
        return paper.abstract
    if name == "au":
        return " ; ".join(paper.authors)
    if name == "co":
        return paper.comment
    if name == "id":
        return paper.id
    return " ".join([paper.title, paper.abstract, *paper.authors, paper.comment])


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        if parts.path != "/api/query":
            self.send_error(404)
            return
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        answer = self.server.fake.respond(query)
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep pytest output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a stalled handler must not hold up teardown
    fake: ArxivServer


@contextmanager
def serve() -> Iterator[ArxivServer]:
    """A fake arXiv API on 127.0.0.1 for the duration of the block (the fixture, benches)."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    fake = ArxivServer()
    httpd.fake = fake
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/api/query"
    # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.released.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def arxiv_server() -> Iterator[ArxivServer]:
    """A fake arXiv API on 127.0.0.1 (see the module docstring); stopped after the test."""
    with serve() as fake:
        yield fake
