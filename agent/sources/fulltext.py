"""Full texts of arXiv papers: the HTML rendering first, then the PDF, the abstract as last resort.

Downloads are bounded (bytes, a wall-clock deadline per request that holds however slowly the peer
answers, content type and magic bytes), spaced the way
arXiv's terms ask, and only follow redirects on the same host. Texts are cached as JSON under the
cache directory the caller passes (it must be git-ignored: arXiv licenses full texts for personal
research use, so they are never committed).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

import httpx

from agent import __version__
from agent.errors import SourceError, UnknownPaperError
from agent.files import write_atomic
from agent.models import FullText, Paper
from agent.net import bounded_client
from agent.settings import ArxivSettings, FulltextSettings
from agent.sources.fulltext_extract import Sections, extract_html_sections, extract_pdf_sections
from agent.sources.ids import is_versionless_id

log = logging.getLogger(__name__)

USER_AGENT = f"research-agent/{__version__} (personal research radar)"
CHUNK_BYTES = 64 * 1024
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
TRANSIENT_STATUSES = {429, 500, 502, 503, 504}

Clock = Callable[[], float]
Reader = Callable[["Downloader", str], Sections]


class RateLimiter(Protocol):
    """Anything that blocks until the next request to arXiv may go out."""

    def wait(self) -> None: ...


class RequestSpacer:
    """Keeps `delay` seconds between requests (arXiv asks for one request every three seconds)."""

    def __init__(
        self,
        delay: float,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.delay = delay
        self.clock = clock
        self.sleep = sleep
        self.last: float | None = None

    def wait(self) -> None:
        """Sleep until `delay` has passed since the previous request, then mark this one."""
        if self.last is not None:
            remaining = self.delay - (self.clock() - self.last)
            if remaining > 0:
                self.sleep(remaining)
        self.last = self.clock()


class FetchReport(NamedTuple):
    """A full text and the notes on how it was got ("HTML not available (404)", "read the PDF")."""

    text: FullText
    notes: list[str]

    @property
    def summary(self) -> str:
        return "; ".join(self.notes)


class Unavailable(Exception):
    """One source cannot be used; `transient` means trying later may succeed."""

    def __init__(self, reason: str, transient: bool = False, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.missing = missing  # 404/410: common and expected (many papers have no HTML)



def fetch_full_text_with_report(
    paper: Paper,
    settings: ArxivSettings,
    limits: FulltextSettings,
    cache_dir: Path,
    *,
    client: httpx.Client | None = None,
    spacer: RequestSpacer | None = None,
) -> FetchReport:
    """The paper's full text and how it was got; a cached text is reused without network.

    `spacer` keeps arXiv's delay between requests (pass one to space several papers' requests;
    by default a new one at `settings.delay_seconds`); its clock also times each download.

    Raises UnknownPaperError for a malformed id, and SourceError (retryable) when the PDF could
    not be downloaded for a reason that may pass (network, timeout, 429/5xx): a deep read of the
    abstract alone should not replace a deep read of the paper because arXiv was briefly down.
    """
    path = cache_path(cache_dir, paper.id, paper.version)
    cached = read_cached(path)
    if cached is not None:
        return FetchReport(cached, [f"read the cached {cached.source.upper()} text"])
    spacer = spacer or RequestSpacer(settings.delay_seconds)
    with open_client(client, limits.deadline_seconds, settings.timeout_seconds) as http:
        downloader = Downloader(http, limits, timeout_for(settings, limits), spacer.clock, spacer)
        text, notes = read_first_available(paper, settings, limits, downloader)
    if text.source != "abstract":
        write_cached(path, text)
    return FetchReport(text, notes)


def read_first_available(
    paper: Paper, settings: ArxivSettings, limits: FulltextSettings, downloader: Downloader
) -> tuple[FullText, list[str]]:
    """Try the HTML, then the PDF; the abstract when neither can be used."""
    notes: list[str] = []
    attempts: list[tuple[Literal["html", "pdf"], str, Reader]] = [
        ("html", settings.html_url, read_html),
        ("pdf", settings.pdf_url, read_pdf),
    ]
    failure: Unavailable | None = None
    for source, base_url, read in attempts:
        url, label = base_url + paper.versioned_id, source.upper()
        try:
            sections = read(downloader, url)
        except Unavailable as exc:
            level = logging.INFO if exc.missing else logging.WARNING
            log.log(level, "%s of %s: %s (%s)", label, paper.versioned_id, exc.reason, url)
            notes.append(f"{label} {exc.reason}")
            failure = exc
            continue
        notes.append(f"read the {label} ({len(sections)} sections)")
        return FullText(paper.id, source, limit_sections(sections, limits.max_sections), url), notes
    if failure is not None and failure.transient:
        raise SourceError(
            f"Could not download the full text of arXiv:{paper.versioned_id} "
            f"({'; '.join(notes)}). arXiv may be busy or unreachable: try again later.",
            url=settings.pdf_url + paper.versioned_id,
            retryable=True,
        )
    notes.append("fell back to the abstract")
    return abstract_full_text(paper), notes


def abstract_full_text(paper: Paper) -> FullText:
    """The last resort: the abstract as the only section."""
    return FullText(paper.id, "abstract", [("Abstract", paper.abstract)], paper.abs_url)


def read_html(downloader: Downloader, url: str) -> Sections:
    """Sections of arXiv's HTML rendering at `url`."""
    body = downloader.get(url, "text/html")
    head = body[:2048].lstrip().lower()
    if not (head.startswith(b"<!doctype html") or b"<html" in head):
        raise Unavailable("is not HTML (no <html> near the start)")
    sections = extract_html_sections(body.decode("utf-8", errors="replace"))
    if not sections:
        raise Unavailable("had no readable text")
    return sections


def read_pdf(downloader: Downloader, url: str) -> Sections:
    """Sections of the PDF at `url`."""
    body = downloader.get(url, "application/pdf")
    if not body.startswith(b"%PDF-"):
        raise Unavailable("is not a PDF (it does not start with %PDF-)")
    try:
        sections = extract_pdf_sections(body)
    except ValueError as exc:
        raise Unavailable(f"could not be read: {exc}") from exc
    if not sections:
        raise Unavailable("had no extractable text (a scanned paper?)")
    return sections


def limit_sections(sections: Sections, max_sections: int) -> Sections:
    """At most `max_sections`: the overflow is merged into the last one, so no text is lost."""
    if len(sections) <= max_sections or max_sections < 1:
        return sections
    kept, rest = sections[: max_sections - 1], sections[max_sections - 1 :]
    merged = "\n\n".join(f"{title}\n{text}" for title, text in rest[1:])
    title, text = rest[0]
    return [*kept, (title, f"{text}\n\n{merged}")]


@dataclass
class Downloader:
    """Bounded GETs: size, wall-clock deadline, content type, same-host redirects, spacing."""

    client: httpx.Client
    limits: FulltextSettings
    timeout: httpx.Timeout
    clock: Clock
    limiter: RateLimiter

    def get(self, url: str, content_type: str) -> bytes:
        """The body at `url`; raises Unavailable saying why it cannot be used."""
        origin = current = httpx.URL(url)
        started: float | None = None
        for _ in range(MAX_REDIRECTS + 1):
            self.limiter.wait()
            started = self.clock() if started is None else started
            try:
                with self.client.stream(
                    "GET",
                    current,
                    timeout=self.timeout,
                    follow_redirects=False,
                    headers={"User-Agent": USER_AGENT},
                ) as response:
                    if response.is_redirect:
                        current = redirect_target(origin, response)
                        continue
                    check_response(response, content_type, self.limits.max_bytes)
                    return self.read_body(response, started)
            except httpx.TransportError as exc:
                raise Unavailable(f"could not be downloaded ({describe(exc)})", True) from exc
            except httpx.HTTPError as exc:
                raise Unavailable(f"could not be downloaded ({describe(exc)})") from exc
        raise Unavailable(f"redirected more than {MAX_REDIRECTS} times")

    def read_body(self, response: httpx.Response, started: float) -> bytes:
        """Read the body in chunks, refusing it as soon as it is too big or too slow."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes(CHUNK_BYTES):
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise Unavailable(f"is larger than the limit of {self.limits.max_bytes} bytes")
            if self.clock() - started > self.limits.deadline_seconds:
                raise Unavailable(
                    f"took longer than the {self.limits.deadline_seconds:g} s deadline"
                )
            chunks.append(chunk)
        return b"".join(chunks)


def check_response(response: httpx.Response, content_type: str, max_bytes: int) -> None:
    """Refuse an error status, a wrong content type or a declared size over the limit."""
    status = response.status_code
    if status in (404, 410):
        raise Unavailable(f"not available ({status})", missing=True)
    if status in TRANSIENT_STATUSES:
        raise Unavailable(f"not available (arXiv answered {status})", transient=True)
    if status != 200:
        raise Unavailable(f"not available (arXiv answered {status})")
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != content_type:
        raise Unavailable(f"has the wrong content type ({shorten(media)!r}, not {content_type})")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise Unavailable(f"is larger than the limit of {max_bytes} bytes ({declared} declared)")


def redirect_target(origin: httpx.URL, response: httpx.Response) -> httpx.URL:
    """Where a redirect points, if it stays on the origin's host (and never drops to http)."""
    target = response.url.join(response.headers.get("location", ""))
    downgrade = origin.scheme == "https" and target.scheme != "https"
    if target.host != origin.host or target.scheme not in ("http", "https") or downgrade:
        raise Unavailable(f"redirected off {origin.host} (not followed)")
    return target


def describe(exc: Exception) -> str:
    """A short reason for a transport error, without echoing anything the server sent."""
    return exc.__class__.__name__


def shorten(value: str, limit: int = 60) -> str:
    """Printable ASCII only, bounded: header values are server data and end up in notes."""
    return "".join(c for c in value if c.isascii() and c.isprintable())[:limit]


def timeout_for(settings: ArxivSettings, limits: FulltextSettings) -> httpx.Timeout:
    """Explicit httpx timeouts: these bound each read; the deadline bounds the whole download."""
    per_read = min(settings.timeout_seconds, limits.deadline_seconds)
    return httpx.Timeout(per_read, connect=min(CONNECT_TIMEOUT, per_read))


@contextmanager
def open_client(
    client: httpx.Client | None, deadline_seconds: float, timeout_seconds: float
) -> Iterator[httpx.Client]:
    """The caller's client (left open), or a new one closed afterwards.

    Ours gives each request a total deadline (agent.net): a peer that trickles its headers or
    body, or says nothing, fails like a timeout by then, and the next source is tried.
    """
    if client is not None:
        yield client
        return
    with bounded_client(
        deadline_seconds,
        timeout_seconds,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    ) as own:
        yield own


# -- cache ------------------------------------------------------------------------------------


def cache_path(cache_dir: Path, paper_id: str, version: int) -> Path:
    """The cache file of one paper version; the id is validated so it can never leave cache_dir."""
    if not is_versionless_id(paper_id) or version < 1:
        raise UnknownPaperError(
            f"{shorten(paper_id)!r} (v{version}) is not an arXiv id: expected e.g. "
            "2602.15307 or hep-th/9901001 and a version >= 1."
        )
    # "/" only appears in old-style ids and "_" never does, so this mapping is one-to-one.
    path = cache_dir / f"{paper_id.replace('/', '_')}v{version}.json"
    if path.resolve().parent != cache_dir.resolve():
        raise UnknownPaperError(f"{shorten(paper_id)!r} would be cached outside {cache_dir}.")
    return path


def read_cached(path: Path) -> FullText | None:
    """The cached full text at `path`, or None when absent or unreadable (then it is fetched)."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        sections = [(str(title), str(text)) for title, text in data["sections"]]
        if data["source"] not in ("html", "pdf"):
            raise ValueError(f"unexpected source {data['source']!r}")
        return FullText(str(data["paper_id"]), data["source"], sections, str(data["url"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("Ignoring unreadable full-text cache %s (%s); fetching again", path, exc)
        return None


def write_cached(path: Path, text: FullText) -> None:
    """Write atomically; a failure only costs a download next time, so it is logged, not raised."""
    data = {
        "paper_id": text.paper_id,
        "source": text.source,
        "url": text.url,
        "sections": [list(section) for section in text.sections],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(data, ensure_ascii=False))
    except OSError as exc:
        log.warning("Could not cache the full text at %s (%s)", path, exc)
