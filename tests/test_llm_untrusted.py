"""The LLM endpoint is untrusted: slow answers end on time, odd bodies and numbers are failures.

Every test speaks HTTP to a loopback server through the real openai SDK.
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest

from agent.analyst.budget import TokenBudget, estimate_tokens
from agent.analyst.fallback import FallbackAnalyst
from agent.analyst.offline import OfflineAnalyst
from agent.errors import AnalystError
from agent.models import LLMCall
from tests.analysts import BRIEF, make_analyst, make_candidate
from tests.fakes.openai_server import FakeOpenAIServer, prompt_text

DEADLINE = 0.5  # seconds; a trickled answer below would take a minute

PROXY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest.fixture
def calls() -> list[LLMCall]:
    return []


def test_a_trickled_answer_times_out_within_the_deadline(openai_server, calls):
    # headers at once, then one byte every 50 ms: the per-read timeout alone never fires
    openai_server.trickle_next(interval=0.05)
    analyst = make_analyst(openai_server, calls, timeout_seconds=DEADLINE)
    started = time.monotonic()
    with pytest.raises(AnalystError, match="timed out"):
        analyst.summarize([make_candidate("2602.00001")], BRIEF)
    assert time.monotonic() - started < 15  # the trickle alone would take a minute
    assert [c.outcome for c in calls] == ["timeout"]


def test_a_trickled_answer_is_retried_like_a_timeout(openai_server, calls):
    openai_server.trickle_next(interval=0.05)  # the retry gets a normal answer
    analyst = make_analyst(openai_server, calls, timeout_seconds=DEADLINE, max_retries=1)
    [summary] = analyst.summarize([make_candidate("2602.00001")], BRIEF)
    assert summary.paper_id == "2602.00001"
    assert len(openai_server.requests) == 2 and [c.outcome for c in calls] == ["ok"]


def test_a_trickled_answer_hands_over_to_the_offline_analyst(openai_server, calls):
    openai_server.trickle_next(interval=0.05)
    llm = make_analyst(openai_server, calls, timeout_seconds=DEADLINE)
    analyst = FallbackAnalyst(llm, OfflineAnalyst())
    [summary] = analyst.summarize([make_candidate("2602.00001")], BRIEF)
    assert summary.paper_id == "2602.00001" and analyst.label == "llm+offline"
    assert "timed out" in analyst.notices[0]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (PROXY_PAGE, "text/html"),
        ("{not json", "application/json"),
        ('{"ok": 1}', "application/json"),
        ('{"choices": "nope"}', "application/json"),
    ],
    ids=["html", "broken-json", "other-json", "bad-choices"],
)
def test_a_200_that_is_not_a_chat_completion_is_a_failed_call(
    openai_server, calls, body, content_type
):
    openai_server.raw_next(body, content_type)
    with pytest.raises(AnalystError, match="not a chat completion|not JSON"):
        make_analyst(openai_server, calls).summarize([make_candidate("2602.00001")], BRIEF)
    assert [(c.outcome, c.tokens_in, c.tokens_out) for c in calls] == [("error", 0, 0)]


def test_an_html_200_hands_over_to_the_offline_analyst(openai_server, calls):
    openai_server.raw_next(PROXY_PAGE, "text/html")
    analyst = FallbackAnalyst(make_analyst(openai_server, calls), OfflineAnalyst())
    [summary] = analyst.summarize([make_candidate("2602.00001")], BRIEF)
    assert summary.paper_id == "2602.00001" and analyst.label == "llm+offline"
    assert "nginx" not in analyst.notices[0]  # the proxy's page is data, never quoted


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": -1_000_000_000_000, "completion_tokens": 5, "total_tokens": 0},
        {"prompt_tokens": 10, "completion_tokens": 1e20, "total_tokens": 1e20},
        {"prompt_tokens": 10, "completion_tokens": "lots", "total_tokens": 10},
        {"prompt_tokens": 2.5, "completion_tokens": 1, "total_tokens": 3},
    ],
    ids=["negative", "huge", "text", "fraction"],
)
def test_impossible_usage_is_refused_and_never_unlocks_budget(openai_server, calls, usage):
    openai_server.usage_next(usage)
    budget = TokenBudget(cycle_limit=100_000, daily_limit=200_000, spent_today=50_000)
    analyst = make_analyst(openai_server, calls, budget=budget)
    with pytest.raises(AnalystError, match="impossible token usage"):
        analyst.summarize([make_candidate("2602.00001")], BRIEF)
    [call] = calls
    request = openai_server.requests[0]
    assert call.outcome == "error"
    assert call.tokens_in == estimate_tokens(prompt_text(request))  # the estimate, not the claim
    assert 0 < call.tokens_out < 1000
    assert budget.spent_today == 50_000 + call.tokens_in + call.tokens_out  # charged, not credited
    assert budget.reserved == 0


def test_impossible_usage_is_stored_as_a_plain_failed_call(openai_server, tmp_path):
    from agent.store import Store

    openai_server.usage_next({"prompt_tokens": 10, "completion_tokens": 10**20})
    with Store(f"sqlite:///{tmp_path / 'agent.db'}") as store:
        cycle = store.start_cycle("learn", "test", datetime.now(UTC), pid=1)

        def record(call: LLMCall) -> None:
            store.record_llm_call(LLMCall(**{**call.__dict__, "cycle": cycle}))

        analyst = FallbackAnalyst(make_analyst(openai_server, []), OfflineAnalyst())
        analyst.primary.client._usage_sink = record  # type: ignore[attr-defined]
        analyst.summarize([make_candidate("2602.00001")], BRIEF)
        tokens_in, tokens_out = store.tokens_for_cycle(cycle)
    assert 0 < tokens_in < 10_000 and 0 < tokens_out < 10_000


def test_an_unreachable_endpoint_records_zero_tokens(calls):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = FakeOpenAIServer()  # not started: only its settings shape is borrowed
    server.httpd = type("Addr", (), {"server_address": ("127.0.0.1", port)})()  # type: ignore
    budget = TokenBudget(cycle_limit=100_000, daily_limit=200_000)
    with pytest.raises(AnalystError, match="could not be reached"):
        make_analyst(server, calls, budget=budget).summarize([make_candidate("2602.00001")], BRIEF)
    assert [(c.outcome, c.tokens_in, c.tokens_out) for c in calls] == [("error", 0, 0)]
    assert (budget.spent_cycle, budget.reserved) == (0, 0)


def test_an_error_status_records_zero_tokens(openai_server, calls):
    openai_server.fail_next(500)
    with pytest.raises(AnalystError, match="HTTP 500"):
        make_analyst(openai_server, calls).summarize([make_candidate("2602.00001")], BRIEF)
    assert [(c.outcome, c.tokens_in, c.tokens_out) for c in calls] == [("error", 0, 0)]


def test_no_call_is_made_once_the_cycle_deadline_has_passed(openai_server, calls):
    analyst = make_analyst(openai_server, calls)
    analyst.client.stop_at = analyst.client.clock() - 1
    with pytest.raises(AnalystError, match="deadline"):
        analyst.summarize([make_candidate("2602.00001")], BRIEF)
    assert openai_server.requests == [] and calls == []


def test_a_call_in_flight_ends_at_the_cycle_deadline(openai_server, calls):
    openai_server.delay_next(60.0)  # the endpoint says nothing for a minute
    analyst = make_analyst(openai_server, calls, timeout_seconds=60.0)
    analyst.client.stop_at = analyst.client.clock() + DEADLINE
    started = time.monotonic()
    with pytest.raises(AnalystError, match="timed out"):
        analyst.summarize([make_candidate("2602.00001")], BRIEF)
    assert time.monotonic() - started < 15  # the trickle alone would take a minute
    assert len(openai_server.requests) == 1


def test_a_learn_cycle_whose_llm_answers_a_proxy_page_is_committed_by_the_offline_analyst(
    scanned, openai_server, monkeypatch
):
    from agent.cycle import CycleOptions, run_cycle

    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-for-the-fake")
    openai_server.raw_next(PROXY_PAGE, "text/html", times=10)  # retries included
    outcome = run_cycle(scanned, CycleOptions(action="learn", source="sample"))
    assert outcome.status == "committed", outcome.error
    note = (scanned / str(outcome.note_path)).read_text(encoding="utf-8")
    assert "analyst: llm+offline" in note
    assert "not JSON" in note and "nginx" not in note
    assert outcome.tokens == 0  # the model never read a prompt
