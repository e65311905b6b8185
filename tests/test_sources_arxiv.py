"""ArxivSource against a loopback arXiv API (tests/fakes/arxiv_server.py) and recorded responses."""

import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agent.errors import SourceError, UnknownPaperError
from agent.models import Paper, Track
from agent.settings import ArxivSettings
from agent.sources import ScanRequest
from agent.sources.arxiv_api import ArxivSource, build_query, get_client, keep_newest
from agent.sources.arxiv_http import Response
from agent.sources.arxiv_retry import parse_retry_after

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv-api"
DAY0 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
NOW = DAY0 + timedelta(days=30)
SPEECH = Track(
    id="speech",
    name="Speech enhancement",
    description="Diffusion models for speech enhancement",
    keywords=("speech enhancement", "diffusion"),
    priority=4,
    categories=("eess.AS", "cs.SD"),
)


def make_paper(n: int, version: int = 1, title: str = "Diffusion for speech", **kw) -> Paper:
    """Paper 2602.000NN published n days after DAY0."""
    fields = {
        "id": f"2602.{n:05d}",
        "title": title,
        "abstract": f"We study speech enhancement, case {n}.",
        "authors": ("Ada Lovelace", "Alan Turing"),
        "categories": ("eess.AS", "cs.LG"),
        "version": version,
        "published": DAY0 + timedelta(days=n),
        "updated": DAY0 + timedelta(days=n, hours=version),
    }
    fields.update(kw)
    return Paper(**fields)


class Sleeps(list):
    """An injected sleep that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_source(server, **overrides) -> tuple[ArxivSource, Sleeps]:
    options = {"api_url": server.url, "delay_seconds": 0, "timeout_seconds": 2.0, "max_retries": 3}
    options.update(overrides)
    sleeps = Sleeps()
    return ArxivSource(ArxivSettings(**options), sleep=sleeps), sleeps


# --- recorded arXiv responses served verbatim ---------------------------------------------


def test_recorded_search_feed_parses_into_papers(arxiv_server):
    arxiv_server.serve_file(FIXTURES / "2026_api_search_query_all_testing_start0_max10.xml")
    source, _ = make_source(arxiv_server)
    papers = source.search(SPEECH, max_results=10)
    assert len(papers) == 10
    first = papers[0]
    assert (first.id, first.version) == ("2202.12139", 1)
    assert first.title.startswith("Testing Deep Learning Models: A First Comparative Study")
    assert first.authors == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert first.categories == ("cs.SE", "cs.LG")
    assert first.published == datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert first.comment.startswith("Artificial Intelligence in Software Testing 2022")
    assert all("\n" not in p.abstract for p in papers)
    assert arxiv_server.requests[0]["sortBy"] == "relevance"


def test_recorded_id_lookup_parses_unicode_authors(arxiv_server):
    arxiv_server.serve_file(FIXTURES / "2026_api_id_list_1707.08567.xml")
    source, _ = make_source(arxiv_server)
    [paper] = source.lookup(["https://arxiv.org/abs/1707.08567v1"])
    assert paper.id == "1707.08567" and paper.version == 1
    assert len(paper.authors) == 34 and "Dirk Wübben" in paper.authors
    assert paper.categories == ("cs.IT",)
    assert paper.comment.startswith("44 pages")
    assert arxiv_server.requests[0]["id_list"] == "1707.08567"


def test_recorded_empty_result_is_no_papers(arxiv_server):
    arxiv_server.serve_file(FIXTURES / "2026_api_id_list_0000.0000_empty_result.xml")
    source, _ = make_source(arxiv_server)
    assert source.lookup(["0000.0000"]) == []


def test_recorded_http400_error_feed_is_a_permanent_source_error(arxiv_server):
    arxiv_server.serve_file(FIXTURES / "2026_api_id_list_abc_http400_error.xml", status=400)
    source, sleeps = make_source(arxiv_server)
    with pytest.raises(SourceError) as info:
        source.lookup(["2602.15307"])
    assert "incorrect id format for abc" in str(info.value)
    assert info.value.url.startswith(arxiv_server.url)
    assert info.value.url in str(info.value)
    assert not info.value.retryable
    assert sleeps == [] and len(arxiv_server.requests) == 1


def test_recorded_2016_legacy_layout_parses(arxiv_server):
    name = "2016_legacy_api_search_query_au_del_maestro_AND_ti_checkerboard.xml"
    arxiv_server.serve_file(FIXTURES / name)
    source, _ = make_source(arxiv_server)
    [paper] = source.search(SPEECH, max_results=10)
    assert (paper.id, paper.version) == ("cond-mat/0603029", 1)
    assert paper.title == (
        "From stripe to checkerboard order on the square lattice in the presence of quenched "
        "disorder"
    )
    assert paper.abstract.startswith("We discuss the effects of quenched disorder")
    assert "\n" not in paper.abstract and "  " not in paper.abstract
    assert paper.categories == ("cond-mat.str-el", "cond-mat.supr-con")
    assert paper.authors == ("Adrian Del Maestro", "Bernd Rosenow", "Subir Sachdev")
    assert paper.comment == "10 pages, 11 figures; added reference"


# --- fetch_new: the listing's window and paging ----------------------------------------------


def test_fetch_new_pages_through_the_listing_newest_first(arxiv_server):
    arxiv_server.add_papers(make_paper(n) for n in range(1, 8))
    source, _ = make_source(arxiv_server, page_size=3, backfill_days=6)
    result = source.fetch_new(ScanRequest([SPEECH], now=DAY0 + timedelta(days=7)))
    assert [p.id for p in result.papers] == [f"2602.{n:05d}" for n in range(7, 0, -1)]
    assert [(r["start"], r["max_results"]) for r in arxiv_server.requests] == [
        ("0", "3"),
        ("3", "3"),
        ("6", "3"),
    ]
    first = arxiv_server.requests[0]
    # the whole listing of the categories in a window: the keywords are the ranker's business
    expected = "(cat:eess.AS OR cat:cs.SD) AND submittedDate:[202602021200 TO 202602081300]"
    assert first["search_query"] == expected
    assert (first["sortBy"], first["sortOrder"]) == ("submittedDate", "descending")
    assert result.queries == [expected] and result.requests == 3
    assert result.categories == ["eess.AS", "cs.SD"]
    assert result.cursor == DAY0 + timedelta(days=7)


def test_fetch_new_reads_back_to_since_minus_overlap(arxiv_server):
    arxiv_server.add_papers(make_paper(n) for n in range(1, 17))
    source, _ = make_source(arxiv_server, page_size=3, overlap_days=3)
    since = DAY0 + timedelta(days=13)
    result = source.fetch_new(ScanRequest([SPEECH], since=since, now=DAY0 + timedelta(days=16)))
    # floor = day 10: papers 10..16 are kept, 9 and older are not even asked for
    assert [p.id for p in result.papers] == [f"2602.{n:05d}" for n in range(16, 9, -1)]
    assert len(arxiv_server.requests) == 3  # 7 papers in pages of 3
    assert "submittedDate:[202602111200 TO" in arxiv_server.requests[0]["search_query"]
    assert result.cursor == DAY0 + timedelta(days=16)


def test_cursor_stays_at_since_when_nothing_is_new(arxiv_server):
    arxiv_server.add_papers([make_paper(1)])
    source, _ = make_source(arxiv_server, backfill_days=40)
    since = DAY0 + timedelta(days=30)
    result = source.fetch_new(ScanRequest([SPEECH], since=since, now=NOW))
    assert result.papers == [] and result.cursor == since
    assert source.fetch_new(ScanRequest([SPEECH], now=NOW)).cursor == DAY0 + timedelta(days=1)


def test_keep_newest_never_replaces_with_an_older_version():
    kept: dict[str, Paper] = {}
    keep_newest(kept, make_paper(1, version=3))
    keep_newest(kept, make_paper(1, version=2))
    assert kept["2602.00001"].version == 3


def test_inactive_tracks_are_not_queried(arxiv_server):
    source, _ = make_source(arxiv_server)
    idle = Track("idle", "Idle", "", ("x",), 1, active=False, categories=("cs.CL",))
    result = source.fetch_new(ScanRequest([idle], since=DAY0, now=NOW))
    assert result.papers == [] and result.queries == [] and arxiv_server.requests == []
    assert result.cursor == DAY0


@pytest.mark.parametrize(
    ("keywords", "categories", "query"),
    [
        (("llm",), (), "(all:llm)"),
        ((), ("cs.CL", "cs.AI"), "(cat:cs.CL OR cat:cs.AI)"),
        (('say "hi" (now)',), ("cs.CL",), '(cat:cs.CL) AND (all:"say hi now")'),
        ((" ",), (), ""),
    ],
)
def test_build_query(keywords, categories, query):
    assert build_query(Track("t", "T", "", keywords, 1, categories=categories)) == query


# --- search and lookup -------------------------------------------------------------------------


def test_search_is_relevance_sorted(arxiv_server):
    arxiv_server.add_papers(
        [
            make_paper(1, title="Diffusion", abstract="diffusion diffusion diffusion"),
            make_paper(2, title="Unrelated", abstract="no match", categories=("math.GT",)),
            make_paper(3, title="Some diffusion", abstract="x"),
        ]
    )
    source, _ = make_source(arxiv_server)
    papers = source.search(SPEECH, max_results=5)
    assert [p.id for p in papers] == ["2602.00001", "2602.00003"]
    assert arxiv_server.requests[0]["sortBy"] == "relevance"


def test_lookup_normalizes_ids_and_omits_unknown_ones(arxiv_server):
    arxiv_server.add_papers([make_paper(1), make_paper(2, version=3)])
    source, _ = make_source(arxiv_server)
    papers = source.lookup(["arxiv:2602.00002v1", "2602.00001", "9912.99999", "2602.00001v1"])
    assert [(p.id, p.version) for p in papers] == [("2602.00002", 3), ("2602.00001", 1)]
    assert arxiv_server.requests[0]["id_list"] == "2602.00002,2602.00001,9912.99999"


def test_lookup_rejects_malformed_ids_before_asking_arxiv(arxiv_server):
    source, _ = make_source(arxiv_server)
    with pytest.raises(UnknownPaperError, match="'abc' is not an arXiv id"):
        source.lookup(["abc"])
    assert arxiv_server.requests == []


# --- retries, backoff, timeouts -----------------------------------------------------------------


def test_503_is_retried_with_increasing_backoff(arxiv_server):
    arxiv_server.add_papers([make_paper(1)])
    arxiv_server.fail_next(503, times=2)
    source, sleeps = make_source(arxiv_server)
    assert [p.id for p in source.lookup(["2602.00001"])] == ["2602.00001"]
    assert sleeps == [2.0, 4.0]
    assert len(arxiv_server.requests) == 3


def test_500_is_retried_too(arxiv_server):
    arxiv_server.fail_next(500)
    source, sleeps = make_source(arxiv_server)
    assert source.lookup(["2602.00001"]) == [] and sleeps == [2.0]


def test_429_honours_retry_after(arxiv_server):
    arxiv_server.add_papers([make_paper(1)])
    arxiv_server.fail_next(429, headers={"Retry-After": "7"})
    source, sleeps = make_source(arxiv_server)
    assert len(source.lookup(["2602.00001"])) == 1
    assert sleeps == [7.0]


def test_retry_after_is_capped(arxiv_server):
    arxiv_server.fail_next(429, headers={"Retry-After": "86400"})
    source, sleeps = make_source(arxiv_server)
    source.lookup(["2602.00001"])
    assert sleeps == [120.0]


def test_gives_up_after_max_retries_naming_the_url(arxiv_server):
    arxiv_server.fail_next(503, times=4)
    source, sleeps = make_source(arxiv_server, max_retries=3)
    with pytest.raises(SourceError) as info:
        source.fetch_new(ScanRequest([SPEECH]))
    error = info.value
    assert error.retryable
    assert error.url.startswith(arxiv_server.url + "?")
    assert error.url in str(error) and "HTTP 503" in str(error)
    assert "try again later" in str(error)
    assert sleeps == [2.0, 4.0, 8.0]
    assert len(arxiv_server.requests) == 4


def test_404_is_not_retried(arxiv_server):
    arxiv_server.fail_next(404)
    source, sleeps = make_source(arxiv_server)
    with pytest.raises(SourceError, match=r"HTTP 404.*api_url") as info:
        source.lookup(["2602.00001"])
    assert not info.value.retryable and sleeps == []


def test_a_stalled_answer_times_out_and_is_retried(arxiv_server):
    arxiv_server.add_papers([make_paper(1)])
    arxiv_server.stall_next(10)
    source, sleeps = make_source(arxiv_server, timeout_seconds=0.2)
    assert len(source.lookup(["2602.00001"])) == 1
    assert sleeps == [2.0]


def test_repeated_timeouts_raise_a_retryable_source_error(arxiv_server):
    arxiv_server.stall_next(10, times=2)
    source, sleeps = make_source(arxiv_server, timeout_seconds=0.2, max_retries=1)
    with pytest.raises(SourceError, match="timed out") as info:
        source.lookup(["2602.00001"])
    assert info.value.retryable and sleeps == [2.0]


def test_an_unreachable_host_is_reported_once_without_retries(caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = ArxivSettings(
        api_url=f"http://127.0.0.1:{port}/api/query", delay_seconds=0, max_retries=4
    )
    sleeps = Sleeps()
    with pytest.raises(SourceError) as info:
        ArxivSource(settings, sleep=sleeps).fetch_new(ScanRequest([SPEECH], now=NOW))
    message = str(info.value)
    assert f"Could not reach the arXiv API host 127.0.0.1:{port}" in message
    assert "--source sample" in message
    assert "search_query" not in message and "%28cat" not in message  # no query dumped
    assert sleeps == []  # retrying a refused connection only makes the researcher wait
    assert "search_query" not in caplog.text


def test_one_client_per_process_for_the_same_settings(arxiv_server):
    first, _ = make_source(arxiv_server)
    second, _ = make_source(arxiv_server)
    assert first._shared is second._shared
    client = get_client(first.settings).client
    assert client.num_retries == 0 and client.delay_seconds == 0
    assert client.query_url_format == arxiv_server.url + "?{}"


def test_every_request_arxiv_sends_goes_through_our_bounded_session(arxiv_server):
    """The one private touch (agent/sources/arxiv_http.py `attach_session`, `Client._session`):
    if an arxiv upgrade stops reading `_session`, its requests bypass our deadline and feed
    checks, and this count no longer matches the server's."""
    import arxiv

    from agent.sources.arxiv_http import BoundedSession, attach_session

    arxiv_server.add_papers([make_paper(1), make_paper(2)])
    source, _ = make_source(arxiv_server)
    session = get_client(source.settings).session
    before = session.calls
    source.lookup(["2602.00001", "2602.00002"])
    assert len(arxiv_server.requests) >= 1
    assert session.calls - before == len(arxiv_server.requests)

    class NoSession:  # an arxiv.Client that no longer has the attribute
        pass

    with pytest.raises(RuntimeError, match="no Client._session"):
        attach_session(NoSession(), BoundedSession(1.0))
    assert hasattr(arxiv.Client(), "_session")  # still there in this release


# --- the fake itself (others rely on it) ------------------------------------------------------


def test_fake_answers_malformed_ids_with_the_error_feed(arxiv_server):
    answer = httpx.get(arxiv_server.url, params={"id_list": "abc"}, timeout=5)
    assert answer.status_code == 400
    assert "<summary>incorrect id format for abc</summary>" in answer.text


def test_fake_evaluates_boolean_queries(arxiv_server):
    arxiv_server.add_papers(
        [
            make_paper(1, title="Neural audio codecs", categories=("cs.SD",)),
            make_paper(
                2, title="Audio <tags> & more", categories=("cs.CL",), authors=("Del Maestro",)
            ),
            make_paper(3, title="Graph theory", categories=("math.CO",)),
        ]
    )

    def ids(query: str) -> list[str]:
        answer = httpx.get(arxiv_server.url, params={"search_query": query, "max_results": 10})
        if answer.status_code != 200:
            raise SourceError(f"HTTP {answer.status_code}")
        return sorted(re.findall(r"<id>http://arxiv.org/abs/(.*?)</id>", answer.text))

    assert ids("ti:audio") == ["2602.00001v1", "2602.00002v1"]
    assert ids("ti:audio ANDNOT cat:cs.SD") == ["2602.00002v1"]
    assert ids('(cat:math.* OR au:del_maestro) AND all:"audio <tags>"') == ["2602.00002v1"]
    assert ids("cat:cs.SD OR ti:graph") == ["2602.00001v1", "2602.00003v1"]
    assert ids("cat:cs.SD AND submittedDate:[202602020000 TO 202602021200]") == ["2602.00001v1"]
    assert ids("cat:cs.SD AND submittedDate:[202602021300 TO 202602280000]") == []
    with pytest.raises(SourceError):
        ids("(ti:audio")


def test_retry_after_accepts_an_http_date():
    response = Response(429, b"", {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})  # past
    assert parse_retry_after(response) == 0.0
    response.headers["retry-after"] = "soon"
    assert parse_retry_after(response) is None
    assert parse_retry_after(None) is None
